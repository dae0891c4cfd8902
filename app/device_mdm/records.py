"""The managed device as the MDM conversations see it: found by serial, its facts, its exchange log."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from ..clock import service as clock
from ..core.errors import ControlError, not_found
from ..device_setup import machine_info
from ..devices import locking, software
from ..devices.models import Device
from .commands import Facts
from .models import DeviceEnrollment, MdmExchange
from .schemas import StepOut


def facts_of(device: Device, config: dict[str, Any]) -> Facts:
    now = software.effective(device)
    return Facts(
        serial_number=device.serial_number,
        udid=machine_info.udid(device),
        model=device.model,
        product=now.product_type,
        device_family=device.device_family,
        os=device.os,
        os_version=now.os_version,
        build=now.os_build,
        imei=device.imei[0] if device.imei else None,
        meid=device.meid[0] if device.meid else None,
        wifi_mac=device.wifi_mac_address,
        bluetooth_mac=device.bluetooth_mac_address,
        ethernet_mac=device.ethernet_mac_address,
        is_supervised=bool(config.get("IsSupervised", False)),
    )


async def device(db: AsyncSession, serial: str) -> Device:
    found = None
    if locking.usable_serial(serial):
        found = await db.scalar(select(Device).where(Device.serial_number == serial))
    if found is None:
        raise not_found("device", serial)
    return found


async def record(db: AsyncSession, device_id: int, steps: list[dict[str, Any]]) -> None:
    """Store the steps, each at the emulator time it happened (its wall time plus the offset)."""
    offset = timedelta(seconds=await clock.offset_seconds(db))
    for step in steps:
        at = step.get("wall_at", clock.wall_now()) + offset
        fields = StepOut(**step).model_dump()
        fields["step"] = fields["step"][:60]  # the MDM chooses RequestType and CommandUUID: bounded
        fields["command_uuid"] = (fields["command_uuid"] or "")[:100] or None
        db.add(MdmExchange(device_id=device_id, at=at, **fields))
    await db.flush()


async def enrolled(db: AsyncSession, serial: str) -> tuple[Device, DeviceEnrollment]:
    found = await device(db, serial)
    enrollment = await db.get(DeviceEnrollment, found.id)
    if enrollment is None:
        raise ControlError(409, "not_enrolled", f"device {serial!r} is not enrolled in an MDM")
    return found, enrollment
