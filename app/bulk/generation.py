"""Bulk load of generated devices with PostgreSQL COPY, inside the request's transaction.

A million devices is a supported org size (issues 3 and 14). Devices are generated in chunks by
a worker process (a thread for small requests: `copy_rows.generated_chunk`), a chunk ahead of
the COPY, so the event loop only moves bytes and other clients keep being served. Generated
into a server, each device is written already assigned (feed_seq from one allocation under the
server's row lock) and its `added` event and history row are `INSERT ... SELECT`ed from it: the
same rows the op_type rules of `dep_emulator.inventory.assignments` give a new assignment, without
updating a million rows a second time. A serial that exists already fails its chunk's COPY on
the unique index (inside a savepoint); every remaining chunk is then only checked, so the 409
names every duplicate, and the caller's exception rolls the whole transaction back.
"""

from __future__ import annotations

import asyncio
import multiprocessing
import os
from collections.abc import AsyncIterator, Callable, Sequence
from concurrent.futures import Executor, Future, ProcessPoolExecutor
from dataclasses import replace
from datetime import datetime
from typing import Any

import asyncpg
from sqlalchemy.ext.asyncio import AsyncSession

from ..devices import audit
from ..devices import events as feed
from ..devices.locking import lock_servers, references_held
from ..orgs.models import MdmServer
from . import copy_rows

COPY_CHUNK = 20_000
# The first chunk is small: nothing overlaps its generation (about 50 µs a device), so the COPY
# starts after a tenth of a second instead of a second; the rest overlap with the COPY before them.
FIRST_CHUNK = 2_000
RETURNED_SERIALS = 1000
# From this many devices the chunks are generated in worker processes (spawning them costs
# about half a second); below it in a thread.
PROCESS_POOL_FROM = 100_000
# The `added` event and the history row of devices written already assigned to server $1 with
# feed_seq $2 .. $2 + $4 - 1 (a new assignment at $3; spec §8.4), from the rows themselves.
ASSIGNED_EVENTS = """
INSERT INTO device_event (server_id, seq, device_id, serial_number, op_type, op_at, snapshot)
SELECT server_id, feed_seq, id, serial_number, 'added', $3, CAST(wire AS jsonb)
FROM device WHERE server_id = $1 AND feed_seq BETWEEN $2 AND $2 + $4 - 1 ORDER BY feed_seq
"""
ASSIGNED_HISTORY = """
INSERT INTO device_assignment (device_id, org_id, action, server_uuid, actor, at)
SELECT id, org_id, 'assigned', $5, $6, $3
FROM device WHERE server_id = $1 AND feed_seq BETWEEN $2 AND $2 + $4 - 1 ORDER BY feed_seq
"""


async def raw_connection(db: AsyncSession) -> Any:
    """The asyncpg connection under the session, in the session's transaction."""
    connection = await db.connection()
    raw = await connection.get_raw_connection()
    return raw.driver_connection


def _workers() -> int:
    """Half the cores (PostgreSQL ingests on the others), at least one, at most four."""
    return max(1, min(4, (os.cpu_count() or 2) // 2))


async def _source(data: bytes) -> AsyncIterator[bytes]:
    yield data


async def copy_generated(
    db: AsyncSession,
    *,
    org_id: int,
    chunk: copy_rows.Chunk,
    server: MdmServer | None,
    on_duplicates: Callable[[Sequence[str]], Exception],
    server_gone: Callable[[str], Exception],
    progress: Callable[[int], None] | None = None,
) -> list[str]:
    """COPY `chunk.count` generated devices (assigned to `server` if given) with their audit trail,
    feed events and history; returns the first 1000 serials. Raises on existing serials."""
    await db.flush()
    conn = await raw_connection(db)
    total = chunk.count
    if server is not None:
        if server.id not in await lock_servers(db, server_ids=[server.id]):
            raise server_gone(server.server_uuid)
        first = (await feed.allocate(db, {server.id: total}))[server.id]
        chunk = replace(
            chunk, server_id=server.id, server_label=(server.server_uuid, server.server_name), first_seq=first
        )
    parts = [
        replace(chunk, count=count, start=chunk.start + done, first_seq=chunk.first_seq + done)
        for done, count in chunk_bounds(total)
    ]
    executor: Executor | None = None
    if total >= PROCESS_POOL_FROM:
        executor = ProcessPoolExecutor(_workers(), mp_context=multiprocessing.get_context("spawn"))
    loop = asyncio.get_running_loop()
    pending: list[asyncio.Future[copy_rows.ChunkRows]] = []

    def submit(part: copy_rows.Chunk) -> None:
        if executor is not None:
            future: Future[copy_rows.ChunkRows] = executor.submit(copy_rows.generated_chunk, part)
            pending.append(asyncio.wrap_future(future))
        else:
            pending.append(asyncio.ensure_future(asyncio.to_thread(copy_rows.generated_chunk, part)))

    columns = copy_rows.ASSIGNED_COLUMNS if server is not None else copy_rows.DEVICE_COLUMNS
    first_serials: list[str] = []
    clashes: list[str] = []
    try:
        ahead = 2 * _workers() if executor is not None else 1
        for part in parts[:ahead]:
            submit(part)
        async with references_held(conn, org_id=org_id, rows=total):
            for i, part in enumerate(parts):
                rows = await pending[i]
                if i + ahead < len(parts):
                    submit(parts[i + ahead])
                pending[i] = loop.create_future()  # let the chunk's bytes go
                if len(first_serials) < RETURNED_SERIALS:
                    first_serials += rows.serials[: RETURNED_SERIALS - len(first_serials)]
                if clashes or not await _copy_chunk(conn, rows, columns):
                    clashes += await _existing(conn, rows.serials)
                    continue
                if server is not None:
                    args = (server.id, part.first_seq, part.now, part.count)
                    await conn.execute(ASSIGNED_EVENTS, *args)
                    await conn.execute(ASSIGNED_HISTORY, *args, server.server_uuid, part.assigned_by)
                if progress is not None:
                    progress(part.start - chunk.start + part.count)
    finally:
        for future in pending:
            future.cancel()
        if executor is not None:
            executor.shutdown(wait=False, cancel_futures=True)
    if clashes:
        raise on_duplicates(clashes)
    return first_serials


def chunk_bounds(total: int) -> list[tuple[int, int]]:
    """(offset, count) of each chunk of `total` devices: FIRST_CHUNK, then COPY_CHUNK each."""
    bounds, done = [], 0
    while done < total:
        count = min(FIRST_CHUNK if done == 0 else COPY_CHUNK, total - done)
        bounds.append((done, count))
        done += count
    return bounds


async def _copy_chunk(conn: Any, rows: copy_rows.ChunkRows, columns: Sequence[str]) -> bool:
    """COPY one chunk's devices and audit rows; False (nothing written) if a serial exists."""
    await conn.execute("SAVEPOINT bulk_chunk")
    try:
        await conn.copy_to_table("device", source=_source(rows.devices), columns=list(columns))
    except asyncpg.UniqueViolationError:
        await conn.execute("ROLLBACK TO SAVEPOINT bulk_chunk")
        return False
    await conn.execute("RELEASE SAVEPOINT bulk_chunk")
    await conn.copy_to_table("audit_event", source=_source(rows.audit), columns=list(copy_rows.AUDIT_COLUMNS))
    return True


async def _existing(conn: Any, serials: list[str]) -> list[str]:
    rows = await conn.fetch("SELECT serial_number FROM device WHERE serial_number = ANY($1::text[])", serials)
    return [row[0] for row in rows]


def chunk_of(
    *,
    count: int,
    seed: int,
    families: Sequence[str] | None,
    order_number: str | None,
    start: int,
    now: datetime,
    org_id: int,
    admin: str,
    assigned_by: str | None,
    os_version: str | None = None,
) -> copy_rows.Chunk:
    """The whole request as one chunk (copy_generated splits it): added by the org's administrator
    `admin`, assigned (if at all) by `assigned_by`, as `audit.actor_for` attributes them."""
    added, assigner = audit.actor_for(None, admin=admin), audit.actor_for(assigned_by, admin=admin)
    trail = copy_rows.Audit(
        group=audit.new_group(),
        actor_type=added.type,
        actor_id=added.id,
        added=audit.ADDED,
        assigned=audit.ASSIGNED,
        assigned_group=audit.new_group(),
        assigned_actor_type=assigner.type,
        assigned_actor_id=assigner.id,
    )
    return copy_rows.Chunk(
        count=count,
        seed=seed,
        families=tuple(families) if families is not None else None,
        order_number=order_number,
        start=start,
        now=now,
        org_id=org_id,
        audit=trail,
        assigned_by=assigned_by or admin,
        os_version=os_version,
    )
