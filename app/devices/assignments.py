"""Assigning devices to MDM servers, and devices leaving an org, with the events Apple emits.

`op_type` rules (spec §8.4, as the real service does them):
- newly assigned (from unassigned) → `added` on the server, profile reset to `empty`;
- moved A → B in one step → `deleted` on A, and on B `modified` with `profile_status: removed`
  (old `profile_uuid` kept) — or `added` with a fresh profile state when the org's
  `feed_style` is `clean`;
- re-assigned to the server it is already on → `modified`, profile `removed`, uuid kept
  (fleet#39871);
- unassigned → `deleted`; released, disowned or replaced → `deleted` (replaced: with
  `released_by_replacement`, protocol 10).
A `deleted` event carries the device's last-known fields, so it is recorded before the change.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import insert, select
from sqlalchemy.ext.asyncio import AsyncSession

from ..clock import service as clock
from ..core.errors import ControlError
from ..orgs.models import MdmServer, Org
from ..orgs.settings import org_setting
from . import audit, bulk_assign, locking
from .feed import DELETED, FeedEvent, record_events
from .models import Device, DeviceAssignment

# Per-serial results of assign_devices.
ASSIGNED, MOVED, REASSIGNED, UNASSIGNED = "assigned", "moved", "reassigned", "unassigned"
NOT_ASSIGNED, NOT_FOUND = "not_assigned", "not_found"
# Per-serial results of disown_devices (spec §6.5).
SUCCESS, NOT_ACCESSIBLE = "SUCCESS", "NOT_ACCESSIBLE"


def reset_profile(device: Device) -> None:
    device.profile_uuid = None
    device.profile_status = "empty"
    device.profile_assign_time = None
    device.profile_push_time = None


def history_row(
    device: Device,
    action: str,
    server_uuid: str | None,
    actor: str | None,
    at: datetime,
    source: str | None = None,
) -> dict[str, Any]:
    return {
        "device_id": device.id,
        "org_id": device.org_id,
        "action": action,
        "server_uuid": server_uuid,
        "actor": actor,
        "at": at,
        "source": source,
    }


async def write_history(db: AsyncSession, rows: list[dict[str, Any]]) -> None:
    for start in range(0, len(rows), locking.CHUNK):
        await db.execute(insert(DeviceAssignment), rows[start : start + locking.CHUNK])


async def server_labels(db: AsyncSession, ids: set[int]) -> dict[int, tuple[str, str]]:
    """(uuid, name) of each server, for history and audit rows that outlive the server."""
    rows = await db.execute(
        select(MdmServer.id, MdmServer.server_uuid, MdmServer.server_name).where(MdmServer.id.in_(ids))
    )
    return {row[0]: (row[1], row[2]) for row in rows}


class ServerGone(ControlError):
    """The target server was deleted while this assignment waited for its row lock."""

    def __init__(self, server_uuid: str) -> None:
        super().__init__(409, "server_deleted", f"MDM server {server_uuid} was deleted meanwhile")
        self.server_uuid = server_uuid


async def assign_devices(
    db: AsyncSession,
    *,
    org: Org,
    server: MdmServer | None,
    serials: Sequence[str],
    assigned_by: str,
    source: str | None = None,
) -> dict[str, str]:
    """Assign (`server`), move or unassign (`None`) the org's devices; a result for every serial given.

    `source` labels the history rows (dep_emulator.devices.history); None: derived from the actor."""
    wanted = locking.unique(serials)
    ids = await locking.lock_devices_by_serial(db, serials=wanted, org_id=org.id)
    results = await assign_locked(
        db, org=org, server=server, device_ids=ids, assigned_by=assigned_by, source=source
    )
    return {serial: results.get(serial, NOT_FOUND) for serial in wanted}


async def assign_locked(
    db: AsyncSession,
    *,
    org: Org,
    server: MdmServer | None,
    device_ids: Sequence[int],
    assigned_by: str,
    source: str | None = None,
) -> dict[str, str]:
    """`assign_devices` for devices already locked (by id order) in this transaction.

    Set-based (dep_emulator.devices.bulk_assign), so a million devices take minutes at most, not an hour:
    same events, history and audit trail as one device at a time would write.
    """
    if server is not None and server.org_id != org.id:
        raise ValueError("the server belongs to another org")
    if not device_ids:
        return {}
    return await bulk_assign.assign_set(
        db,
        org_id=org.id,
        server=server,
        device_ids=device_ids,
        assigned_by=assigned_by,
        actor=audit.actor_for(assigned_by, admin=org.email),
        clean=org_setting(org, "feed_style") == "clean",
        now=await clock.now(db),
        server_gone=ServerGone,
        source=source,
    )


async def release_locked(
    db: AsyncSession,
    *,
    devices: Sequence[Device],
    action: str,
    actor: str | None,
    replaced: bool = False,
    source: str | None = None,
) -> None:
    """Take (locked) devices out of their org: `deleted` on their server, then no org and no server.

    The row stays (history, replacement details, and a later re-add of the same serial revive it).
    """
    await locking.lock_servers(db, server_ids={d.server_id for d in devices if d.server_id is not None})
    now = await clock.now(db)
    extra = {"released_by_replacement": True} if replaced else {}
    await record_events(
        db, [FeedEvent(d.server_id, d, DELETED, extra) for d in devices if d.server_id is not None], at=now
    )
    await _audit_removals(db, devices=devices, action=action, actor=actor, at=now)
    history = [history_row(d, action, None, actor, now, source) for d in devices]  # in the org it leaves
    for device in devices:
        device.server_id = None
        device.org_id = None
        device.updated_at = now
    await write_history(db, history)
    await db.flush()


async def _audit_removals(
    db: AsyncSession, *, devices: Sequence[Device], action: str, actor: str | None, at: datetime
) -> None:
    """DEVICE_REMOVED_FROM_ORG for each device, attributed to the org it leaves (before it leaves)."""
    org_ids = {d.org_id for d in devices if d.org_id is not None}
    if not org_ids:
        return
    emails = await db.execute(select(Org.id, Org.email).where(Org.id.in_(org_ids)))
    admins: dict[int, str] = {row[0]: row[1] for row in emails}
    labels = await server_labels(db, {d.server_id for d in devices if d.server_id is not None})
    group = audit.new_group()
    rows: list[dict[str, Any]] = []
    for device in devices:
        if device.org_id is None:
            continue
        if action == "disowned":  # the MDM server did it (DEP /devices/disown); its uuid is `actor`
            who = audit.Actor(audit.SYSTEM, actor)
        else:
            who = audit.actor_for(actor, admin=admins[device.org_id])
        server = labels.get(device.server_id) if device.server_id is not None else None
        rows.append(
            audit.event(
                device,
                audit.REMOVED,
                org_id=device.org_id,
                at=at,
                group=group,
                actor=who,
                server=server,
                details=audit.removed_details(action, who),
            )
        )
    await audit.record(db, rows)


async def disown_devices(db: AsyncSession, *, server: MdmServer, serials: Sequence[str]) -> dict[str, str]:
    """`POST /devices/disown` (spec §6.5): the server's devices leave the org for good."""
    wanted = locking.unique(serials)
    ids = await locking.lock_devices_by_serial(db, serials=wanted)
    results: dict[str, str] = {}
    for chunk in locking.chunks(ids):
        mine = [d for d in await locking.load_devices(db, ids=chunk) if d.server_id == server.id]
        await release_locked(db, devices=mine, action="disowned", actor=server.server_uuid)
        results.update((d.serial_number, SUCCESS) for d in mine)
    return {serial: results.get(serial, NOT_ACCESSIBLE) for serial in wanted}
