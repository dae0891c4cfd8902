"""Traffic rules in the database: per-org rules, the per-request statements of the middleware.

The middleware runs at most three statements per request, each on a connection of the app's
hot pool (dep_emulator.core.driver: no transaction, so no lock outlives a statement):
1. `resolve`: who is calling (session token hash → auth_session → server → org rules, or
   the OAuth consumer key on /session) and, in the same statement, consume one unit of a
   matching fault script (dep_emulator.faults.service.consume_sql);
2. `admit`, only when the org's rules put the request under a budget: one call of the
   `traffic_admit` SQL function (migration 0003), which refills and takes from every budget
   all-or-nothing and claims a concurrency slot;
3. `finish`, before the response's last byte, only for a request with a slot to release or a
   sync-cycle note: those, its journal row, and every 100th row a cheap prune of the journal
   (every other request's row goes in a group commit: dep_emulator.journal.writer).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime
from functools import cache
from typing import Any

import asyncpg
from sqlalchemy import TextClause, text
from sqlalchemy.ext.asyncio import AsyncSession

from ..clock import service as clock
from ..core import driver
from ..core.config import Settings
from ..faults.service import consume_sql, pending_sql
from ..feed.read import SYNC_PAGE_NAMES, PrefetchedSyncPage, SyncReadAhead, sync_page_select
from ..journal import service as journal_service
from ..journal.service import JournalEntry, insert_journal_sql, prune, prune_due
from ..orgs.models import MdmServer, Org
from ..session.service import FEED_SESSION_COLUMNS, FEED_SESSION_NAMES
from . import abm, report, rules
from .schemas import TrafficReport, TrafficRulesIn, TrafficRulesOut


@dataclass(frozen=True, slots=True)
class CallerContext:
    server_id: int | None
    server_uuid: str | None
    stored_rules: dict[str, Any] | None
    fault_id: int | None
    fault_response: dict[str, Any] | None
    account_id: int | None = None  # the Business Manager API account behind a bearer token
    # The X-ADM-Auth-Session's own row (dep_emulator.session.service.FEED_SESSION_COLUMNS, with server_id and
    # server_uuid), for the feed pages to use instead of reading it again.
    session: dict[str, Any] | None = None
    # The sync page read ahead with the session (dep_emulator.feed.read.PREFETCHED_SYNC_PAGE).
    sync_page: PrefetchedSyncPage | None = None


_RESOLVE = """
WITH srv AS (
    SELECT s.id, s.server_uuid, o.settings -> 'traffic_rules' AS stored_rules{session_columns}
    FROM {source} JOIN org o ON o.id = s.org_id
    WHERE {server_pred}
),
{faults}
SELECT srv.id, srv.server_uuid, srv.stored_rules, fault_fired.fault_id, fault_fired.fault_response,
       NULL::int AS account_id{session_values}{page_values}
FROM (SELECT 1) AS one LEFT JOIN srv ON true LEFT JOIN fault_fired ON true{page_join}
"""

# TextClause objects built once: text() parses its SQL for bind parameters on every call.
_RESOLVE_BY_SESSION = text(
    _RESOLVE.format(
        session_columns=", " + FEED_SESSION_COLUMNS,
        source="auth_session a JOIN mdm_server s ON s.id = a.server_id",
        server_pred="a.token_hash = :token_hash",
        faults=consume_sql(server_expr="SELECT id FROM srv", kind=None),
        session_values="".join(f", srv.{name}" for name in FEED_SESSION_NAMES),
        page_values="",
        page_join="",
    )
)
_RESOLVE_BY_CONSUMER = text(
    _RESOLVE.format(
        session_columns="",
        source="mdm_server s",
        server_pred="s.consumer_key = :consumer_key",
        faults=consume_sql(server_expr="SELECT id FROM srv", kind=None),
        session_values="",
        page_values="",
        page_join="",
    )
)
# The emulator's time for a page read ahead: the request's wall time (:wall) plus the clock's
# offset, as dep_emulator.clock.service.at_offset makes it.
_READ_AHEAD_NOW = (
    f"(CAST(:wall AS timestamptz) + make_interval(secs => coalesce({clock.OFFSET_SCALAR_SQL}, 0)))"
)


@cache
def resolve_with_sync_page_sql(version: int) -> TextClause:
    """The session's resolve and, in the same statement, the sync page its cursor asks for at
    protocol `version` (binds :position, :n, :wall, :f_kind), unless an echo_cursor unit is due
    for the request (`page_echo_pending`: the handler's own statement consumes it). A pure read:
    if the request is then refused, or its cursor fails verification, the page is dropped."""
    page = sync_page_select(version, server="srv.id", now=_READ_AHEAD_NOW)
    pending = pending_sql(server_expr="srv.id", kind="echo_cursor")
    return text(
        _RESOLVE.format(
            session_columns=", " + FEED_SESSION_COLUMNS,
            source="auth_session a JOIN mdm_server s ON s.id = a.server_id",
            server_pred="a.token_hash = :token_hash",
            faults=consume_sql(server_expr="SELECT id FROM srv", kind=None),
            session_values="".join(f", srv.{name}" for name in FEED_SESSION_NAMES),
            page_values="".join(f", sync_page.{name} AS page_{name}" for name in SYNC_PAGE_NAMES)
            + f", {pending} AS page_echo_pending",
            page_join=f"\nLEFT JOIN LATERAL ({page}) sync_page ON srv.id IS NOT NULL",
        )
    )


# A Business Manager API call: the API account of the bearer token and its org's rules; only faults
# not scoped to a server can match.
_RESOLVE_BY_BEARER = text(
    """
WITH acct AS (
    SELECT a.id, o.settings -> 'traffic_rules' AS stored_rules
    FROM abm_access_token t
    JOIN abm_api_account a ON a.id = t.account_id
    JOIN org o ON o.id = a.org_id
    WHERE t.token_hash = :bearer_hash
),
{faults}
SELECT NULL::int, NULL::text, acct.stored_rules, fault_fired.fault_id, fault_fired.fault_response, acct.id
FROM (SELECT 1) AS one LEFT JOIN acct ON true LEFT JOIN fault_fired ON true
""".format(faults=consume_sql(server_expr="SELECT NULL::int", kind=None, templated=True))
)


async def resolve(
    conn: asyncpg.Connection,
    *,
    method: str,
    path: str,
    token_hash: str | None,
    consumer_key: str | None,
    bearer_hash: str | None = None,
    sync_read_ahead: SyncReadAhead | None = None,
    wall: datetime | None = None,
) -> CallerContext:
    """Who calls, and one unit of a matching fault script consumed. `sync_read_ahead` (a sync
    request with a session token): also the page its cursor asks for (`resolve_with_sync_page_sql`),
    in `sync_page` when it may be used: no fault fired, no echo_cursor unit due."""
    params: dict[str, Any]
    sql: TextClause
    if bearer_hash is not None:
        sql, params = _RESOLVE_BY_BEARER, {"bearer_hash": bearer_hash, "f_template": abm.path_template(path)}
    elif consumer_key is not None:
        sql, params = _RESOLVE_BY_CONSUMER, {"consumer_key": consumer_key}
    elif sync_read_ahead is not None:
        sql = resolve_with_sync_page_sql(sync_read_ahead.version)
        params = {
            "token_hash": token_hash,
            "position": sync_read_ahead.position,
            "n": sync_read_ahead.n,
            "wall": wall,
            "f_kind": "echo_cursor",
        }
    else:
        sql, params = _RESOLVE_BY_SESSION, {"token_hash": token_hash}
    row = await driver.fetchrow(conn, sql, {**params, "f_method": method, "f_path": path})
    session = None
    sync_page = None
    if sql is not _RESOLVE_BY_BEARER and sql is not _RESOLVE_BY_CONSUMER and row[0] is not None:
        session = {name: row[name] for name in FEED_SESSION_NAMES} | {
            "server_id": row[0],
            "server_uuid": row[1],
        }
        if sync_read_ahead is not None and row[3] is None and not row["page_echo_pending"]:
            page = {name: row[f"page_{name}"] for name in SYNC_PAGE_NAMES}
            sync_page = PrefetchedSyncPage(server_id=row[0], ask=sync_read_ahead, row=page)
    return CallerContext(
        server_id=row[0],
        server_uuid=row[1],
        stored_rules=row[2],
        fault_id=row[3],
        fault_response=row[4],
        account_id=row[5],
        session=session,
        sync_page=sync_page,
    )


_ADMIT = text(
    "SELECT refused_key, retry_after FROM traffic_admit(:keys, :caps, :pers, :matches, :slot, :slot_max)"
)


async def admit(conn: asyncpg.Connection, *, plan: rules.Plan) -> tuple[str | None, float]:
    """(refused bucket key or None, seconds until it would admit)."""
    row = await driver.fetchrow(
        conn,
        _ADMIT,
        {
            "keys": [b.key for b in plan.buckets],
            "caps": [float(b.capacity) for b in plan.buckets],
            "pers": [float(b.per_seconds) for b in plan.buckets],
            "matches": [b.match for b in plan.buckets],
            "slot": plan.slot_key,
            "slot_max": plan.slot_max,
        },
    )
    return row[0], float(row[1] or 0.0)


async def finish(
    conn: asyncpg.Connection,
    *,
    entry: JournalEntry | None,
    settings: Settings,
    release_key: str | None,
    note_key: str | None,
    note: str | None,
) -> None:
    """The bookkeeping of a finished request in one statement: journal, slot release, cycle note."""
    ctes: list[str] = []
    params: dict[str, Any] = {}
    if release_key is not None:
        ctes.append(
            "released AS (UPDATE traffic_bucket SET in_flight = greatest(in_flight - 1, 0) "
            "WHERE key = :release_key RETURNING 1)"
        )
        params["release_key"] = release_key
    if note_key is not None:
        ctes.append("noted AS (UPDATE traffic_bucket SET note = :note WHERE key = :note_key RETURNING 1)")
        params.update(note_key=note_key, note=note)
    if entry is not None:
        journal_ctes, journal_params = insert_journal_sql(entry)
        ctes.extend(journal_ctes)
        params.update(journal_params)
    if not ctes:
        return
    # One statement per combination of bookkeeping CTEs (a handful), not one per request.
    newest = "(SELECT id FROM journal_row)" if entry is not None else "NULL::bigint"
    journal_id = await driver.fetchval(conn, "WITH " + ",\n".join(ctes) + f" SELECT {newest}", params)
    if entry is not None and prune_due([journal_id]):
        await prune(conn, newest=journal_id, now=entry.wall_at, settings=settings)


# --- control API ------------------------------------------------------------------------


def rules_out(org: Org, settings: Settings) -> TrafficRulesOut:
    stored = (org.settings or {}).get("traffic_rules") or {}
    preset, effective = rules.effective(stored, default_preset=settings.traffic_preset)
    return TrafficRulesOut(
        org_id=str(org.id),
        preset=preset,
        preset_source="org" if stored.get("preset") else "setting",
        refusal_status=stored.get("refusal_status") or settings.traffic_refusal_status,
        overrides=stored.get("overrides") or {},
        effective=effective,
    )


async def put_rules(
    db: AsyncSession, *, org: Org, data: TrafficRulesIn, settings: Settings
) -> TrafficRulesOut:
    """Replace the org's rules (only its `traffic_rules` key of `org.settings`, atomically)."""
    stored = data.stored()
    rules.effective(stored, default_preset=settings.traffic_preset)  # validates the merge
    await db.execute(
        text(
            "UPDATE org SET settings = jsonb_set(coalesce(settings, '{}'::jsonb), '{traffic_rules}', "
            "CAST(:stored AS jsonb)) WHERE id = :id"
        ),
        {"stored": json.dumps(stored), "id": org.id},
    )
    await db.refresh(org)
    return rules_out(org, settings)


async def traffic_report(db: AsyncSession, *, server: MdmServer, settings: Settings) -> TrafficReport:
    """Rules this server's client broke, in plain words, from the journal (issue 5 §4)."""
    org = await db.get(Org, server.org_id)
    stored = ((org.settings if org else None) or {}).get("traffic_rules") or {}
    preset, effective = rules.effective(stored, default_preset=settings.traffic_preset)
    rows = await journal_service.for_server(db, server_uuid=server.server_uuid)
    return TrafficReport(
        server_uuid=server.server_uuid,
        preset=preset,
        requests_examined=len(rows),
        first_request_at=rows[0].emulated_at if rows else None,
        last_request_at=rows[-1].emulated_at if rows else None,
        violations=report.analyse(rows, effective),
    )
