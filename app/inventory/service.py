"""The device inventory of an org: the one writer of devices (spec §7) and their feed events.

Public contract (others code against these names): `add_devices`, `generate_devices`,
`assign_devices`, `modify_device`, `release_device`, `disown_devices`, `replace_device`,
`get_device_for_server`, `devices_by_serial`. None of them commits (the request does).
"""

from __future__ import annotations

import secrets
from collections.abc import AsyncIterator, Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import select, text
from sqlalchemy.ext.asyncio import AsyncSession

from ..bulk import deadlines, importing
from ..bulk import generation as bulk
from ..clock import service as clock
from ..core.errors import ControlError, not_found
from ..devices import locking, software
from ..devices.events import MODIFIED, FeedEvent, record_events
from ..devices.generator import generate_devices as generate_specs
from ..devices.models import Device, DeviceAssignment
from ..devices.schemas import FAMILY_OS, DeviceAttributes, DeviceIn
from ..orgs.models import MdmServer, Org
from .assignments import ServerGone, assign_devices, assign_locked, disown_devices, release_locked

__all__ = [
    "add_devices",
    "assign_devices",
    "devices_by_serial",
    "lock_by_serial",
    "LockedDevice",
    "disown_devices",
    "generate_devices",
    "get_device_for_server",
    "import_devices",
    "modify_device",
    "release_device",
    "release_devices",
    "release_serials",
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
    Returns the devices in the order given (`import_devices` for large lists: it returns counts).
    """
    added = await import_devices(
        db, org=org, batches=importing.list_batches(devices), actor=actor, with_ids=True
    )
    by_id = {
        d.id: d
        for chunk in locking.chunks(added.device_ids)
        for d in await locking.load_devices(db, ids=chunk)
    }
    result = [by_id[i] for i in added.device_ids]
    for spec, device in zip(devices, result, strict=True):  # product type and OS chosen up front
        chosen = spec.model_dump(include=set(software.SOFTWARE_FIELDS), exclude_unset=True)
        if chosen:
            try:
                software.apply(device, chosen)
            except ValueError as exc:
                raise ControlError(422, "validation_error", f"{spec.serial_number}: {exc}") from exc
    await db.flush()
    return result


async def import_devices(
    db: AsyncSession,
    *,
    org: Org,
    batches: AsyncIterator[list[Any]],
    server: MdmServer | None = None,
    actor: str | None = None,
    with_ids: bool = False,
) -> importing.Imported:
    """Add listed devices (a streamed CSV's batches, or `importing.list_batches`) to the org, assigned
    to `server` if given, in set-based statements; 409 naming every duplicate, nothing written."""
    if server is not None and server.org_id != org.id:
        raise ValueError("the server belongs to another org")
    return await importing.import_devices(
        db,
        org=org,
        batches=batches,
        server=server,
        actor=actor,
        now=await clock.now(db),
        on_duplicates=duplicates_error,
        server_gone=ServerGone,
        with_ids=with_ids,
    )


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
    server: MdmServer | None = None,
    assigned_by: str | None = None,
    progress: Callable[[int], None] | None = None,
    os_version: str | None = None,
) -> Generated:
    """Generate `count` realistic devices into the org with COPY (a million is fine); 409 on collisions.

    Devices `start`..`start + count - 1` of the seed's deterministic sequence, so a large
    population can be generated in chunks that together equal one big call. With `server` they
    arrive assigned to it (`added` on its feed), as if assigned right after by `assigned_by`
    (default: the org's administrator) in the same request.
    """
    if seed is None:
        seed = secrets.randbits(48)
    if server is not None and server.org_id != org.id:
        raise ValueError("the server belongs to another org")
    now = await clock.now(db)
    try:  # validated here (the generator checks its arguments eagerly), generated by bulk
        generate_specs(count, seed=seed, families=families, order_number=order_number, start=start, now=now)
    except ValueError as exc:
        raise ControlError(422, "validation_error", str(exc)) from exc
    if os_version is not None:
        _check_generated_os(os_version, families)
    chunk = bulk.chunk_of(
        count=count,
        seed=seed,
        families=families,
        order_number=order_number,
        start=start,
        now=now,
        org_id=org.id,
        admin=org.email,
        assigned_by=assigned_by,
        os_version=os_version,
    )
    serials = await bulk.copy_generated(
        db,
        org_id=org.id,
        chunk=chunk,
        server=server,
        on_duplicates=duplicates_error,
        server_gone=ServerGone,
        progress=progress,
    )
    return Generated(count=count, seed=seed, serials=serials)


def _check_generated_os(os_version: str, families: Sequence[str] | None) -> None:
    """422 unless the release table has `os_version` for every platform being generated."""
    platforms = {FAMILY_OS[f] for f in families or FAMILY_OS}
    missing = sorted(p for p in platforms if software.build_for(p, os_version) is None)
    if missing:
        known = "; ".join(f"{p}: {', '.join(software.known_versions(p))}" for p in missing)
        raise ControlError(
            422, "validation_error", f"os_version {os_version} is not in the release table for {known}"
        )


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
    try:  # product type and OS: not in DEP's record, so they alone write no feed event
        software.apply(device, values)
    except ValueError as exc:
        raise ControlError(422, "validation_error", str(exc)) from exc
    wire_values = {k: v for k, v in values.items() if k not in software.SOFTWARE_FIELDS}
    for key, value in wire_values.items():
        if key in ("imei", "meid") and value is None:
            value = []
        if value is None and key in ("model", "description", "color", "device_family", "os"):
            raise ControlError(422, "validation_error", f"{key} cannot be null")
        setattr(device, key, value)
    device.updated_at = now
    if device.server_id is not None and wire_values:
        await record_events(db, [FeedEvent(device.server_id, device, MODIFIED)], at=now)
    await db.flush()
    return device


async def set_migration_deadline(
    db: AsyncSession, *, devices: Sequence[deadlines.Placed], deadline: datetime | None
) -> None:
    """`modify_device(mdm_migration_deadline=...)` of many devices, in three statements.

    The devices must be locked (`lock_by_serial` or `devices_by_serial(for_update=True)`); the same
    rows result, and a `modified` event for each assigned device on its server, in the order given."""
    await deadlines.set_migration_deadline(db, devices=devices, deadline=deadline, now=await clock.now(db))


async def release_device(db: AsyncSession, *, serial: str, actor: str | None = None) -> Device:
    """Release the device from its org (portal "Release"): `deleted` on its server."""
    device = await _locked_device(db, serial=serial)
    await release_locked(db, device_ids=[device.id], action="released", actor=actor)
    return device


async def release_devices(
    db: AsyncSession,
    *,
    device_ids: Sequence[int],
    actor: str | None = None,
    source: str | None = None,
) -> list[str]:
    """Release devices this transaction has locked (`lock_by_serial`), in one go, in the order given;
    their serials."""
    return await release_locked(db, device_ids=device_ids, action="released", actor=actor, source=source)


async def release_serials(
    db: AsyncSession, *, org: Org, serials: Sequence[str], actor: str | None = None, source: str | None = None
) -> dict[str, str]:
    """Release many of the org's devices at once (the portal's Manage Devices → Disown).

    serial → `released`, or `not_found` for a serial the org does not have."""
    wanted = locking.unique(serials)
    ids = await locking.lock_devices_by_serial(db, serials=wanted, org_id=org.id)
    done = set(await release_devices(db, device_ids=ids, actor=actor, source=source))
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
    await release_locked(db, device_ids=[original.id], action="replaced", actor=actor, replaced=True)
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


@dataclass(frozen=True, slots=True)
class LockedDevice:
    """What deciding a bulk operation needs of a device, without building its object."""

    id: int
    org_id: int | None
    server_id: int | None
    mdm_migration_deadline: datetime | None
    released_org_id: int | None = None  # released from that org (observed F2), not added back


async def lock_by_serial(db: AsyncSession, *, serials: Sequence[str]) -> dict[str, LockedDevice]:
    """Lock the devices with these serials (in id order, as `devices_by_serial(for_update=True)`)."""
    wanted = [s for s in locking.unique(serials) if locking.usable_serial(s)]
    rows = await db.execute(
        text(
            "SELECT serial_number, id, org_id, server_id, mdm_migration_deadline, released_org_id "
            "FROM device WHERE serial_number = ANY(:serials) ORDER BY id FOR UPDATE"
        ),
        {"serials": wanted},
    )
    return {row[0]: LockedDevice(*row[1:]) for row in rows}


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
