"""The one writer of AppleCare+ contracts. Each contract added or removed is an audit event of the
device's org (Apple's AuditEventType SUBJECT_HAS_APPLECARE_PURCHASE_ADDED / _REMOVED), written here
in the same transaction, whichever route made the change (control API, console, seed file).

Apple documents the event types but not their payload: the trail keeps the contract's agreement
number, description and payment type (dep_emulator.abm.audit_events shows them).
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import delete, select
from sqlalchemy.ext.asyncio import AsyncSession

from ..clock import service as clock
from ..core.errors import ControlError, not_found
from ..devices import audit, locking
from ..devices.models import Device
from ..orgs.models import Org
from .models import AppleCareContract
from .schemas import AppleCareIn, AppleCareOut

ADDED, REMOVED = "SUBJECT_HAS_APPLECARE_PURCHASE_ADDED", "SUBJECT_HAS_APPLECARE_PURCHASE_REMOVED"
EVENT_TYPES = (ADDED, REMOVED)


def limited_warranty(device: Device, *, now: datetime) -> dict[str, Any]:
    """Apple's one-year Limited Warranty every device has from its order (or addition) date, as
    Apple's AppleCareCoverage attributes (times as datetimes)."""
    start = device.order_date or device.created_at
    end = start + timedelta(days=365)
    return {
        "status": "ACTIVE" if start <= now < end else "INACTIVE",
        "paymentType": "NONE",
        "description": "Limited Warranty",
        "startDateTime": start,
        "endDateTime": end,
        "isRenewable": False,
        "isCanceled": False,
        "contractCancelDateTime": None,
        "agreementNumber": None,
    }


def out(contract: AppleCareContract) -> AppleCareOut:
    return AppleCareOut(
        agreementNumber=contract.agreement_number,
        status=contract.status,  # stored from the same Literal
        paymentType=contract.payment_type,
        description=contract.description,
        startDateTime=contract.start_at,
        endDateTime=contract.end_at,
        isRenewable=contract.is_renewable,
        isCanceled=contract.is_canceled,
        contractCancelDateTime=contract.cancel_at,
    )


async def _device(db: AsyncSession, *, serial: str) -> Device:
    """The device, locked (a contract of a device being released is written in order); 404 unknown."""
    ids = await locking.lock_devices_by_serial(db, serials=[serial]) if locking.usable_serial(serial) else []
    devices = await locking.load_devices(db, ids=ids) if ids else []
    if not devices:
        raise not_found("device", serial)
    return devices[0]


async def contracts(db: AsyncSession, *, device_id: int) -> list[AppleCareContract]:
    """A device's contracts, oldest start first (then by agreement number)."""
    rows = await db.scalars(
        select(AppleCareContract)
        .where(AppleCareContract.device_id == device_id)
        .order_by(AppleCareContract.start_at, AppleCareContract.agreement_number)
    )
    return list(rows)


async def coverage(db: AsyncSession, *, device: Device) -> list[dict[str, Any]]:
    """The device's coverage as the Business API lists it: the Limited Warranty, then its contracts
    (Apple's attribute names, times as datetimes). The console's device page shows it."""
    items = [limited_warranty(device, now=await clock.now(db))]
    items += [out(contract).model_dump() for contract in await contracts(db, device_id=device.id)]
    return items


async def _audit(
    db: AsyncSession, device: Device, contract: AppleCareContract, *, event_type: str, actor: str | None
) -> None:
    """The event in the org the device is in; a device of no org has no trail to write to."""
    if device.org_id is None:
        return
    org = await db.get(Org, device.org_id)
    assert org is not None
    details: dict[str, Any] = {
        "agreementNumber": contract.agreement_number,
        "description": contract.description,
        "paymentType": contract.payment_type,
    }
    row = audit.event(
        device,
        event_type,
        org_id=org.id,
        at=await clock.now(db),
        group=audit.new_group(),
        actor=audit.actor_for(actor, admin=org.email),
        details=details,
    )
    await audit.record(db, [row])


async def add_contract(
    db: AsyncSession, *, serial: str, contract: AppleCareIn, actor: str | None = None
) -> AppleCareContract:
    """Add an AppleCare+ contract to the device; 409 `duplicate_agreement` if it has that number."""
    device = await _device(db, serial=serial)
    taken = await db.scalar(
        select(AppleCareContract.id).where(
            AppleCareContract.device_id == device.id,
            AppleCareContract.agreement_number == contract.agreementNumber,
        )
    )
    if taken is not None:
        raise ControlError(
            409,
            "duplicate_agreement",
            f"device {serial} already has AppleCare agreement {contract.agreementNumber}",
        )
    now = await clock.now(db)
    row = AppleCareContract(
        device_id=device.id,
        agreement_number=contract.agreementNumber,
        status=contract.status,
        payment_type=contract.paymentType,
        description=contract.description,
        start_at=contract.startDateTime or now,
        end_at=contract.endDateTime,
        is_renewable=contract.isRenewable,
        is_canceled=contract.isCanceled,
        cancel_at=contract.contractCancelDateTime,
        created_at=now,
    )
    if row.end_at is not None and row.end_at <= row.start_at:
        raise ControlError(422, "validation_error", "endDateTime must be after startDateTime")
    db.add(row)
    await db.flush()
    await _audit(db, device, row, event_type=ADDED, actor=actor)
    return row


async def ensure_contracts(
    db: AsyncSession, *, serial: str, contracts_in: Sequence[AppleCareIn], actor: str | None = None
) -> int:
    """A seed file's `apple_care`: add, in order, the contracts the device does not have yet (by
    agreement number; one it has is left as it is). Returns how many were added."""
    device = await _device(db, serial=serial)
    have = {c.agreement_number for c in await contracts(db, device_id=device.id)}
    added = 0
    for contract in contracts_in:
        if contract.agreementNumber not in have:
            await add_contract(db, serial=serial, contract=contract, actor=actor)
            have.add(contract.agreementNumber)
            added += 1
    return added


async def remove_contract(
    db: AsyncSession, *, serial: str, agreement_number: str, actor: str | None = None
) -> None:
    """Remove a contract from the device; 404 for a number it does not have."""
    device = await _device(db, serial=serial)
    row = await db.scalar(
        select(AppleCareContract).where(
            AppleCareContract.device_id == device.id, AppleCareContract.agreement_number == agreement_number
        )
    )
    if row is None:
        raise not_found("AppleCare agreement", agreement_number)
    await db.execute(delete(AppleCareContract).where(AppleCareContract.id == row.id))
    await _audit(db, device, row, event_type=REMOVED, actor=actor)
    await db.flush()
