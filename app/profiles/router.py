"""Apple's profile endpoints (spec §6.9–§6.12)."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from starlette.exceptions import HTTPException

from app.core.db import DbSession
from app.core.dep import CurrentServer, ProtocolVersion, SettingsDep
from app.devices import dep_body
from app.profiles import service
from app.profiles.schemas import AssignProfileResponse, ClearProfileResponse, DefineProfileResponse

router = APIRouter(tags=["dep"])


@router.post("/profile", response_model=DefineProfileResponse)
async def define_profile(
    request: Request, server: CurrentServer, version: ProtocolVersion, settings: SettingsDep, db: DbSession
) -> DefineProfileResponse:
    """Define a Profile (§6.9): validation order in `app.profiles.validation`."""
    body = await dep_body.json_object(request, required=True)
    return await service.define_profile(db, server=server, raw=body, version=version, settings=settings)


@router.get("/profile")
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
    )


@router.delete("/profile/devices", response_model=ClearProfileResponse)
async def remove_profile(
    request: Request, server: CurrentServer, settings: SettingsDep, db: DbSession
) -> ClearProfileResponse:
    """Remove a Profile (§6.12): the JSON body carries the serials."""
    body = await dep_body.json_object(request, required=False)
    return await service.remove_profile(db, server=server, raw=body, settings=settings)
