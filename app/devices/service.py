"""The device inventory of an org: the one writer of devices (spec §7) and their feed events.

Public contract (others code against these names): `add_devices`, `generate_devices`,
`assign_devices`, `modify_device`, `release_device`, `disown_devices`, `replace_device`,
`get_device_for_server`, `devices_by_serial`. None of them commits (the request does).
"""

from __future__ import annotations

import secrets
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import insert, select
from sqlalchemy.ext.asyncio import AsyncSession

from ..clock import service as clock
from ..core.errors import ControlError, not_found
from ..orgs.models import MdmServer, Org
from . import audit, bulk, locking
from .assignments import (
    assign_devices,
    assign_locked,
    disown_devices,
    release_locked,
    reset_profile,
)
from .feed import MODIFIED, FeedEvent, record_events
from .generator import generate_devices as generate_specs
from .models import Device, DeviceAssignment
from .schemas import DeviceAttributes, DeviceIn

__all__ = [
    "add_devices",
    "assign_devices",
    "devices_by_serial",
    "disown_devices",
    "generate_devices",
    "get_device_for_server",
    "modify_device",
    "release_device",
    "release_devices",
    "replace_device",
]


def duplicates_error(serials: Sequence[str]) -> ControlError:
    shown = sorted(serials)[:100]
    return ControlError(
        409,
        "duplicate_serials",
        f"{len(serials)} serial number(s) already exist: {', '.join(shown)}",
        serials=shown,
    )


async def add_devices(
    db: AsyncSession, *, org: Org, devices: Sequence[DeviceIn], actor: str | None = None
) -> list[Device]:
    """Add devices to the org; 409 naming every duplicate (in the request or in any org), nothing written.

    A serial that was released or disowned earlier is re-added (removed from ABM and added back).
    Each device added is a DEVICE_ADDED_TO_ORG audit event (`actor` None: the org's administrator).
    """
    seen: set[str] = set()
    repeated: set[str] = set()
    for spec in devices:
        (repeated if spec.serial_number in seen else seen).add(spec.serial_number)
    existing = await locking.lock_devices_by_serial(db, serials=list(seen)) if seen else []
    revived: list[Device] = []
    for chunk in locking.chunks(existing):
        revived += await locking.load_devices(db, ids=chunk)
    taken = repeated | {d.serial_number for d in revived if d.org_id is not None}
    if taken:
        raise duplicates_error(sorted(taken))
    now = await clock.now(db)
    by_serial = {d.serial_number: d for d in revived}
    rows: list[dict[str, Any]] = []
    for spec in devices:
        values = spec.model_dump()
        values["imei"] = values["imei"] or []
        values["meid"] = values["meid"] or []
        device = by_serial.get(spec.serial_number)
        if device is not None:
            for key, value in values.items():
                setattr(device, key, value)
            device.org_id, device.server_id, device.updated_at = org.id, None, now
            device.device_assigned_by = device.device_assigned_date = None
            device.is_replacement_device, device.replaces_serial_number, device.replacement_date = (
                False,
                None,
                None,
            )
            reset_profile(device)
            continue
        rows.append(
            values
            | {
                "org_id": org.id,
                "feed_seq": 0,
                "profile_status": "empty",
                "is_replacement_device": False,
                "created_at": now,
                "updated_at": now,
            }
        )
    created: list[Device] = []
    for start in range(0, len(rows), locking.CHUNK):
        result = await db.scalars(insert(Device).returning(Device), rows[start : start + locking.CHUNK])
        created += list(result)
    await db.flush()
    order = {spec.serial_number: i for i, spec in enumerate(devices)}
    added = sorted(created + revived, key=lambda d: order[d.serial_number])
    who, group = audit.actor_for(actor, admin=org.email), audit.new_group()
    await audit.record(
        db,
        (
            audit.event(
                d,
                audit.ADDED,
                org_id=org.id,
                at=now,
                group=group,
                actor=who,
                details=audit.added_details(d.order_number),
            )
            for d in added
        ),
    )
    return added


@dataclass(frozen=True, slots=True)
class Generated:
    count: int
    seed: int
    serials: list[str]  # the first 1000


async def generate_devices(
    db: AsyncSession,
    *,
    org: Org,
    count: int,
    families: Sequence[str] | None = None,
    order_number: str | None = None,
    seed: int | None = None,
    start: int = 0,
) -> Generated:
    """Generate `count` realistic devices into the org with COPY (a million is fine); 409 on collisions.

    Devices `start`..`start + count - 1` of the seed's deterministic sequence, so a large
    population can be generated in chunks that together equal one big call.
    """
    if seed is None:
        seed = secrets.randbits(48)
    now = await clock.now(db)
    try:
        specs = generate_specs(
            count, seed=seed, families=families, order_number=order_number, start=start, now=now
        )
    except ValueError as exc:
        raise ControlError(422, "validation_error", str(exc)) from exc
    serials = await bulk.copy_generated(
        db,
        org_id=org.id,
        specs=specs,
        now=now,
        on_duplicates=duplicates_error,
        actor=audit.actor_for(None, admin=org.email),
    )
    return Generated(count=count, seed=seed, serials=serials)


async def _locked_device(db: AsyncSession, *, serial: str) -> Device:
    """The org-owned device with this serial, locked; 404 otherwise."""
    ids = await locking.lock_devices_by_serial(db, serials=[serial])
    devices = await locking.load_devices(db, ids=ids)
    if not devices or devices[0].org_id is None:
        raise not_found("device", serial)
    return devices[0]


async def modify_device(db: AsyncSession, *, serial: str, changes: DeviceAttributes) -> Device:
    """Change attributes (not identity or assignment): a `modified` event on its server (spec §8.4)."""
    device = await _locked_device(db, serial=serial)
    values = changes.model_dump(exclude_unset=True)
    if not values:
        return device
    now = await clock.now(db)
    for key, value in values.items():
        if key in ("imei", "meid") and value is None:
            value = []
        if value is None and key in ("model", "description", "color", "device_family", "os"):
            raise ControlError(422, "validation_error", f"{key} cannot be null")
        setattr(device, key, value)
    device.updated_at = now
    if device.server_id is not None:
        await record_events(db, [FeedEvent(device.server_id, device, MODIFIED)], at=now)
    await db.flush()
    return device


async def release_device(db: AsyncSession, *, serial: str, actor: str | None = None) -> Device:
    """Release the device from its org (portal "Release"): `deleted` on its server."""
    device = await _locked_device(db, serial=serial)
    await release_locked(db, devices=[device], action="released", actor=actor)
    return device


async def release_devices(
    db: AsyncSession, *, org: Org, serials: Sequence[str], actor: str | None = None, source: str | None = None
) -> dict[str, str]:
    """Release many of the org's devices at once (the portal's Manage Devices → Disown).

    serial → `released`, or `not_found` for a serial the org does not have."""
    wanted = locking.unique(serials)
    ids = await locking.lock_devices_by_serial(db, serials=wanted, org_id=org.id)
    done: set[str] = set()
    for chunk in locking.chunks(ids):
        devices = await locking.load_devices(db, ids=chunk)
        await release_locked(db, devices=devices, action="released", actor=actor, source=source)
        done.update(d.serial_number for d in devices)
    return {serial: "released" if serial in done else "not_found" for serial in wanted}


async def replace_device(
    db: AsyncSession, *, serial: str, new_serial: str | None = None, actor: str | None = None
) -> tuple[Device, Device]:
    """AppleCare replacement (protocol 10): a new device takes the original's place on its server.

    The original is released with `released_by_replacement`; the replacement has
    `is_replacement_device` and is assigned to the original's server (`added`).
    Returns (original, replacement).
    """
    original = await _locked_device(db, serial=serial)
    org = await db.get(Org, original.org_id)
    assert org is not None
    server = await db.get(MdmServer, original.server_id) if original.server_id is not None else None
    now = await clock.now(db)
    ids = next(generate_specs(1, seed=secrets.randbits(48), families=[original.device_family], now=now))
    spec = DeviceIn(
        serial_number=new_serial or ids.serial_number,
        model=original.model,
        description=original.description,
        color=original.color,
        device_family=original.device_family,
        os=original.os,
        order_number=original.order_number,
        order_date=original.order_date,
        wifi_mac_address=ids.wifi_mac_address,
        bluetooth_mac_address=ids.bluetooth_mac_address,
        ethernet_mac_address=ids.ethernet_mac_address if original.ethernet_mac_address else None,
        imei=list(ids.imei) if original.imei else None,
        meid=list(ids.meid) if original.meid else None,
        eid=ids.eid if original.eid else None,
    )
    await release_locked(db, devices=[original], action="replaced", actor=actor, replaced=True)
    (replacement,) = await add_devices(db, org=org, devices=[spec], actor=actor)
    replacement.is_replacement_device = True
    replacement.replaces_serial_number = original.serial_number
    replacement.replacement_date = now
    await db.flush()
    if server is not None:
        await assign_locked(
            db, org=org, server=server, device_ids=[replacement.id], assigned_by=actor or org.email
        )
    return original, replacement


async def get_device_for_server(db: AsyncSession, *, server: MdmServer, serial: str) -> Device | None:
    """The device if it is assigned to `server`, else None (Apple's NOT_ACCESSIBLE)."""
    if not locking.usable_serial(serial):
        return None
    return await db.scalar(
        select(Device).where(Device.serial_number == serial, Device.server_id == server.id)
    )


async def devices_by_serial(
    db: AsyncSession, *, serials: Sequence[str], for_update: bool = False
) -> dict[str, Device]:
    """Existing devices by serial (unknown and unusable serials are simply absent).

    `for_update` locks them in id order, as every feed writer must before `record_events`.
    """
    wanted = [s for s in locking.unique(serials) if locking.usable_serial(s)]
    found: dict[str, Device] = {}
    if for_update:
        ids = await locking.lock_devices_by_serial(db, serials=wanted)
        for chunk in locking.chunks(ids):
            found.update((d.serial_number, d) for d in await locking.load_devices(db, ids=chunk))
        return found
    for start in range(0, len(wanted), locking.CHUNK):
        rows = await db.scalars(
            select(Device).where(Device.serial_number.in_(wanted[start : start + locking.CHUNK]))
        )
        found.update((d.serial_number, d) for d in rows)
    return found


async def device_history(db: AsyncSession, *, device: Device) -> list[DeviceAssignment]:
    result = await db.scalars(
        select(DeviceAssignment).where(DeviceAssignment.device_id == device.id).order_by(DeviceAssignment.id)
    )
    return list(result)
