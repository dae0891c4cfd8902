"""Per-device attestation switches, and what the device asks the emulated CA for."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

from ..core.errors import not_found
from ..devices import locking
from ..devices.models import Device
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


async def settings(db: AsyncSession, *, serial: str) -> AttestationOut:
    device = await _device(db, serial)
    row = await db.get(DeviceAttestation, device.id)
    return AttestationOut(
        serial_number=serial,
        tamper=row.tamper if row is not None else None,
        cached_at=row.minted_at if row is not None else None,
    )


async def set_tamper(db: AsyncSession, *, serial: str, tamper: str | None) -> AttestationOut:
    device = await _device(db, serial)
    await db.execute(
        insert(DeviceAttestation)
        .values(device_id=device.id, tamper=tamper)
        .on_conflict_do_update(index_elements=[DeviceAttestation.device_id], set_={"tamper": tamper})
    )
    return await settings(db, serial=serial)
