"""Control API for a device's AppleCare+ contracts (issue 29 item 11)."""

from __future__ import annotations

from fastapi import APIRouter, Response, status
from sqlalchemy import select

from ..core.db import DbSession
from ..core.errors import not_found
from ..core.openapi import control_errors
from ..devices import locking
from ..devices.models import Device
from . import service
from .schemas import AppleCareIn, AppleCareList, AppleCareOut

router = APIRouter(tags=["devices"])


@router.get("/devices/{serial}/apple-care", response_model=AppleCareList)
async def list_contracts(serial: str, db: DbSession) -> AppleCareList:
    """The device's AppleCare+ contracts (the Business API lists them after the Limited Warranty)."""
    device_id = await _device_id(db, serial)
    return AppleCareList(contracts=[service.out(c) for c in await service.contracts(db, device_id=device_id)])


@router.post(
    "/devices/{serial}/apple-care",
    status_code=status.HTTP_201_CREATED,
    response_model=AppleCareOut,
    responses=control_errors(409),  # duplicate_agreement
)
async def add_contract(serial: str, body: AppleCareIn, db: DbSession) -> AppleCareOut:
    """Add an AppleCare+ contract: a SUBJECT_HAS_APPLECARE_PURCHASE_ADDED audit event in the device's org."""
    return service.out(await service.add_contract(db, serial=serial, contract=body))


@router.delete("/devices/{serial}/apple-care/{agreement_number}", status_code=status.HTTP_204_NO_CONTENT)
async def remove_contract(serial: str, agreement_number: str, db: DbSession) -> Response:
    """Remove an AppleCare+ contract: a SUBJECT_HAS_APPLECARE_PURCHASE_REMOVED audit event."""
    await service.remove_contract(db, serial=serial, agreement_number=agreement_number)
    return Response(status_code=status.HTTP_204_NO_CONTENT)


async def _device_id(db: DbSession, serial: str) -> int:
    found = (
        await db.scalar(select(Device.id).where(Device.serial_number == serial))
        if locking.usable_serial(serial)
        else None
    )
    if found is None:
        raise not_found("device", serial)
    return found
