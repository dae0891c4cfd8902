"""Set-based release: many devices out of their org in a handful of statements (issue 14).

The rows the rules in `dep_emulator.inventory.assignments` describe for a device leaving its org
(`deleted` on its server, recorded before the change), as SQL over the (already locked) device
ids in the order given, instead of Python objects:

1. lock the servers the devices are on, in id order (after the devices: the feed's lock order);
2. `feed.allocate` reserves each server's seq range under its row lock;
3. `deleted` events on those servers, snapshots of the devices before they leave (a replacement's
   with `released_by_replacement`), in the order given within each server;
4. DEVICE_REMOVED_FROM_ORG audit rows, attributed to the org each device leaves;
5. the history rows (in the org the device leaves);
6. one UPDATE: no org, no server, `feed_seq` = its `deleted` event, and the org it left, when and by
   whom (observed F2: it stays listed there as released, dep_emulator.inventory.released).
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from contextlib import nullcontext
from datetime import datetime
from typing import Any

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession

from ..devices import audit
from ..devices import events as feed
from ..devices.locking import lock_servers, references_held, refresh_loaded
from .generation import raw_connection

# The devices to release, in the order given, each with its rank on its server's feed.
_PLAN = """
SELECT d.id, d.serial_number, d.org_id, d.server_id, d.model, u.ord,
       row_number() OVER (PARTITION BY d.server_id ORDER BY u.ord) AS rank
FROM unnest(CAST(:ids AS bigint[])) WITH ORDINALITY AS u(id, ord) JOIN device d ON d.id = u.id
"""
_FIRSTS = "unnest(CAST(:servers AS int[]), CAST(:firsts AS bigint[])) AS a(server, first)"


async def release_set(
    db: AsyncSession,
    *,
    device_ids: Sequence[int],
    action: str,
    actor: str | None,
    now: datetime,
    replaced: bool = False,
    source: str | None = None,
    feed_event: bool = True,
) -> list[str]:
    """Release these locked devices (`released`, `disowned` or `replaced`); their serials, in order.

    `actor` is who did it: for a disown the MDM server's uuid, otherwise as `audit.actor_for` reads it
    (None: each org's administrator). `feed_event` False: no `deleted` on the servers they leave
    (observed behaviour F1, the org setting `release_feed_event`: dep_emulator.inventory.assignments)."""
    ids = list(dict.fromkeys(device_ids))
    if not ids:
        return []
    await db.flush()
    params: dict[str, Any] = {"ids": ids}
    placed = await db.execute(
        text(f"SELECT server_id, org_id, count(*) FROM ({_PLAN}) p GROUP BY server_id, org_id"), params
    )
    counts: dict[int, int] = {}
    orgs: set[int] = set()
    for server_id, org_id, n in placed:
        if server_id is not None and feed_event:
            counts[int(server_id)] = counts.get(int(server_id), 0) + int(n)
        if org_id is not None:
            orgs.add(int(org_id))
    locked = await lock_servers(db, server_ids=counts)
    # One org and every server locked: the rows refer only to what this transaction holds.
    conn = await raw_connection(db)
    held = (
        references_held(conn, org_id=next(iter(orgs)), rows=len(ids))
        if len(orgs) == 1 and set(counts) <= locked
        else nullcontext()
    )
    async with held:
        firsts = await feed.allocate(db, counts)
        servers = sorted(firsts)
        params |= {"now": now, "servers": servers, "firsts": [firsts[s] for s in servers]}
        extra = " || '{\"released_by_replacement\": true}'::jsonb" if replaced else ""
        await db.execute(
            text(
                f"""
                INSERT INTO device_event (server_id, seq, device_id, serial_number, op_type, op_at, snapshot)
                SELECT p.server_id, a.first + p.rank - 1, p.id, p.serial_number, 'deleted', :now,
                       CAST(d.wire AS jsonb){extra}
                FROM ({_PLAN}) p JOIN device d ON d.id = p.id JOIN {_FIRSTS} ON a.server = p.server_id
                ORDER BY p.server_id, p.rank
                """
            ),
            params,
        )
        releasers = await _releasers(db, orgs=orgs, action=action, actor=actor)
        params |= {
            "r_orgs": list(releasers),
            "r_types": [r[0] for r in releasers.values()],
            "r_ids": [r[1] for r in releasers.values()],
        }
        await _audit(db, orgs=orgs, action=action, actor=actor, now=now, params=params)
        await db.execute(
            text(
                f"""
                INSERT INTO device_assignment (device_id, org_id, action, server_uuid, actor, at, source)
                SELECT p.id, p.org_id, :action, NULL, :actor, :now, :source FROM ({_PLAN}) p ORDER BY p.ord
                """
            ),
            params | {"action": action, "actor": actor, "source": source},
        )
        released = await db.execute(
            text(
                f"""
                UPDATE device d SET server_id = NULL, org_id = NULL, updated_at = :now,
                       feed_seq = COALESCE(a.first + p.rank - 1, d.feed_seq),
                       released_org_id = COALESCE(p.org_id, d.released_org_id),
                       released_at = CASE WHEN p.org_id IS NULL THEN d.released_at ELSE :now END,
                       releaser_type = COALESCE(r.type, d.releaser_type),
                       releaser_id = CASE WHEN p.org_id IS NULL THEN d.releaser_id ELSE r.id END
                FROM ({_PLAN}) p LEFT JOIN {_FIRSTS} ON a.server = p.server_id
                LEFT JOIN unnest(CAST(:r_orgs AS bigint[]), CAST(:r_types AS text[]), CAST(:r_ids AS text[]))
                     AS r(org, type, id) ON r.org = p.org_id
                WHERE d.id = p.id
                RETURNING p.ord, d.serial_number
                """
            ),
            params,
        )
        serials = [row[1] for row in sorted(released)]
    await refresh_loaded(db, ids)
    return serials


async def _releasers(
    db: AsyncSession, *, orgs: set[int], action: str, actor: str | None
) -> dict[int, tuple[str, str | None]]:
    """Per org left: (releaseEntityType, releaseEntityId) as the audit trail records them
    (dep_emulator.devices.audit.removed_details), kept on the device (orgDevices' releaser)."""
    found: dict[int, tuple[str, str | None]] = {}
    if not orgs:
        return found
    admins = await db.execute(text("SELECT id, email FROM org WHERE id = ANY(:orgs)"), {"orgs": sorted(orgs)})
    for org_id, email in admins:
        details = audit.removed_details(action, _who(action, actor, email))
        found[int(org_id)] = (details["releaseEntityType"], details["releaseEntityId"])
    return found


def _who(action: str, actor: str | None, admin: str | None) -> audit.Actor:
    if action == "disowned":  # the MDM server did it (DEP /devices/disown); its uuid is `actor`
        return audit.Actor(audit.SYSTEM, actor)
    return audit.actor_for(actor, admin=admin)


async def _audit(
    db: AsyncSession,
    *,
    orgs: set[int],
    action: str,
    actor: str | None,
    now: datetime,
    params: dict[str, Any],
) -> None:
    """DEVICE_REMOVED_FROM_ORG per device still in an org, with the server it leaves, one group."""
    if not orgs:
        return
    admins = await db.execute(text("SELECT id, email FROM org WHERE id = ANY(:orgs)"), {"orgs": sorted(orgs)})
    org_ids, types, actor_ids, details = [], [], [], []
    for org_id, email in admins:
        who = _who(action, actor, email)
        org_ids.append(int(org_id))
        types.append(who.type)
        actor_ids.append(who.id)
        details.append(json.dumps(audit.removed_details(action, who)))
    await db.execute(
        text(
            f"""
            INSERT INTO audit_event (org_id, event_type, occurred_at, group_id, actor_type, actor_id,
                                     serial_number, device_model, server_uuid, server_name, details)
            SELECT p.org_id, :event_type, :now, :group, w.type, w.actor, p.serial_number, p.model,
                   s.server_uuid, s.server_name, CAST(w.details AS jsonb)
            FROM ({_PLAN}) p
            JOIN unnest(CAST(:orgs AS bigint[]), CAST(:types AS text[]), CAST(:actors AS text[]),
                        CAST(:details AS text[])) AS w(org, type, actor, details) ON w.org = p.org_id
            LEFT JOIN mdm_server s ON s.id = p.server_id
            ORDER BY p.ord
            """
        ),
        params
        | {
            "event_type": audit.REMOVED,
            "group": audit.new_group(),
            "orgs": org_ids,
            "types": types,
            "actors": actor_ids,
            "details": details,
        },
    )
