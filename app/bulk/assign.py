"""Set-based assignment: a million devices to one MDM server in a handful of statements (issue 3).

Same outcome and events as the op_type rules in `dep_emulator.inventory.assignments` (read them there),
written as SQL over a temporary plan table instead of per-device Python objects:

1. `assign_plan`: each (already locked) device, its old server and its outcome;
2. lock the servers involved in id order (after the devices: the feed's lock order); a target
   server deleted meanwhile is refused (`server_gone`);
3. `feed.allocate`: one UPDATE ... RETURNING reserves each server's seq range under its row
   lock; a server is only ever an old server (deleted events) or the new one (added/modified);
4. `deleted` events on old servers, snapshots of the devices before the change;
5. one UPDATE of the devices (server, assigned date/by, profile, `feed_seq` = its new event);
6. `added`/`modified` events on the new server, snapshots after the change, seq = feed_seq;
7. the assignment history rows and the org's audit trail (dep_emulator.devices.audit).
Within one server, events are in device id order, as the per-device writer emits them.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from contextlib import nullcontext
from datetime import datetime

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession

from ..devices import audit
from ..devices import events as feed
from ..devices.locking import lock_servers, references_held, refresh_loaded
from ..orgs.models import MdmServer
from .generation import raw_connection

# The event snapshot: the device's stored wire text (migration 0010: exactly `wire_sql.device_object`,
# see tests/devices/test_feed_sql.py), parsed once instead of built again field by field.
_SNAPSHOT = "CAST(d.wire AS jsonb)"


async def assign_set(
    db: AsyncSession,
    *,
    org_id: int,
    server: MdmServer | None,
    device_ids: Sequence[int],
    assigned_by: str,
    actor: audit.Actor,
    clean: bool,
    now: datetime,
    server_gone: Callable[[str], Exception],
    source: str | None = None,
) -> dict[str, str]:
    """Assign (`server`), move or unassign (None) these locked devices; serial → outcome.

    Raises `server_gone(uuid)` when the target server was deleted while we waited for its lock.
    """
    server_id = server.id if server is not None else None
    await db.flush()
    await db.execute(text("DROP TABLE IF EXISTS assign_plan"))
    await db.execute(
        text(
            """
            CREATE TEMP TABLE assign_plan ON COMMIT DROP AS
            SELECT d.id, d.serial_number, d.server_id AS old_server,
                   CASE WHEN CAST(:server AS int) IS NULL THEN
                            CASE WHEN d.server_id IS NULL THEN 'not_assigned' ELSE 'unassigned' END
                        WHEN d.server_id IS NULL THEN 'assigned'
                        WHEN d.server_id = :server THEN 'reassigned'
                        ELSE 'moved' END AS outcome,
                   row_number() OVER (PARTITION BY d.server_id ORDER BY d.id) AS old_rank,
                   row_number() OVER (ORDER BY d.id) AS new_rank
            FROM device d JOIN unnest(CAST(:ids AS bigint[])) AS u(id) ON d.id = u.id
            """
        ),
        {"server": server_id, "ids": list(device_ids)},
    )
    old_rows = await db.execute(
        text("SELECT DISTINCT old_server FROM assign_plan WHERE old_server IS NOT NULL")
    )
    involved = {int(row[0]) for row in old_rows} | ({server_id} if server_id is not None else set())
    locked = await lock_servers(db, server_ids=involved)  # id order, after the devices
    if server is not None and server.id not in locked:
        raise server_gone(server.server_uuid)
    labels = await _labels(db, involved)
    counts: dict[int, int] = {}
    moving = 0
    for old, leaving, total in await db.execute(
        text(
            "SELECT old_server, count(*) FILTER (WHERE outcome IN ('unassigned', 'moved')), count(*) "
            "FROM assign_plan GROUP BY old_server"
        )
    ):
        moving += int(total)
        if old is not None and leaving:
            counts[int(old)] = int(leaving)
    if server_id is not None and moving:
        counts[server_id] = moving
    # Every server the rows refer to is locked (a gone old server: the key checks run as usual).
    conn = await raw_connection(db)
    held = references_held(conn, org_id=org_id, rows=len(device_ids)) if involved <= locked else nullcontext()
    async with held:
        await _write(
            db, org_id=org_id, server=server, counts=counts, labels=labels, assigned_by=assigned_by,
            actor=actor, clean=clean, now=now, source=source,
        )  # fmt: skip
    rows = await db.execute(text("SELECT serial_number, outcome FROM assign_plan"))
    results = {row[0]: row[1] for row in rows}
    await db.execute(text("DROP TABLE assign_plan"))
    await refresh_loaded(db, device_ids)
    return results


async def _write(
    db: AsyncSession,
    *,
    org_id: int,
    server: MdmServer | None,
    counts: dict[int, int],
    labels: dict[int, tuple[str, str]],
    assigned_by: str,
    actor: audit.Actor,
    clean: bool,
    now: datetime,
    source: str | None,
) -> None:
    """Steps 3-7 over the plan: sequence numbers, events, the devices' new state, history, audit."""
    server_id = server.id if server is not None else None
    firsts = await feed.allocate(db, counts)  # under the server row locks taken above
    old_servers = sorted(s for s in firsts if s != server_id)
    await db.execute(
        text(
            f"""
            INSERT INTO device_event (server_id, seq, device_id, serial_number, op_type, op_at, snapshot)
            SELECT p.old_server, a.first + p.old_rank - 1, d.id, d.serial_number, 'deleted', :now, {_SNAPSHOT}
            FROM assign_plan p
            JOIN device d ON d.id = p.id
            JOIN unnest(CAST(:servers AS int[]), CAST(:firsts AS bigint[])) AS a(server, first)
              ON a.server = p.old_server
            WHERE p.outcome IN ('unassigned', 'moved')
            ORDER BY p.old_server, p.id
            """
        ),
        {"now": now, "servers": old_servers, "firsts": [firsts[s] for s in old_servers]},
    )
    if server_id is None:
        await db.execute(
            text(
                """
                UPDATE device d SET server_id = NULL, updated_at = :now,
                       feed_seq = a.first + p.old_rank - 1
                FROM assign_plan p
                JOIN unnest(CAST(:servers AS int[]), CAST(:firsts AS bigint[])) AS a(server, first)
                  ON a.server = p.old_server
                WHERE d.id = p.id AND p.outcome = 'unassigned'
                """
            ),
            {"now": now, "servers": old_servers, "firsts": [firsts[s] for s in old_servers]},
        )
    elif server_id in counts:  # devices arrive (counts holds the new server only then)
        # Fresh profile state for new arrivals (and moves when the org's feed is "clean");
        # otherwise Apple drops the profile assignment but keeps its uuid (spec §8.4).
        fresh = "p.outcome = 'assigned'" + (" OR p.outcome = 'moved'" if clean else "")
        await db.execute(
            text(
                f"""
                UPDATE device d SET server_id = :server, updated_at = :now,
                       device_assigned_date = :now, device_assigned_by = :by,
                       feed_seq = :first + p.new_rank - 1,
                       profile_status = CASE WHEN {fresh} THEN 'empty' ELSE 'removed' END,
                       profile_uuid = CASE WHEN {fresh} THEN NULL ELSE d.profile_uuid END,
                       profile_assign_time = CASE WHEN {fresh} THEN NULL ELSE d.profile_assign_time END,
                       profile_push_time = CASE WHEN {fresh} THEN NULL ELSE d.profile_push_time END
                FROM assign_plan p WHERE d.id = p.id
                """
            ),
            {"server": server_id, "now": now, "by": assigned_by, "first": firsts[server_id]},
        )
        await db.execute(
            text(
                f"""
                INSERT INTO device_event (server_id, seq, device_id, serial_number, op_type, op_at, snapshot)
                SELECT :server, d.feed_seq, d.id, d.serial_number,
                       CASE WHEN {fresh} THEN 'added' ELSE 'modified' END, :now, {_SNAPSHOT}
                FROM assign_plan p JOIN device d ON d.id = p.id
                ORDER BY p.id
                """
            ),
            {"server": server_id, "now": now},
        )
    await db.execute(
        text(
            """
            INSERT INTO device_assignment (device_id, org_id, action, server_uuid, actor, at, source)
            SELECT id, :org, outcome, :uuid, :by, :now, :source FROM assign_plan
            WHERE outcome <> 'not_assigned' ORDER BY id
            """
        ),
        {
            "org": org_id,
            "uuid": server.server_uuid if server else None,
            "by": assigned_by,
            "now": now,
            "source": source,
        },
    )
    await _audit(db, org_id=org_id, server_id=server_id, labels=labels, actor=actor, now=now)


async def _labels(db: AsyncSession, ids: set[int]) -> dict[int, tuple[str, str]]:
    if not ids:
        return {}
    rows = await db.execute(
        text("SELECT id, server_uuid, server_name FROM mdm_server WHERE id = ANY(:ids)"), {"ids": sorted(ids)}
    )
    return {int(row[0]): (row[1], row[2]) for row in rows}


async def _audit(
    db: AsyncSession,
    *,
    org_id: int,
    server_id: int | None,
    labels: dict[int, tuple[str, str]],
    actor: audit.Actor,
    now: datetime,
) -> None:
    """The audit trail, in the per-device order: UNASSIGNED from the old server (moves and
    unassignments), then ASSIGNED to the new one (every device, when assigning)."""
    ids = sorted(labels)
    await db.execute(
        text(
            """
            INSERT INTO audit_event (org_id, event_type, occurred_at, group_id, actor_type, actor_id,
                                     serial_number, device_model, server_uuid, server_name, details)
            SELECT :org, k.event_type, :now, :group, :actor_type, :actor_id,
                   p.serial_number, d.model, l.uuid, l.name, '{}'::jsonb
            FROM assign_plan p
            JOIN device d ON d.id = p.id
            CROSS JOIN LATERAL (VALUES
                (1, :unassigned, CASE WHEN p.outcome IN ('unassigned', 'moved') THEN p.old_server END),
                (2, :assigned, CAST(:server AS int))
            ) AS k(step, event_type, server)
            JOIN unnest(CAST(:ids AS int[]), CAST(:uuids AS text[]), CAST(:names AS text[]))
              AS l(id, uuid, name) ON l.id = k.server
            ORDER BY p.id, k.step
            """
        ),
        {
            "org": org_id,
            "now": now,
            "group": audit.new_group(),
            "actor_type": actor.type,
            "actor_id": actor.id,
            "unassigned": audit.UNASSIGNED,
            "assigned": audit.ASSIGNED,
            "server": server_id,
            "ids": ids,
            "uuids": [labels[i][0] for i in ids],
            "names": [labels[i][1] for i in ids],
        },
    )
