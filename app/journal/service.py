"""The request journal: what each request to an Apple surface was, for contract assertions.

Rows are written by the traffic middleware before the last byte of the response goes out, so
a journal read that begins after a client got its answer sees that request, on any worker or
replica. Concurrent requests share one statement (dep_emulator.journal.writer: a group commit);
a request under a concurrency slot or a sync-cycle note writes its row in its own bookkeeping
statement (dep_emulator.traffic.service.finish). Retention: every 100th row prunes what is older than
DEPEMU_JOURNAL_RETENTION_HOURS (wall clock) or beyond DEPEMU_JOURNAL_MAX_ROWS, in a statement
of its own planned for its values (`prune`), so pruning stays cheap.

Never stored: Authorization headers, session tokens, OAuth values (a query string keeps its
parameter names but not the values of secret ones: `redact_query`), response bodies of
successful calls. Only a summary (cursor, limit, number of devices) and, for errors, the
error body (truncated).
"""

from __future__ import annotations

import json
import re
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any
from urllib.parse import parse_qsl, urlencode

from sqlalchemy import delete, func, select, text
from sqlalchemy.dialects import postgresql
from sqlalchemy.ext.asyncio import AsyncSession

from ..core import driver
from ..core.config import Settings
from ..core.errors import ControlError
from .models import RequestJournal

PRUNE_EVERY = 100
# Apple's ABM token example sends the client assertion in the query string (abm-api.md §1.2).
_SECRET_PARAM = re.compile(r"assertion|secret|token|password|signature|key|code", re.IGNORECASE)
REDACTED = "[redacted]"


def redact_query(query: str) -> str:
    """The query string with the values of credential-like parameters replaced."""
    pairs = parse_qsl(query, keep_blank_values=True)
    return urlencode([(k, REDACTED if _SECRET_PARAM.search(k) else v) for k, v in pairs], safe="[]")


@dataclass(slots=True)
class JournalEntry:
    wall_at: datetime
    server_uuid: str | None
    client_addr: str | None
    method: str
    path: str
    query: str | None
    protocol_version: str | None
    user_agent: str | None
    status: int
    error_code: str | None
    latency_ms: float
    cursor: str | None
    limit: int | None
    device_count: int | None
    response_cursor: str | None
    more_to_follow: bool | None
    retry_after: str | None
    fault_id: int | None
    fault: str | None
    rule: str | None
    withheld: str | None = None  # sync: the events the lost-events fault withheld (JSON text)


_COLUMNS = [name for name in JournalEntry.__slots__ if name != "wall_at"]


_JOURNAL_CTES = (
    "journal_row AS (INSERT INTO request_journal (wall_at, emulated_at, "
    + ", ".join(f'"{c}"' for c in _COLUMNS)
    + ") VALUES (:j_wall_at, CAST(:j_wall_at AS timestamptz) + make_interval(secs => coalesce("
    "(SELECT offset_seconds FROM emulator_clock WHERE id = 1), 0)), "
    + ", ".join(f":j_{c}" for c in _COLUMNS)
    + ") RETURNING id)",
)
_PARAMS = tuple((f"j_{name}", name) for name in JournalEntry.__slots__)


def insert_journal_sql(entry: JournalEntry) -> tuple[list[str], dict[str, Any]]:
    """The CTE `journal_row` inserting `entry` (emulator time computed in SQL), returning its id.

    Built once; per request only the parameters are gathered (runs on every Apple call)."""
    return list(_JOURNAL_CTES), {key: getattr(entry, name) for key, name in _PARAMS}


# Custom plans: a prune deletes nothing most of the time (index probes) and a large range now and
# then (a scan), and only the values tell which. Under the hot pool's generic plans the one
# statement of both rules was a sequential scan of the whole journal (up to
# DEPEMU_JOURNAL_MAX_ROWS rows) on every 100th request: most of PostgreSQL's CPU per DEP call.
PRUNE_PLAN = "SET LOCAL plan_cache_mode = force_custom_plan"
_PRUNE = text(
    "DELETE FROM request_journal "
    "WHERE wall_at < CAST(:now AS timestamptz) - make_interval(secs => :retention_seconds) "
    "OR id <= CAST(:newest AS bigint) - CAST(:max_rows AS bigint)"
)


def prune_due(newest_ids: Sequence[int]) -> bool:
    return any(i % PRUNE_EVERY == 0 for i in newest_ids)


async def prune(conn: Any, *, newest: int, now: datetime, settings: Settings) -> None:
    """Delete what is beyond the retention or the row limit (after a row whose id is due)."""
    async with conn.transaction():
        await conn.execute(PRUNE_PLAN)
        await driver.execute(
            conn,
            _PRUNE,
            {
                "now": now,
                "retention_seconds": float(settings.journal_retention_hours) * 3600,
                "newest": newest,
                "max_rows": settings.journal_max_rows,
            },
        )


_DIALECT = postgresql.dialect()  # type: ignore[no-untyped-call]
_COLUMN_TYPES = {c.name: c.type.compile(dialect=_DIALECT) for c in RequestJournal.__table__.c}
_ALL = JournalEntry.__slots__
# Many entries in one statement (dep_emulator.journal.writer): one array per column, unnested in the
# order given, so ids follow the order the entries were queued in. Returns the ids.
INSERT_BATCH = text(
    "INSERT INTO request_journal (wall_at, emulated_at, "
    + ", ".join(f'"{c}"' for c in _COLUMNS)
    + ") SELECT r.wall_at, r.wall_at + make_interval(secs => coalesce("
    "(SELECT offset_seconds FROM emulator_clock WHERE id = 1), 0)), "
    + ", ".join(f'r."{c}"' for c in _COLUMNS)
    + " FROM unnest("
    + ", ".join(f"CAST(:b_{c} AS {_COLUMN_TYPES[c]}[])" for c in _ALL)
    + ") WITH ORDINALITY AS r("
    + ", ".join(f'"{c}"' for c in _ALL)
    + ", n) ORDER BY r.n RETURNING id"
)


def insert_batch_params(entries: Sequence[JournalEntry]) -> dict[str, Any]:
    """The parameters of `INSERT_BATCH` for `entries`."""
    return {f"b_{c}": [getattr(e, c) for e in entries] for c in _ALL}


async def insert_batch(conn: Any, entries: Sequence[JournalEntry], *, settings: Settings) -> None:
    """Insert `entries` in one statement, then prune if one of their ids is due (as a single row does)."""
    ids = [row[0] for row in await driver.fetch(conn, INSERT_BATCH, insert_batch_params(entries))]
    if prune_due(ids):
        await prune(conn, newest=max(ids), now=max(e.wall_at for e in entries), settings=settings)


def _cursor_id(cursor: str | None) -> int | None:
    if cursor is None:
        return None
    if not cursor.isdigit() or len(cursor) > 18:
        raise ControlError(422, "validation_error", "cursor must be a next_cursor this endpoint returned")
    return int(cursor)


async def query(
    db: AsyncSession,
    *,
    server_uuid: str | None = None,
    server_uuids: Sequence[str] | None = None,
    endpoint: str | None = None,
    path: str | None = None,
    status: int | None = None,
    cursor_value: str | None = None,
    since: datetime | None = None,
    until: datetime | None = None,
    after: str | None = None,
    limit: int = 100,
    newest_first: bool = False,
) -> tuple[list[RequestJournal], str | None]:
    """Entries oldest first (or newest first), emulator-clock `since`/`until`, keyset-paginated on id."""
    order = RequestJournal.id.desc() if newest_first else RequestJournal.id
    stmt = select(RequestJournal).order_by(order).limit(limit + 1)
    if server_uuid is not None:
        stmt = stmt.where(RequestJournal.server_uuid == server_uuid.upper())
    if server_uuids is not None:  # one org's servers (the console's journal page)
        stmt = stmt.where(RequestJournal.server_uuid.in_(list(server_uuids)))
    if endpoint is not None:
        method, _, endpoint_path = " ".join(endpoint.split()).partition(" ")
        if not endpoint_path:
            raise ControlError(422, "validation_error", 'endpoint must read "METHOD /path"')
        stmt = stmt.where(RequestJournal.method == method.upper(), RequestJournal.path == endpoint_path)
    if path is not None:
        stmt = stmt.where(RequestJournal.path == path)
    if status is not None:
        stmt = stmt.where(RequestJournal.status == status)
    if cursor_value is not None:
        stmt = stmt.where(RequestJournal.cursor == cursor_value)
    if since is not None:
        stmt = stmt.where(RequestJournal.emulated_at >= since)
    if until is not None:
        stmt = stmt.where(RequestJournal.emulated_at < until)
    after_id = _cursor_id(after)
    if after_id is not None:
        stmt = stmt.where(RequestJournal.id < after_id if newest_first else RequestJournal.id > after_id)
    rows = list((await db.execute(stmt)).scalars())
    next_cursor = str(rows[limit - 1].id) if len(rows) > limit else None
    return rows[:limit], next_cursor


async def for_server(db: AsyncSession, *, server_uuid: str) -> list[RequestJournal]:
    stmt = select(RequestJournal).where(RequestJournal.server_uuid == server_uuid).order_by(RequestJournal.id)
    return list((await db.execute(stmt)).scalars())


async def clear(db: AsyncSession) -> None:
    await db.execute(delete(RequestJournal))


async def last_request_at(
    db: AsyncSession, *, server_uuids: Sequence[str], path: str
) -> dict[str, datetime]:
    """When each server last called `path` (emulator clock), from the journal."""
    if not server_uuids:
        return {}
    rows = await db.execute(
        select(RequestJournal.server_uuid, func.max(RequestJournal.emulated_at))
        .where(RequestJournal.server_uuid.in_(list(server_uuids)), RequestJournal.path == path)
        .group_by(RequestJournal.server_uuid)
    )
    return {str(row[0]): row[1] for row in rows}


async def withheld_events(db: AsyncSession, *, serial: str, limit: int = 200) -> dict[int, int]:
    """The device's feed events that sync pages left out for the lost-events fault (observed F4),
    as the journal kept them: event seq → the journal entry of that sync (its newest `limit` entries
    that withheld anything of this serial)."""
    needle = f'"serial_number": {json.dumps(serial)}'
    rows = await db.execute(
        select(RequestJournal.id, RequestJournal.withheld)
        .where(
            RequestJournal.withheld.is_not(None),
            RequestJournal.withheld.contains(needle, autoescape=True),
        )
        .order_by(RequestJournal.id.desc())
        .limit(limit)
    )
    marked: dict[int, int] = {}
    for entry_id, withheld in rows:
        for event in json.loads(withheld or "[]"):
            if event["serial_number"] == serial:
                marked.setdefault(int(event["seq"]), int(entry_id))
    return marked
