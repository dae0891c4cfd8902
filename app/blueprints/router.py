"""Control API: Configurations made in the portal (abm-api-2.md §3.4: the 22 kinds other than
CUSTOM_SETTING cannot be written through Apple's API, so a test makes them here)."""

from __future__ import annotations

from typing import Literal

from fastapi import APIRouter, status
from pydantic import BaseModel, ConfigDict, Field

from ..core.db import DbSession
from ..core.errors import ControlError
from ..orgs import service as orgs_service
from . import configurations

router = APIRouter(tags=["blueprints"])
Platform = Literal["PLATFORM_MACOS", "PLATFORM_IOS", "PLATFORM_TVOS", "PLATFORM_VISIONOS"]


class PortalConfigurationIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    type: str = Field(description="A ConfigurationType other than CUSTOM_SETTING (e.g. WIFI, FILE_VAULT).")
    name: str = Field(min_length=1, max_length=200)
    platforms: list[Platform] = Field(default=["PLATFORM_IOS", "PLATFORM_MACOS"], min_length=1)


class ConfigurationOut(BaseModel):
    id: str
    type: str
    name: str


@router.post(
    "/orgs/{org_id}/configurations", status_code=status.HTTP_201_CREATED, response_model=ConfigurationOut
)
async def add_portal_configuration(
    org_id: str, body: PortalConfigurationIn, db: DbSession
) -> ConfigurationOut:
    """Add a configuration as the portal would (read-only through Apple's API)."""
    if "\x00" in body.name:
        raise ControlError(422, "invalid_name", "name must not contain NUL characters")
    if body.type not in configurations.CONFIGURATION_TYPES or body.type == configurations.CUSTOM:
        raise ControlError(422, "invalid_type", "type must be a ConfigurationType other than CUSTOM_SETTING")
    org = await orgs_service.get_org(db, org_id=org_id)
    config = await configurations.add_portal_configuration(
        db, org=org, config_type=body.type, name=body.name, platforms=list(body.platforms)
    )
    return ConfigurationOut(id=config.id, type=config.config_type, name=config.name)
