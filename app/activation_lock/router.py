"""`POST /device/activationlock` (spec §6.6) and the control API's view of a device's lock."""

from __future__ import annotations

from fastapi import APIRouter, Request

from ..core import dep_body
from ..core.db import DbSession
from ..core.openapi import dep_errors, json_request
from ..session.dependencies import CurrentServer
from . import service
from .schemas import ActivationLockOut, ActivationLockStatusResponse, ScriptedFailuresIn

router = APIRouter(tags=["dep"])
control_router = APIRouter(tags=["activation lock"])


ACTIVATION_LOCK_BODY = {
    "type": "object",
    "required": ["device"],
    "properties": {
        "device": {"type": "string"},
        "escrow_key": {"type": "string"},
        "lost_message": {"type": "string"},
    },
}


@router.post(
    "/device/activationlock",
    response_model=ActivationLockStatusResponse,
    responses=dep_errors(),  # spec §6.6: MALFORMED_REQUEST_BODY and the common codes
    openapi_extra=json_request(ACTIVATION_LOCK_BODY, required=True),
)
async def activation_lock(
    request: Request, server: CurrentServer, db: DbSession
) -> ActivationLockStatusResponse:
    """Activation Lock a Device (§6.6): one `response_status` for the one device."""
    body = await dep_body.json_object(request, required=True)
    return await service.lock_device(db, server=server, raw=body)


@control_router.get("/devices/{serial}/activation-lock", response_model=ActivationLockOut)
async def get_lock(serial: str, db: DbSession) -> ActivationLockOut:
    """Whether the device is locked, by which server, with which escrow key and lost message."""
    return await service.lock_state(db, serial=serial)


@control_router.delete("/devices/{serial}/activation-lock", response_model=ActivationLockOut)
async def unlock(serial: str, db: DbSession) -> ActivationLockOut:
    """Turn Activation Lock off (a later request can lock the device again)."""
    return await service.unlock(db, serial=serial)


@control_router.put("/devices/{serial}/activation-lock/failures", response_model=ActivationLockOut)
async def script_failures(serial: str, body: ScriptedFailuresIn, db: DbSession) -> ActivationLockOut:
    """Make the next `count` lock requests for the device answer FAILED (Apple's unexpected failure)."""
    return await service.script_failures(db, serial=serial, count=body.count)
