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

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession

from ..blueprints import service as blueprints
from ..bulk import assign as bulk_assign
from ..bulk import release as bulk_release
from ..clock import service as clock
from ..core.errors import ControlError
from ..devices import audit, locking
from ..devices.models import Device
from ..orgs.models import MdmServer, Org
from ..orgs.settings import ORG_SETTINGS, org_setting

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

    `source` labels the history rows (dep_emulator.inventory.history); None: derived from the actor."""
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

    Set-based (dep_emulator.bulk.assign), so a million devices take minutes at most, not an hour:
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
    device_ids: Sequence[int],
    action: str,
    actor: str | None,
    replaced: bool = False,
    source: str | None = None,
) -> list[str]:
    """Take (locked) devices out of their org: `deleted` on their server, then no org and no server;
    returns their serials, in the order given.

    A release (`action` "released": the portal's Release, the control API, a Business API
    RELEASE_DEVICES, churn) writes no feed event at all unless the org's `release_feed_event` is
    `deleted` (observed behaviour F1: Apple sends `deleted` only when a device is reassigned to
    another server). A disown (DEP `/devices/disown`) and an AppleCare replacement keep their
    documented `deleted` (spec §6.5, §6.7): the MDM asked for the one, and the other carries
    `released_by_replacement`, which an MDM needs to see.
    The row stays (history, replacement details, and a later re-add of the same serial revive it).
    Set-based (dep_emulator.bulk.release): a large set takes a few statements.
    """
    now = await clock.now(db)
    ids = list(dict.fromkeys(device_ids))
    silent: set[int] = set()
    if action == "released" and ids:
        rows = await db.execute(
            text(
                "SELECT d.id, o.settings FROM device d JOIN org o ON o.id = d.org_id WHERE d.id = ANY(:ids)"
            ),
            {"ids": ids},
        )
        silent = {int(i) for i, settings in rows if _release_feed_event(settings) == "none"}
    serials: list[str] = []
    # Runs of devices with the same choice, in the order given (one run in practice: one org).
    start = 0
    while start < len(ids):
        quiet = ids[start] in silent
        end = start
        while end < len(ids) and (ids[end] in silent) == quiet:
            end += 1
        serials += await bulk_release.release_set(
            db,
            device_ids=ids[start:end],
            action=action,
            actor=actor,
            now=now,
            replaced=replaced,
            source=source,
            feed_event=not quiet,
        )
        start = end
    # Out of the org, out of its Blueprints (abm-api-2.md §4.1); mdmDevices list only org devices.
    await blueprints.forget_devices(db, serials=serials)
    return serials


def _release_feed_event(settings: dict[str, object] | None) -> object:
    """The org setting from the org row's settings (dep_emulator.orgs.settings: its default if unset)."""
    return (settings or {}).get("release_feed_event", ORG_SETTINGS["release_feed_event"].default)


async def disown_devices(db: AsyncSession, *, server: MdmServer, serials: Sequence[str]) -> dict[str, str]:
    """`POST /devices/disown` (spec §6.5): the server's devices leave the org for good."""
    wanted = locking.unique(serials)
    ids = await locking.lock_devices_by_serial(db, serials=wanted)
    mine = await db.execute(
        text("SELECT id FROM device WHERE id = ANY(:ids) AND server_id = :server ORDER BY id"),
        {"ids": ids, "server": server.id},
    )
    on_server = [row[0] for row in mine]
    done = set(await release_locked(db, device_ids=on_server, action="disowned", actor=server.server_uuid))
    return {serial: SUCCESS if serial in done else NOT_ACCESSIBLE for serial in wanted}
