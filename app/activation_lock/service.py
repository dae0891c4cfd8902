"""Organisation Activation Lock (spec §6.6): one status per request, the lock kept per device.

Statuses, checked in this order (Apple documents the set, not the order):
ORG_NOT_SUPPORTED (org switch `activation_lock_supported` off) → NOT_ACCESSIBLE (not on this
server) → DEVICE_NOT_SUPPORTED (a family or model that can't be locked) → FAILED (scripted
through the control API) → DEVICE_ALREADY_LOCKED → SUCCESS.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from ..clock import service as clock
from ..core.errors import DepError, not_found
from ..devices import locking
from ..devices.models import Device
from ..orgs.models import MdmServer, Org
from ..orgs.settings import org_setting
from .models import ActivationLock
from .schemas import ActivationLockOut, ActivationLockStatusResponse

SUCCESS, NOT_ACCESSIBLE, FAILED = "SUCCESS", "NOT_ACCESSIBLE", "FAILED"
ORG_NOT_SUPPORTED, DEVICE_NOT_SUPPORTED = "ORG_NOT_SUPPORTED", "DEVICE_NOT_SUPPORTED"
DEVICE_ALREADY_LOCKED = "DEVICE_ALREADY_LOCKED"
# Apple TV has no Activation Lock; Intel Macs without a T2 chip neither ("some Macs", §6.6): our
# generator writes Intel configurations with a clock speed ("2.0GHZ QC I5/16GB").
UNLOCKABLE_FAMILIES = frozenset({"AppleTV"})


def lockable(device: Device) -> bool:
    if device.device_family in UNLOCKABLE_FAMILIES:
        return False
    return not (device.device_family == "Mac" and "GHZ" in device.description.upper())


async def lock_device(
    db: AsyncSession, *, server: MdmServer, raw: dict[str, Any]
) -> ActivationLockStatusResponse:
    """`POST /device/activationlock`: `device` required; `escrow_key`, `lost_message` optional strings.

    A missing or non-string `device` is MALFORMED_REQUEST_BODY, the only 400 Apple documents here.
    The escrow key's format is not checked (nanodep sends hex, petarov's fixture base64).
    """
    serial, escrow_key, lost_message = raw.get("device"), raw.get("escrow_key"), raw.get("lost_message")
    if not isinstance(serial, str) or not serial.strip():
        raise DepError("MALFORMED_REQUEST_BODY")
    for value in (escrow_key, lost_message):
        if value is not None and not isinstance(value, str):
            raise DepError("MALFORMED_REQUEST_BODY")
    status = await _lock(
        db, server=server, serial=serial, escrow_key=escrow_key or None, lost_message=lost_message
    )
    return ActivationLockStatusResponse(serial_number=serial, response_status=status)


async def _lock(
    db: AsyncSession, *, server: MdmServer, serial: str, escrow_key: str | None, lost_message: str | None
) -> str:
    org = await db.get(Org, server.org_id)
    assert org is not None
    if not org_setting(org, "activation_lock_supported"):
        return ORG_NOT_SUPPORTED
    device = None
    if locking.usable_serial(serial):
        device = await db.scalar(
            select(Device)
            .where(Device.serial_number == serial, Device.server_id == server.id)
            .with_for_update()
        )
    if device is None:
        return NOT_ACCESSIBLE
    if not lockable(device):
        return DEVICE_NOT_SUPPORTED
    state = await db.get(ActivationLock, device.id, with_for_update=True)
    if state is None:
        state = ActivationLock(device_id=device.id, fail_remaining=0)
        db.add(state)
    if state.fail_remaining > 0:
        state.fail_remaining -= 1
        await db.flush()
        return FAILED
    if state.locked_at is not None:
        return DEVICE_ALREADY_LOCKED
    state.locked_at = await clock.now(db)
    state.server_id = server.id
    state.escrow_key = escrow_key
    state.locked_to = None if escrow_key else server.admin_id
    state.lost_message = lost_message
    await db.flush()
    return SUCCESS


async def _device(db: AsyncSession, serial: str) -> Device:
    device = (
        await db.scalar(select(Device).where(Device.serial_number == serial))
        if locking.usable_serial(serial)
        else None
    )
    if device is None:
        raise not_found("device", serial)
    return device


async def lock_state(db: AsyncSession, *, serial: str) -> ActivationLockOut:
    device = await _device(db, serial)
    state = await db.get(ActivationLock, device.id)
    server_uuid = None
    if state is not None and state.server_id is not None:
        server_uuid = await db.scalar(select(MdmServer.server_uuid).where(MdmServer.id == state.server_id))
    locked = state is not None and state.locked_at is not None
    return ActivationLockOut(
        serial_number=device.serial_number,
        locked=locked,
        locked_at=state.locked_at if state else None,
        server_uuid=server_uuid if locked else None,
        escrow_key=state.escrow_key if state else None,
        locked_to=state.locked_to if state else None,
        lost_message=state.lost_message if state else None,
        scripted_failures=state.fail_remaining if state else 0,
    )


async def unlock(db: AsyncSession, *, serial: str) -> ActivationLockOut:
    """Clear the lock, as a bypass or the portal's "turn off Activation Lock" does."""
    device = await _device(db, serial)
    state = await db.get(ActivationLock, device.id, with_for_update=True)
    if state is not None:
        state.locked_at = state.server_id = state.escrow_key = state.locked_to = state.lost_message = None
        await db.flush()
    return await lock_state(db, serial=serial)


async def script_failures(db: AsyncSession, *, serial: str, count: int) -> ActivationLockOut:
    device = await _device(db, serial)
    state = await db.get(ActivationLock, device.id, with_for_update=True)
    if state is None:
        state = ActivationLock(device_id=device.id, fail_remaining=0)
        db.add(state)
    state.fail_remaining = count
    await db.flush()
    return await lock_state(db, serial=serial)
