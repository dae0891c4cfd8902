"""Apple's profile endpoints (spec §6.9–§6.12)."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from starlette.exceptions import HTTPException

from ..core import dep_body
from ..core.db import DbSession
from ..core.dep import ProtocolVersion, SettingsDep
from ..core.openapi import dep_errors, json_request
from ..session.dependencies import CurrentServer
from . import service
from .schemas import (
    AssignProfileResponse,
    ClearProfileResponse,
    DefineProfileResponse,
    ProfileOut,
)

router = APIRouter(tags=["dep"])


PROFILE_BODY = {
    "type": "object",
    "required": ["profile_name", "url"],
    "properties": {
        "profile_name": {"type": "string"},
        "url": {"type": "string"},
        "devices": {"type": "array", "items": {"type": "string"}},
    },
}
ASSIGN_BODY = {
    "type": "object",
    "required": ["profile_uuid", "devices"],
    "properties": {
        "profile_uuid": {"type": "string"},
        "devices": {"type": "array", "items": {"type": "string"}},
    },
}
SERIALS_BODY = {"type": "object", "properties": {"devices": {"type": "array", "items": {"type": "string"}}}}


@router.post(
    "/profile",
    response_model=DefineProfileResponse,
    responses=dep_errors(  # spec §9.3
        "CONFIG_NAME_REQUIRED",
        "CONFIG_NAME_INVALID",
        "CONFIG_URL_REQUIRED",
        "CONFIG_URL_INVALID",
        "FLAGS_INVALID",
        "DEPARTMENT_INVALID",
        "SUPPORT_PHONE_INVALID",
        "SUPPORT_EMAIL_INVALID",
        "MAGIC_INVALID",
        "LOCALE_INVALID",
        "DEVICE_LIMIT_EXCEEDED",
    ),
    openapi_extra=json_request(PROFILE_BODY, required=True),
)
async def define_profile(
    request: Request, server: CurrentServer, version: ProtocolVersion, settings: SettingsDep, db: DbSession
) -> DefineProfileResponse:
    """Define a Profile (§6.9): validation order in `dep_emulator.profiles.validation`."""
    body = await dep_body.json_object(request, required=True)
    return await service.define_profile(db, server=server, raw=body, version=version, settings=settings)


@router.get(
    "/profile",
    response_model=None,  # the stored body is sent as it is; ProfileOut only documents it
    responses={**dep_errors("PROFILE_UUID_REQUIRED", "NOT_FOUND", body=False), 200: {"model": ProfileOut}},
)
async def get_profile(
    server: CurrentServer, db: DbSession, profile_uuid: str | None = None
) -> dict[str, Any]:
    """Get a Profile (§6.10): 400 PROFILE_UUID_REQUIRED, 400 NOT_FOUND."""
    return await service.get_profile(db, server=server, profile_uuid=profile_uuid)


async def assign_profile(
    request: Request, server: CurrentServer, version: ProtocolVersion, settings: SettingsDep, db: DbSession
) -> AssignProfileResponse:
    """Assign a Profile (§6.11): one result per distinct serial; THROTTLED from protocol 9."""
    if request.method not in settings.assign_methods:
        raise HTTPException(405, headers={"Allow": ", ".join(["DELETE", *settings.assign_methods])})
    body = await dep_body.json_object(request, required=True)
    return await service.assign_profile(
        db, server=server, raw=body, version=version, settings=settings, method=request.method
    )


# Current docs say POST, nanodep/Fleet/MicroMDM send PUT (§5): both work unless
# DEPEMU_ASSIGN_METHODS narrows it, to emulate depsim (PUT only) or modern Apple.
for _method in ("PUT", "POST"):
    router.add_api_route(
        "/profile/devices",
        assign_profile,
        methods=[_method],
        operation_id=f"assign_profile_{_method.lower()}",
        response_model=AssignProfileResponse,
        response_model_exclude_none=True,
        responses=dep_errors(
            "PROFILE_UUID_REQUIRED",
            "DEVICE_ID_REQUIRED",
            "DEVICE_LIMIT_EXCEEDED",
            not_found=("PROFILE_NOT_FOUND",),
        ),
        openapi_extra=json_request(ASSIGN_BODY, required=True),
    )


@router.delete(
    "/profile/devices",
    response_model=ClearProfileResponse,
    responses=dep_errors("DEVICE_ID_REQUIRED", "DEVICE_LIMIT_EXCEEDED"),
    openapi_extra=json_request(SERIALS_BODY),
)
async def remove_profile(
    request: Request, server: CurrentServer, settings: SettingsDep, db: DbSession
) -> ClearProfileResponse:
    """Remove a Profile (§6.12): the JSON body carries the serials."""
    body = await dep_body.json_object(request, required=False)
    return await service.remove_profile(db, server=server, raw=body, settings=settings)
