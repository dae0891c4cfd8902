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
from functools import partial
from typing import Any

from sqlalchemy import insert, select
from sqlalchemy.ext.asyncio import AsyncSession

from app.clock import service as clock
from app.core.errors import ControlError
from app.devices import audit, locking
from app.devices.feed import ADDED, DELETED, MODIFIED, FeedEvent, record_events
from app.devices.models import Device, DeviceAssignment
from app.orgs.models import MdmServer, Org
from app.orgs.settings import org_setting

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
    device: Device, action: str, server_uuid: str | None, actor: str | None, at: datetime
) -> dict[str, Any]:
    return {"device_id": device.id, "action": action, "server_uuid": server_uuid, "actor": actor, "at": at}


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
    db: AsyncSession, *, org: Org, server: MdmServer | None, serials: Sequence[str], assigned_by: str
) -> dict[str, str]:
    """Assign (`server`), move or unassign (`None`) the org's devices; a result for every serial given."""
    wanted = locking.unique(serials)
    ids = await locking.lock_devices_by_serial(db, serials=wanted, org_id=org.id)
    results = await assign_locked(db, org=org, server=server, device_ids=ids, assigned_by=assigned_by)
    return {serial: results.get(serial, NOT_FOUND) for serial in wanted}


async def assign_locked(
    db: AsyncSession, *, org: Org, server: MdmServer | None, device_ids: Sequence[int], assigned_by: str
) -> dict[str, str]:
    """`assign_devices` for devices already locked (by id order) in this transaction."""
    if server is not None and server.org_id != org.id:
        raise ValueError("the server belongs to another org")
    old_servers = await locking.servers_of(db, device_ids=device_ids)
    involved = old_servers | ({server.id} if server is not None else set())
    locked = await locking.lock_servers(db, server_ids=involved)
    if server is not None and server.id not in locked:
        # Deleted (DELETE /v1/mdmServers or the control API) after the caller looked it up: refuse
        # rather than write rows pointing at a server that no longer exists.
        raise ServerGone(server.server_uuid)
    labels = await server_labels(db, involved) if involved else {}
    now = await clock.now(db)
    clean = org_setting(org, "feed_style") == "clean"
    who = audit.actor_for(assigned_by, admin=org.email)
    note = partial(audit.event, org_id=org.id, at=now, group=audit.new_group(), actor=who)
    results: dict[str, str] = {}
    for chunk in locking.chunks(device_ids):
        devices = await locking.load_devices(db, ids=chunk)
        before: list[FeedEvent] = []  # deleted events: last-known fields, so recorded before the change
        after: list[FeedEvent] = []
        history: list[dict[str, Any]] = []
        trail: list[dict[str, Any]] = []
        plan: list[tuple[Device, str]] = []
        for device in devices:
            old = device.server_id
            if server is None:
                outcome = UNASSIGNED if old is not None else NOT_ASSIGNED
            elif old is None:
                outcome = ASSIGNED
            elif old == server.id:
                outcome = REASSIGNED
            else:
                outcome = MOVED
            if outcome in (UNASSIGNED, MOVED):
                assert old is not None
                before.append(FeedEvent(old, device, DELETED))
                trail.append(note(device, audit.UNASSIGNED, server=labels[old]))
            if server is not None:  # assigned, moved, or re-assigned to the server it is on
                trail.append(note(device, audit.ASSIGNED, server=labels[server.id]))
            plan.append((device, outcome))
            results[device.serial_number] = outcome
        await record_events(db, before, at=now)
        for device, outcome in plan:
            if outcome == NOT_ASSIGNED:
                continue
            device.updated_at = now
            if server is None:
                device.server_id = None
                history.append(history_row(device, UNASSIGNED, None, assigned_by, now))
                continue
            device.server_id = server.id
            device.device_assigned_date = now
            device.device_assigned_by = assigned_by
            if outcome == ASSIGNED or (outcome == MOVED and clean):
                reset_profile(device)
                after.append(FeedEvent(server.id, device, ADDED))
            else:  # moved (Apple style) or re-assigned: Apple drops the profile assignment (spec §8.4)
                device.profile_status = "removed"
                after.append(FeedEvent(server.id, device, MODIFIED))
            history.append(history_row(device, outcome, labels[server.id][0], assigned_by, now))
        await record_events(db, after, at=now)
        await write_history(db, history)
        await audit.record(db, trail)
        for device in devices:
            db.expunge(device)  # a million-device call must not keep a million objects
    return results


async def release_locked(
    db: AsyncSession, *, devices: Sequence[Device], action: str, actor: str | None, replaced: bool = False
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
    for device in devices:
        device.server_id = None
        device.org_id = None
        device.updated_at = now
    await write_history(db, [history_row(d, action, None, actor, now) for d in devices])
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
