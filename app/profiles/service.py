"""Profiles and their assignment: define, read, assign, remove (spec §6.9–§6.12).

Every change to a device's profile fields goes through `_apply`, which locks the device rows
(by id, as `dep_emulator.devices.events` requires) before touching them, and records one `modified`
event per changed device on its server's feed (§8.4).
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable, Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from ..clock import service as clock
from ..core.config import Settings
from ..core.dep_body import serial_list
from ..core.errors import DepError
from ..core.security import random_hex
from ..devices import locking
from ..devices.events import MODIFIED, FeedEvent, record_events
from ..devices.models import Device
from ..faults import service as faults_service
from ..faults.service import DeviceStatusFault
from ..orgs.models import MdmServer
from . import throttle
from .models import Profile
from .schemas import AssignProfileResponse, ClearProfileResponse, DefineProfileResponse
from .validation import validate_profile

logger = logging.getLogger("dep_emulator.profiles")

SUCCESS, NOT_ACCESSIBLE, FAILED, THROTTLED = "SUCCESS", "NOT_ACCESSIBLE", "FAILED", "THROTTLED"
THROTTLED_SINCE = 9  # protocol version that knows THROTTLED (§2)
RETRY_AFTER_SINCE = 10  # ... and retry_after_seconds


async def define_profile(
    db: AsyncSession, *, server: MdmServer, raw: dict[str, Any], version: int, settings: Settings
) -> DefineProfileResponse:
    """Store a new immutable profile under a fresh UUID and assign it to `devices` if given (§6.9)."""
    defined = validate_profile(raw, version=version, strict_org_magic=settings.strict_org_magic)
    _check_device_limit(defined.devices, settings, endpoint="define profile")
    now = await clock.now(db)
    profile = Profile(
        profile_uuid=random_hex(16, upper=True), server_id=server.id, body=defined.body, created_at=now
    )
    db.add(profile)
    await db.flush()
    # Define knows no THROTTLED (§11): a throttled device is FAILED here at every version.
    results, _ = await _assign(db, server=server, profile=profile, serials=defined.devices, version=1)
    return DefineProfileResponse(profile_uuid=profile.profile_uuid, devices=results)


async def get_profile(db: AsyncSession, *, server: MdmServer, profile_uuid: str | None) -> dict[str, Any]:
    """The stored profile plus `profile_uuid`; another server's profile is NOT_FOUND too (§6.10)."""
    if not profile_uuid or not profile_uuid.strip():
        raise DepError("PROFILE_UUID_REQUIRED")
    profile = await _find_profile(db, server=server, profile_uuid=profile_uuid)
    if profile is None:
        raise DepError("NOT_FOUND")
    return {"profile_uuid": profile.profile_uuid, **profile.body}


async def assign_profile(
    db: AsyncSession,
    *,
    server: MdmServer,
    raw: dict[str, Any],
    version: int,
    settings: Settings,
    method: str = "POST",
) -> AssignProfileResponse:
    """Assign a profile to serials with one result per distinct serial (§6.11).

    Checked in this order: PROFILE_UUID_REQUIRED, DEVICE_ID_REQUIRED (400), the device limit
    in strict mode (400), then 404 PROFILE_NOT_FOUND (also for another server's profile).
    """
    profile_uuid = raw.get("profile_uuid")
    if profile_uuid is not None and not isinstance(profile_uuid, str):
        raise DepError("MALFORMED_REQUEST_BODY")
    if not profile_uuid or not profile_uuid.strip():
        raise DepError("PROFILE_UUID_REQUIRED")
    serials = locking.unique(serial_list(raw))
    _check_device_limit(serials, settings, endpoint="assign profile")
    profile = await _find_profile(db, server=server, profile_uuid=profile_uuid)
    if profile is None:
        raise DepError("PROFILE_NOT_FOUND", status_code=404)
    fault = await faults_service.device_status_override(
        db, endpoint=f"{method} /profile/devices", server=server
    )
    if fault is not None:
        results, retry_after = await _scripted_outcome(
            db, server=server, serials=serials, version=version, fault=fault
        )
    else:
        results, retry_after = await _assign(
            db, server=server, profile=profile, serials=serials, version=version
        )
    return AssignProfileResponse(
        profile_uuid=profile.profile_uuid,
        devices=results,
        retry_after_seconds=retry_after if version >= RETRY_AFTER_SINCE else None,
    )


async def remove_profile(
    db: AsyncSession, *, server: MdmServer, raw: dict[str, Any], settings: Settings
) -> ClearProfileResponse:
    """Clear the profile of serials (§6.12): status `removed`, the old `profile_uuid` kept.

    `profile_uuid` in the body is accepted and ignored, as on the real service. A device
    without a current profile answers SUCCESS and is left as it is (no event).
    """
    serials = locking.unique(serial_list(raw))
    _check_device_limit(serials, settings, endpoint="remove profile")

    def clear(device: Device, now: datetime) -> bool:
        if device.profile_status not in ("assigned", "pushed"):
            return False
        device.profile_status = "removed"
        return True

    results = await _apply(db, server=server, serials=serials, change=clear)
    return ClearProfileResponse(devices=results)


async def _assign(
    db: AsyncSession,
    *,
    server: MdmServer,
    profile: Profile,
    serials: Sequence[str],
    version: int,
) -> tuple[dict[str, str], int | None]:
    """Assign `profile` to `serials`; returns per-serial results and the retry_after_seconds."""
    throttled: dict[int, int] = {}

    async def admit(devices: Sequence[Device], now: datetime) -> None:
        throttled.update(await throttle.admit(db, org_id=server.org_id, devices=devices, now=now))

    def assign(device: Device, now: datetime) -> bool | str:
        if device.id in throttled:
            return THROTTLED if version >= THROTTLED_SINCE else FAILED
        device.profile_uuid = profile.profile_uuid
        device.profile_status = "assigned"
        device.profile_assign_time = now
        return True

    results = await _apply(db, server=server, serials=serials, change=assign, before=admit)
    retry_after = max(throttled.values()) if THROTTLED in results.values() else None
    return results, retry_after


async def _scripted_outcome(
    db: AsyncSession,
    *,
    server: MdmServer,
    serials: Sequence[str],
    version: int,
    fault: DeviceStatusFault,
) -> tuple[dict[str, str], int | None]:
    """A `device_status` fault fired: this server's devices get its status, nothing changes."""
    status = fault.status
    if status == THROTTLED and version < THROTTLED_SINCE:
        status = FAILED
    results = await _apply(db, server=server, serials=serials, change=lambda _device, _now: status)
    retry_after = fault.retry_after_seconds if THROTTLED in results.values() else None
    return results, retry_after


async def _apply(
    db: AsyncSession,
    *,
    server: MdmServer,
    serials: Sequence[str],
    change: Callable[[Device, datetime], bool | str],
    before: Callable[[Sequence[Device], datetime], Awaitable[None]] | None = None,
) -> dict[str, str]:
    """Lock this server's devices among `serials`, run `change` on each, record `modified` events.

    `change` returns True (changed: SUCCESS and an event), False (SUCCESS, nothing changed) or
    a status string (that status, nothing changed). Serials not on this server: NOT_ACCESSIBLE.
    """
    results = dict.fromkeys(serials, NOT_ACCESSIBLE)
    usable = [s for s in serials if locking.usable_serial(s)]  # NUL etc. can't be a serial
    if not usable:
        return results
    devices = list(
        await db.scalars(
            select(Device)
            .where(Device.serial_number.in_(usable), Device.server_id == server.id)
            .order_by(Device.id)
            .with_for_update()
        )
    )
    # Lock order: devices, then the server (dep_emulator.devices.events). The clock is read only now, with
    # the server's feed locked, so this event is never dated before one committed ahead of it.
    await locking.lock_servers(db, server_ids={server.id} if devices else set())
    now = await clock.now(db)
    if before is not None:
        await before(devices, now)
    events: list[FeedEvent] = []
    for device in devices:
        outcome = change(device, now)
        results[device.serial_number] = outcome if isinstance(outcome, str) else SUCCESS
        if outcome is True:
            device.updated_at = now
            events.append(FeedEvent(server_id=server.id, device=device, op_type=MODIFIED))
    if events:
        await db.flush()
        await record_events(db, events, at=now)
    return results


async def _find_profile(db: AsyncSession, *, server: MdmServer, profile_uuid: str) -> Profile | None:
    return await db.scalar(
        select(Profile).where(
            Profile.profile_uuid == profile_uuid.strip().upper(), Profile.server_id == server.id
        )
    )


def _check_device_limit(serials: Sequence[str], settings: Settings, *, endpoint: str) -> None:
    """Apple asks for ≤ 1000 serials per request but was not seen enforcing it (§6.11, fleet#36770)."""
    if len(serials) <= settings.device_limit:
        return
    if settings.enforce_device_limit:
        raise DepError("DEVICE_LIMIT_EXCEEDED")
    logger.warning(
        "%s request with %d devices (Apple asks for at most %d)",
        endpoint,
        len(serials),
        settings.device_limit,
    )


async def org_profiles(db: AsyncSession, *, org_id: int) -> list[tuple[Profile, str, int]]:
    """The profiles the org's MDM servers defined, newest first: (profile, server name, devices
    it is assigned to, i.e. devices whose current profile it is)."""
    assigned = (
        select(func.count())
        .select_from(Device)
        .where(Device.profile_uuid == Profile.profile_uuid, Device.server_id == Profile.server_id)
        .scalar_subquery()
    )
    rows = await db.execute(
        select(Profile, MdmServer.server_name, assigned)
        .join(MdmServer, MdmServer.id == Profile.server_id)
        .where(MdmServer.org_id == org_id)
        .order_by(Profile.id.desc())
    )
    return [(profile, name, int(count)) for profile, name, count in rows]
