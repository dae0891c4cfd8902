"""MDM migration deadlines of many devices at once (Business Manager activities, abm-api.md §1.5).

ASSIGN_WITH_DEADLINE, UPDATE_DEADLINE and CANCEL_MIGRATION change one attribute of up to thousands
of devices. Per device that was a `modify_device` call (an ORM load, a seq allocation, an event
built in Python); here it is three statements whatever the count, with the same outcome: the
deadline and `updated_at` set, and on the server of each assigned device a `modified` event whose
snapshot is the device after the change (its stored `wire`, as `bulk.assign` takes it), in the
order the devices were given, `feed_seq` moved to it (spec §8.4, as `feed.record_events` does).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from datetime import datetime
from typing import Protocol

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession

from ..devices import events as feed
from ..devices.locking import refresh_loaded


class Placed(Protocol):
    """A locked device's id and server: a `Device`, or the lighter `service.LockedDevice`."""

    @property
    def id(self) -> int: ...
    @property
    def server_id(self) -> int | None: ...

UPDATE = """
UPDATE device d
SET mdm_migration_deadline = :deadline, updated_at = :now,
    feed_seq = CASE WHEN p.first IS NULL THEN d.feed_seq ELSE p.first + p.rank - 1 END
FROM (
    SELECT u.id, f.first, row_number() OVER (PARTITION BY dd.server_id ORDER BY u.ord) AS rank
    FROM unnest(CAST(:ids AS bigint[])) WITH ORDINALITY AS u(id, ord)
    JOIN device dd ON dd.id = u.id
    LEFT JOIN unnest(CAST(:servers AS int[]), CAST(:firsts AS bigint[])) AS f(server_id, first)
        ON f.server_id = dd.server_id
) AS p
WHERE d.id = p.id
"""
EVENTS = """
INSERT INTO device_event (server_id, seq, device_id, serial_number, op_type, op_at, snapshot)
SELECT d.server_id, d.feed_seq, d.id, d.serial_number, :op_type, :now, CAST(d.wire AS jsonb)
FROM device d
WHERE d.id = ANY(CAST(:ids AS bigint[])) AND d.server_id IS NOT NULL
ORDER BY d.server_id, d.feed_seq
"""


async def set_migration_deadline(
    db: AsyncSession, *, devices: Sequence[Placed], deadline: datetime | None, now: datetime
) -> None:
    """Set (None: clear) the deadline of these devices, which this transaction has locked."""
    if not devices:
        return
    await db.flush()
    ids = [d.id for d in devices]
    counts: Counter[int] = Counter(d.server_id for d in devices if d.server_id is not None)
    firsts = await feed.allocate(db, dict(counts))  # after the devices' locks: the feed's lock order
    servers = sorted(firsts)
    await db.execute(
        text(UPDATE),
        {
            "ids": ids,
            "servers": servers,
            "firsts": [firsts[s] for s in servers],
            "deadline": deadline,
            "now": now,
        },
    )
    await db.execute(text(EVENTS), {"ids": ids, "op_type": feed.MODIFIED, "now": now})
    await refresh_loaded(db, ids)  # objects the session holds, as the rows now are
