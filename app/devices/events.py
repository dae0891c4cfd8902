"""Appending to MDM servers' device feeds without ever letting sync skip an event.

A plain `bigserial` commits out of order: a reader can see event 11 before event 10 commits
and then move its cursor past 10 forever. Here each server's sequence numbers are allocated
by `UPDATE mdm_server SET feed_seq = feed_seq + n`, which holds that server's row lock until
the transaction commits; the next writer for the same server waits, so one server's events
commit strictly in sequence order and "seq > cursor" never misses one.

Lock order, to stay free of deadlocks: device rows first (by id), then server rows (by id).

Two writers use this allocation: `record_events` (events built in Python, for a few devices)
and set-based writers (`dep_emulator.bulk.assign`: a million devices in a few statements),
which call `allocate` once and then `INSERT ... SELECT` the events with seqs in the ranges
it returned, snapshots from the devices' stored wire text (`wire_sql.device_object`).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import insert, text
from sqlalchemy.ext.asyncio import AsyncSession

from . import wire
from .models import Device, DeviceEvent

ADDED, MODIFIED, DELETED = "added", "modified", "deleted"
OP_TYPES = (ADDED, MODIFIED, DELETED)
INSERT_CHUNK = 5000


@dataclass(frozen=True, slots=True)
class FeedEvent:
    server_id: int
    device: Device
    op_type: str
    extra: dict[str, Any] = field(default_factory=dict)  # e.g. {"released_by_replacement": True}


async def allocate(db: AsyncSession, counts: dict[int, int]) -> dict[int, int]:
    """Reserve `counts[server]` sequence numbers on each server in one statement; first seq of each.

    The UPDATE takes (or, for callers that locked servers up front, already holds) each
    server's row lock until commit, which is what keeps one server's events committing in
    sequence order.
    """
    wanted = {server: n for server, n in counts.items() if n > 0}
    if not wanted:
        return {}
    servers = sorted(wanted)
    if len(servers) > 1:  # one UPDATE locks its rows in no defined order: take them by id first
        await db.execute(
            text("SELECT id FROM mdm_server WHERE id = ANY(:ids) ORDER BY id FOR UPDATE"), {"ids": servers}
        )
    rows = await db.execute(
        text(
            "UPDATE mdm_server m SET feed_seq = m.feed_seq + c.n "
            "FROM unnest(CAST(:servers AS int[]), CAST(:counts AS bigint[])) AS c(id, n) "
            "WHERE m.id = c.id RETURNING m.id, m.feed_seq"
        ),
        {"servers": servers, "counts": [wanted[s] for s in servers]},
    )
    last = {int(row[0]): int(row[1]) for row in rows}
    missing = set(servers) - set(last)
    if missing:
        raise LookupError(f"no MDM server with id {sorted(missing)}")
    return {server: last[server] - wanted[server] + 1 for server in servers}


async def record_events(db: AsyncSession, events: Sequence[FeedEvent], *, at: datetime) -> None:
    """Append `events` (in the order given) to their servers' feeds, stamped `op_date = at`.

    Each event stores a snapshot of the device's wire fields as they are now, so call this
    after changing the device. A device whose current server is the event's server gets
    its `feed_seq` moved to the event, which is what orders a later fetch.
    """
    by_server: dict[int, list[FeedEvent]] = defaultdict(list)
    for event in events:
        if event.op_type not in OP_TYPES:
            raise ValueError(f"unknown op_type {event.op_type!r}")
        by_server[event.server_id].append(event)

    firsts = await allocate(db, {server: len(items) for server, items in by_server.items()})
    rows: list[dict[str, Any]] = []
    for server_id in sorted(by_server):
        server_events = by_server[server_id]
        first = firsts[server_id]
        for seq, event in enumerate(server_events, start=first):
            snapshot = wire.device_fields(event.device) | event.extra
            rows.append(
                {
                    "server_id": server_id,
                    "seq": seq,
                    "device_id": event.device.id,
                    "serial_number": event.device.serial_number,
                    "op_type": event.op_type,
                    "op_at": at,
                    "snapshot": snapshot,
                }
            )
            if event.device.server_id == server_id:
                event.device.feed_seq = seq
    for start in range(0, len(rows), INSERT_CHUNK):
        await db.execute(insert(DeviceEvent), rows[start : start + INSERT_CHUNK])
    await db.flush()
