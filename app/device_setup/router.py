"""Control API: a device switched on in Setup Assistant, erased, and the CA its identities come from."""

from __future__ import annotations

from fastapi import APIRouter, Response

from ..core.db import DbSession
from ..core.dep import SettingsDep
from ..core.openapi import control_errors
from ..device_mdm import service as mdm_service
from ..device_mdm.router import Sessions
from . import ca, service
from .schemas import ActivateIn, ActivationOut, EraseOut

router = APIRouter(tags=["device setup"])


@router.post(
    "/devices/{serial}/activate",
    response_model=ActivationOut,
    response_model_exclude_none=True,
    responses=control_errors(409),  # not_activated: with enroll, erased while the MDM answered
)
async def activate(
    serial: str, db: DbSession, sessions: Sessions, settings: SettingsDep, body: ActivateIn | None = None
) -> ActivationOut:
    """Switch the device on: what it gets from Apple, with `contact_mdm` what the MDM answers,
    with `enroll` the enrollment that follows."""
    return await mdm_service.switch_on(
        db, sessions, serial=serial, options=body or ActivateIn(), settings=settings
    )


@router.post("/devices/{serial}/erase", response_model=EraseOut)
async def erase(serial: str, db: DbSession) -> EraseOut:
    """Erase the device: its next activation asks Apple again."""
    return await service.erase(db, serial=serial)


@router.get(
    "/device-ca",
    response_class=Response,
    responses={200: {"content": {"application/x-pem-file": {}}}},
)
async def device_ca(db: DbSession) -> Response:
    """The CA that issues simulated devices' identities (PEM): trust it to verify machine-info signatures."""
    return Response(await ca.ca_certificate_pem(db), media_type="application/x-pem-file")
