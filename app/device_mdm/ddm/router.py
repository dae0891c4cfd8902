"""Control API: a managed device's Declarative Device Management state and switches."""

from __future__ import annotations

from fastapi import APIRouter

from ...core.db import DbSession
from ...core.openapi import control_errors
from . import control
from .schemas import DdmIn, DdmOut

router = APIRouter(tags=["managed device"])


@router.get("/devices/{serial}/mdm/ddm", response_model=DdmOut, responses=control_errors(409))
async def ddm(serial: str, db: DbSession) -> DdmOut:
    """The device's DDM: declarations with active/valid/reasons, last sync, last status report (§3)."""
    return await control.ddm(db, serial=serial)


@router.put("/devices/{serial}/mdm/ddm", response_model=DdmOut, responses=control_errors(409))
async def set_ddm(serial: str, body: DdmIn, db: DbSession) -> DdmOut:
    """Set the device's DDM switches: `while_awaiting` (NotNow during Await Configuration, §3.6), and
    ask for a full status report at the next poll (`full_report`, §3.5)."""
    return await control.set_switches(db, serial=serial, body=body)
