"""Per-device attestation switches, and what the device asks the emulated CA for."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

from ..core.errors import not_found
from ..devices import locking
from ..devices.models import Device
from ..orgs.models import Org
from ..orgs.settings import org_setting
from .models import DeviceAttestation
from .schemas import AttestationOut


async def _device(db: AsyncSession, serial: str) -> Device:
    device = None
    if locking.usable_serial(serial):
        device = await db.scalar(select(Device).where(Device.serial_number == serial))
    if device is None:
        raise not_found("device", serial)
    return device


async def tamper_of(db: AsyncSession, device_id: int) -> str | None:
    row = await db.get(DeviceAttestation, device_id)
    return row.tamper if row is not None else None


async def properties_of(db: AsyncSession, device_id: int) -> str:
    """full/partial/blank/omitted: the device's switch, else its org's setting (§7)."""
    row = await db.get(DeviceAttestation, device_id)
    if row is not None and row.properties is not None:
        return row.properties
    device = await db.get(Device, device_id)
    org = await db.get(Org, device.org_id) if device is not None and device.org_id is not None else None
    return str(org_setting(org, "device_properties_attestation")) if org is not None else "full"


async def settings(db: AsyncSession, *, serial: str) -> AttestationOut:
    device = await _device(db, serial)
    row = await db.get(DeviceAttestation, device.id)
    return AttestationOut(
        serial_number=serial,
        properties=await properties_of(db, device.id),
        properties_set=row is not None and row.properties is not None,
        tamper=row.tamper if row is not None else None,
        cached_at=row.minted_at if row is not None else None,
    )


async def set_switches(db: AsyncSession, *, serial: str, changes: dict[str, str | None]) -> AttestationOut:
    """Set the switches named in `changes` (tamper, properties); the others stay as they are."""
    device = await _device(db, serial)
    statement = insert(DeviceAttestation).values(
        device_id=device.id, **({"tamper": None, "properties": None} | changes)
    )
    if changes:
        await db.execute(
            statement.on_conflict_do_update(index_elements=[DeviceAttestation.device_id], set_=changes)
        )
    else:
        await db.execute(statement.on_conflict_do_nothing(index_elements=[DeviceAttestation.device_id]))
    return await settings(db, serial=serial)
