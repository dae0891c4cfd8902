"""Row locks in the one order every feed writer uses: devices (by id), then servers (by id).

`dep_emulator.devices.events.record_events` takes server row locks as it allocates sequence numbers. A
writer that touches several servers (a move: `deleted` on A, `modified` on B) must hold all
of them before the first `record_events` call, or two opposite moves deadlock. These helpers
take the locks up front; the row locks then last until the request's transaction commits.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterable, Iterator, Sequence
from contextlib import asynccontextmanager, suppress
from typing import Any

import asyncpg
from sqlalchemy import func, select, text
from sqlalchemy.ext.asyncio import AsyncSession

from .models import Device

CHUNK = 5000


def usable_serial(value: str) -> bool:
    """False for strings PostgreSQL cannot store or that can never be a serial (NUL, surrogates, huge)."""
    if not value or len(value) > 64 or "\x00" in value:
        return False
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def unique(values: Iterable[str]) -> list[str]:
    """Order-preserving de-duplication."""
    return list(dict.fromkeys(values))


async def lock_device_ids(db: AsyncSession, *, where: str, params: dict[str, Any]) -> list[int]:
    """Lock the devices matching `where` (SQL over `device`), in id order; returns their ids."""
    rows = await db.execute(text(f"SELECT id FROM device WHERE {where} ORDER BY id FOR UPDATE"), params)
    return [row[0] for row in rows]


async def lock_devices_by_serial(
    db: AsyncSession, *, serials: Sequence[str], org_id: int | None = None
) -> list[int]:
    """Lock the devices with these serials (optionally only in one org); returns their ids."""
    usable = [s for s in serials if usable_serial(s)]
    if not usable:
        return []
    if org_id is None:
        return await lock_device_ids(db, where="serial_number = ANY(:serials)", params={"serials": usable})
    return await lock_device_ids(
        db, where="org_id = :org AND serial_number = ANY(:serials)", params={"org": org_id, "serials": usable}
    )


async def lock_servers(db: AsyncSession, *, server_ids: Iterable[int]) -> set[int]:
    """Lock MDM server rows in id order (after the device locks, before any `record_events`).

    Returns the ids locked: a server deleted meanwhile (its row gone once its lock is granted) is
    missing, and the caller must not write rows that refer to it.
    """
    ids = sorted(set(server_ids))
    if not ids:
        return set()
    rows = await db.execute(
        text("SELECT id FROM mdm_server WHERE id = ANY(:ids) ORDER BY id FOR UPDATE"), {"ids": ids}
    )
    return {row[0] for row in rows}


async def servers_of(db: AsyncSession, *, device_ids: Sequence[int]) -> set[int]:
    """The servers these (locked, so stable) devices are assigned to."""
    servers: set[int] = set()
    for chunk in chunks(device_ids):
        rows = await db.execute(
            text("SELECT DISTINCT server_id FROM device WHERE id = ANY(:ids) AND server_id IS NOT NULL"),
            {"ids": list(chunk)},
        )
        servers.update(row[0] for row in rows)
    return servers


def chunks(values: Sequence[int], size: int = CHUNK) -> Iterator[Sequence[int]]:
    for start in range(0, len(values), size):
        yield values[start : start + size]


async def load_devices(db: AsyncSession, *, ids: Sequence[int]) -> list[Device]:
    """The (already locked) devices, freshly read even if the session had them cached."""
    result = await db.execute(
        select(Device)
        .where(Device.id.in_(list(ids)))
        .order_by(Device.id)
        .execution_options(populate_existing=True)
    )
    return list(result.scalars())


async def refresh_loaded(db: AsyncSession, device_ids: Sequence[int]) -> None:
    """Re-read devices this session holds as objects (set-based SQL changed their rows)."""
    wanted = set(device_ids)
    held = [
        obj.id
        for obj in list(db.sync_session.identity_map.values())
        if isinstance(obj, Device) and obj.id in wanted
    ]
    if held:
        await load_devices(db, ids=held)


# Below this many rows the checks cost less than the statements that would skip them (a lock, a
# savepoint, two SETs): a single device added or assigned keeps them.
SKIP_CHECKS_FROM = 1000


@asynccontextmanager
async def references_held(conn: Any, *, org_id: int, rows: int) -> AsyncIterator[bool]:
    """A bulk write whose row references this transaction holds: the per-row key checks skipped.

    PostgreSQL checks each new device, event, history and audit row's foreign keys with a trigger
    query per row and key: in the 100,000-device seed file that was about a quarter of the time
    (issue 14). A bulk write refers only to its org, to servers it has locked (`lock_servers`,
    FOR UPDATE) and to devices it wrote or locked itself, so after one FOR KEY SHARE on the org row
    nothing a check would look for can be deleted before the commit, and the checks are skipped
    with `session_replication_role = replica` (which also disables ON DELETE actions: nothing
    inside may delete). That needs a superuser (the embedded database) or PostgreSQL 15's
    `GRANT SET ON PARAMETER session_replication_role`; without it the checks run as usual.
    Only for `rows` of at least SKIP_CHECKS_FROM devices. Yields whether the checks are skipped;
    the role is back to `origin` when the block ends.
    """
    skipped = False
    if rows >= SKIP_CHECKS_FROM:
        held = await conn.fetchval("SELECT true FROM org WHERE id = $1 FOR KEY SHARE", org_id)
        skipped = bool(held) and await _replica_role(conn)  # org deleted meanwhile: checks fail as usual
    try:
        yield skipped
    finally:
        if skipped:
            # After a failed statement the transaction rolls back (and the SET LOCAL with it);
            # after a cancelled one the connection is reset by the pool.
            with suppress(asyncpg.InFailedSQLTransactionError, asyncpg.InterfaceError):
                await conn.execute("SET LOCAL session_replication_role = origin")


async def _replica_role(conn: Any) -> bool:
    """`SET LOCAL session_replication_role = replica` if allowed (in a savepoint: a refusal must
    not abort the request's transaction)."""
    await conn.execute("SAVEPOINT replica_role")
    try:
        await conn.execute("SET LOCAL session_replication_role = replica")
    except asyncpg.InsufficientPrivilegeError:
        await conn.execute("ROLLBACK TO SAVEPOINT replica_role")
        return False
    await conn.execute("RELEASE SAVEPOINT replica_role")
    return True


async def assigned_count(db: AsyncSession, server_id: int) -> int:
    """How many devices are assigned to the server (a server with any cannot be deleted)."""
    count = await db.scalar(select(func.count()).select_from(Device).where(Device.server_id == server_id))
    return int(count or 0)
