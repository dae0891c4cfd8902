"""The read side of Apple's device feed: fetch, sync, details, replacement details (spec §6.2–§6.7, §8).

Fetch is a snapshot without server-side state: the first request notes the server's feed
sequence (`horizon`); pages are keyset reads of the server's devices with
`position < feed_seq <= horizon`, in order of their last event (spec §8.2, "chronologically by
the last operation"). A device changed after the snapshot gets a `feed_seq` above the horizon,
so it leaves the fetch, and its event is above the horizon too, so the sync that starts at the
horizon (the last page's cursor) delivers it: nothing changed mid-fetch is lost.
Both reads cost one index range scan whatever the position (index on (server_id, feed_seq) and
the primary key (server_id, seq)).
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC
from functools import cache
from typing import Any

import asyncpg
from sqlalchemy import TextClause, select, text
from sqlalchemy.ext.asyncio import AsyncSession

from ..clock.service import isoformat
from ..core import driver, signing_key
from ..core.config import Settings
from ..core.errors import DepError
from ..devices import locking
from ..devices.models import DEVICE_WIRE_ARGUMENTS, Device
from ..faults import service as faults
from ..orgs.models import MdmServer, Org
from ..orgs.settings import org_setting
from ..profiles.throttle import visible_in_sync_sql
from ..session.service import FeedCaller
from . import cursors, delay, lost, wire_sql
from .cursors import Cursor

DAY_MS = 86_400_000
SYNC_ENDPOINT = "POST /devices/sync"
# The cursor's position as a sub-select, so the planner cannot see its value. Readers are at the
# tail of the feed, which is past the column statistics until the next ANALYZE; a visible value
# there is estimated at a few rows, and a page could be planned as a scan and sort of every
# event after it (tens of milliseconds after a large assignment) instead of a keyset read.
AFTER_POSITION = "(SELECT CAST(:position AS bigint))"


@cache
def fetch_page_sql(version: int) -> TextClause:
    """One keyset page of the fetch snapshot, as JSON text built by PostgreSQL (one row back).

    `committed` is the server's feed sequence (dep_emulator.devices.events), `horizon` the snapshot's
    (`:horizon`, or `committed` when a fetch starts); `devices` is the comma-joined JSON objects
    of the first `:n` devices in feed order, `last_seq` the last one's position, and `more`
    whether the snapshot holds another after it (more_to_follow).
    """
    if wire_sql.gates(version):  # built field by field from the columns it is made of
        device, columns = wire_sql.device_text("d", version), f"feed_seq, {DEVICE_WIRE_ARGUMENTS}"
    else:  # the latest protocol: the device's stored wire text (migration 0010), as it is
        device, columns = "d.wire", "feed_seq, wire"
    # One ordered aggregate over the LIMIT, in the order the rows arrive, and a probe for one more
    # row: no window function, no sort. The probe is an ordered LIMIT 1, not EXISTS: PostgreSQL
    # strips ORDER BY and LIMIT inside EXISTS, and its generic plan then was a sequential scan
    # (cheap to the first of "a third of the rows"), which on the last page read the whole table.
    # A new fetch's horizon: the feed as released (observed delay, dep_emulator.feed.delay).
    released = delay.released_until_sql(server=":server", now=":now", committed="feed_seq")
    return text(f"""
    WITH bounds AS (
        SELECT feed_seq AS committed, coalesce(CAST(:horizon AS bigint), {released}) AS horizon
        FROM mdm_server WHERE id = :server
    )
    SELECT (SELECT committed FROM bounds) AS committed, (SELECT horizon FROM bounds) AS horizon,
           page.last_seq, page.devices,
           (SELECT feed_seq FROM device
            WHERE server_id = :server AND feed_seq > page.last_seq
              AND feed_seq <= (SELECT horizon FROM bounds)
            ORDER BY feed_seq LIMIT 1) IS NOT NULL AS more
    FROM (
        SELECT max(feed_seq) AS last_seq, string_agg({device}, ',' ORDER BY feed_seq) AS devices
        FROM (
            SELECT {columns} FROM device
            WHERE server_id = :server AND feed_seq > {AFTER_POSITION}
              AND feed_seq <= (SELECT horizon FROM bounds)
            ORDER BY feed_seq LIMIT :n
        ) d
    ) page""")


def sync_page_select(version: int, *, server: str, now: str) -> str:
    """One page of a server's events after a position, as JSON text built by PostgreSQL: a SELECT
    of `committed`, `last_seq`, `devices`, `last_at` and `more` (one row), binding :position and
    :n. `server` and `now` are SQL expressions of the caller's (constant fragments: a bound
    parameter, or a column of the statement it is part of).

    Devices in an assignment cooldown are left out (dep_emulator.profiles.throttle, spec §12.2).
    With the org's `feed_delay_seconds`, the page stops before the first event held back
    (`held_from`, dep_emulator.feed.delay).
    """
    if wire_sql.gates(version):
        # The snapshot's text with op_type and op_date spliced in before its closing brace: far
        # cheaper than `jsonb || jsonb_build_object(...)` per row (snapshots are never empty;
        # op_type is one of feed.OP_TYPES, so it needs no escaping).
        column = "e.snapshot"
        event = (
            f"left(({wire_sql.gated_snapshot('e.snapshot', version)})::text, -1) || ', \"op_type\": ' "
            f"|| '\"' || e.op_type || '\", \"op_date\": \"' || {wire_sql.time_text('e.op_at')} || '\"}}'"
        )
    else:  # the latest protocol: the event's stored wire text (migration 0009), as it is
        column = event = "e.wire"
    visible = visible_in_sync_sql(now)
    held_from = delay.held_from_sql(server=server, now=now, after=AFTER_POSITION)
    released = "(held.held_from IS NULL OR e.seq < held.held_from)"
    sent = lost.sent_sql("held")  # the lost-events fault (dep_emulator.feed.lost)
    # `held` is read once (OFFSET 0 keeps PostgreSQL from copying its sub-selects into every use).
    # The server's committed feed sequence is read in the same snapshot as the page: every event up
    # to it is visible (dep_emulator.devices.events). As in fetch: one ordered aggregate in arrival
    # order and an ordered probe for one more event.
    return f"""
    SELECT (SELECT feed_seq FROM mdm_server WHERE id = {server}) AS committed,
           page.last_seq, page.devices,
           (SELECT op_at FROM device_event WHERE server_id = {server} AND seq = page.last_seq) AS last_at,
           (SELECT seq FROM device_event e
            WHERE server_id = {server} AND seq > page.last_seq AND {visible} AND {released} AND {sent}
            ORDER BY seq LIMIT 1) IS NOT NULL AS more,
           held.held_from, held.lost_on
    FROM (SELECT {held_from} AS held_from, l.* FROM {lost.fault_sql(server)} OFFSET 0) held
    CROSS JOIN LATERAL (
        SELECT max(seq) AS last_seq, string_agg({event}, ',' ORDER BY seq) AS devices
        FROM (
            SELECT seq, op_type, op_at, {column} FROM device_event e
            WHERE server_id = {server} AND seq > {AFTER_POSITION} AND {visible} AND {released} AND {sent}
            ORDER BY seq LIMIT :n
        ) e
    ) page"""


@cache
def sync_page_sql(version: int) -> TextClause:
    """The sync page (`sync_page_select`) of server :server at time :now, consuming a scripted
    echo_cursor fault in the same statement (dep_emulator.faults): a failed request rolls the
    consumption back with everything else."""
    return text(f"""
    WITH {faults.consume_sql(server_expr=":server", kind="echo_cursor")}
    SELECT (SELECT fault_id FROM fault_fired) AS echo_fault_id, sync_page.*
    FROM ({sync_page_select(version, server=":server", now=":now")}) sync_page""")


# The sync page read ahead by the traffic middleware's statement (dep_emulator.traffic.service), in
# the request state, for the handler to use instead of reading it again (issue 15: one round trip).
PREFETCHED_SYNC_PAGE = "prefetched_sync_page"
SYNC_PAGE_NAMES = ("committed", "last_seq", "devices", "last_at", "more", "held_from", "lost_on")


@dataclass(frozen=True, slots=True)
class SyncReadAhead:
    """The page a sync request's cursor asks for, read from the cursor before it is verified:
    the middleware reads it with the caller, the handler takes it only if the verified request
    asks for the very same page (`sync`). Nothing is consumed by reading it."""

    position: int
    n: int
    version: int


@dataclass(frozen=True, slots=True)
class PrefetchedSyncPage:
    server_id: int
    ask: SyncReadAhead
    row: dict[str, Any]  # SYNC_PAGE_NAMES


def sync_read_ahead(
    cursor: str | None, limit: int | None, version: int, settings: Settings
) -> SyncReadAhead | None:
    """What to read ahead for a sync body's `cursor` and `limit` at protocol `version`: None when
    the cursor is not shaped like a sync position (the request is refused before any page)."""
    peeked = cursors.peek(cursor)
    if peeked is None or peeked.fetching:
        return None
    return SyncReadAhead(position=peeked.position, n=clamp_limit(limit, settings), version=version)


@dataclass(frozen=True, slots=True)
class FeedPage:
    """A fetch or sync page whose `devices` are already JSON (objects joined by commas)."""

    cursor: str
    fetched_until: str
    more_to_follow: bool
    devices_json: str
    lag: int | None = None  # sync only: events on the feed the client has not received yet
    echo_fault_id: int | None = None  # sync only: the echo_cursor fault unit this page consumed
    withheld: str | None = None  # sync only: events the lost-events fault left out (dep_emulator.feed.lost)

    def render(self) -> bytes:
        """The response body; `cursor` first so the traffic journal finds it at once."""
        head = (
            f'{{"cursor":{json.dumps(self.cursor)},"fetched_until":"{self.fetched_until}",'
            f'"more_to_follow":{"true" if self.more_to_follow else "false"},"devices":['
        )
        return f"{head}{self.devices_json}]}}".encode()

    def as_dict(self) -> dict[str, Any]:
        """The page as Python values (tests and tools; the endpoints send `render()`)."""
        parsed: dict[str, Any] = json.loads(self.render())
        return parsed


def clamp_limit(limit: int | None, settings: Settings) -> int:
    """Default when absent; out-of-range values are clamped to [1, max] (spec §8.5, [EMU])."""
    if limit is None:
        return settings.fetch_default_limit
    return max(1, min(limit, settings.fetch_max_limit))


def _verified(caller: FeedCaller, value: object, settings: Settings) -> Cursor:
    """The cursor, if we issued it for this server and it has not expired (spec §8.6).

    Its position is checked against the server's feed by the page statement (`_within`).
    """
    try:
        cursor = cursors.decode(caller.cursor_key, value)
    except cursors.BadCursor:
        raise DepError("INVALID_CURSOR") from None
    if cursor.server_id != caller.server_id:
        raise DepError("INVALID_CURSOR")  # another server's cursor (spec §8.6)
    if cursors.to_ms(caller.now) - cursor.issued_ms > settings.cursor_max_age_days * DAY_MS:
        raise DepError("EXPIRED_CURSOR")
    return cursor


def _within(position: int, committed: int | None) -> int:
    """The server's committed sequence; INVALID_CURSOR for a position beyond it (not our feed)."""
    if position > (committed or 0):
        raise DepError("INVALID_CURSOR")
    return committed or 0


async def _encode(conn: asyncpg.Connection, caller: FeedCaller, cursor: Cursor) -> str:
    key = caller.cursor_key or await signing_key.ensure_key(conn)
    return cursors.encode(key, cursor)


async def fetch(
    conn: asyncpg.Connection,
    *,
    caller: FeedCaller,
    version: int,
    settings: Settings,
    cursor: object,
    limit: int | None,
) -> FeedPage:
    """`POST /server/devices` (spec §6.2): one page of the snapshot taken by the first request."""
    now = caller.now
    n = clamp_limit(limit, settings)
    horizon: int | None
    if cursor is None or cursor == "":  # absent, null and "" all start a new fetch (spec §6.2)
        position, horizon, snapshot_ms = 0, None, cursors.to_ms(now)  # horizon: the feed as it is now
    else:
        previous = _verified(caller, cursor, settings)
        if not previous.fetching:  # the last page's cursor, or a sync cursor (spec §8.1 step 2)
            raise DepError("EXHAUSTED_CURSOR")
        position, horizon, snapshot_ms = previous.position, previous.horizon, previous.snapshot_ms
    page = await driver.fetchrow(
        conn,
        fetch_page_sql(version),
        {"server": caller.server_id, "position": position, "horizon": horizon, "n": n, "now": now},
    )
    _within(position, page["committed"])
    horizon = int(page["horizon"] or 0)
    more = bool(page["more"])
    server_id = caller.server_id
    if more:
        next_cursor = Cursor(
            server_id, True, page["last_seq"], horizon, n, snapshot_ms, snapshot_ms, cursors.to_ms(now)
        )
    else:  # the hand-off to sync: events after the snapshot (spec §8.2)
        next_cursor = Cursor(
            server_id, False, horizon, horizon, n, snapshot_ms, snapshot_ms, cursors.to_ms(now)
        )
    return FeedPage(
        cursor=await _encode(conn, caller, next_cursor),
        fetched_until=isoformat(cursors.from_ms(snapshot_ms)),
        more_to_follow=more,
        devices_json=page["devices"] or "",
    )


async def sync(
    conn: asyncpg.Connection,
    *,
    caller: FeedCaller,
    version: int,
    settings: Settings,
    cursor: object,
    limit: int | None,
    prefetched: PrefetchedSyncPage | None = None,
) -> FeedPage:
    """`POST /devices/sync` (spec §6.3, §8.3): events after the cursor, oldest first, repeats allowed.

    A scripted `echo_cursor` fault (dep_emulator.faults) answers the request's own cursor with
    `more_to_follow: true` and no devices: the Apple bug of micromdm#1016 / nanodep#73 (§8.4).
    Its unit is consumed by the page statement itself (committed with it): `echo_fault_id`.
    `prefetched`: the page the traffic middleware read ahead with the caller, used when it is the
    page the verified cursor asks for (it is read only when no echo_cursor unit is due).
    """
    if cursor is None or cursor == "":
        raise DepError("CURSOR_REQUIRED")
    n = clamp_limit(limit, settings)
    previous = _verified(caller, cursor, settings)
    if previous.fetching:  # a fetch is unfinished: its snapshot is incomplete, so no hand-off yet
        raise DepError("INVALID_CURSOR")
    ask = SyncReadAhead(position=previous.position, n=n, version=version)
    page: Mapping[str, Any]
    if prefetched is not None and prefetched.server_id == caller.server_id and prefetched.ask == ask:
        page = prefetched.row | {"echo_fault_id": None}  # read when no echo_cursor unit was due
    else:
        method, path = faults.split_endpoint(SYNC_ENDPOINT)
        page = await driver.fetchrow(
            conn,
            sync_page_sql(version),
            {
                "server": caller.server_id,
                "position": previous.position,
                "n": n,
                "now": caller.now,
                "f_method": method,
                "f_path": path,
                "f_kind": "echo_cursor",
            },
        )
    committed = _within(previous.position, page["committed"])
    if page["echo_fault_id"] is not None:
        assert isinstance(cursor, str)
        until = isoformat(cursors.from_ms(previous.until_ms))
        return FeedPage(cursor, until, True, "", echo_fault_id=page["echo_fault_id"])
    position = page["last_seq"] if page["last_seq"] is not None else previous.position
    if not page["more"]:
        # Past events hidden by an assignment cooldown too, so they are skipped for good rather
        # than delivered late (dep_emulator.profiles.throttle); without hidden events this changes nothing.
        # Never past an event held back by the org's feed delay: it is delivered once released.
        released = committed if page["held_from"] is None else page["held_from"] - 1
        position = max(position, released)
    # The lost-events fault (observed F4): what this page left out, for the request journal.
    withheld = await lost.withheld(conn, page, caller=caller, after=previous.position, until=position)
    until_ms = cursors.to_ms(page["last_at"]) if page["last_at"] is not None else previous.until_ms
    next_cursor = Cursor(
        caller.server_id, False, position, position, n, until_ms, until_ms, cursors.to_ms(caller.now)
    )
    return FeedPage(
        cursor=await _encode(conn, caller, next_cursor),
        fetched_until=isoformat(cursors.from_ms(until_ms)),
        more_to_follow=bool(page["more"]),
        devices_json=page["devices"] or "",
        lag=max(0, committed - position),
        withheld=withheld,
    )


@cache
def details_sql(version: int) -> TextClause:
    """`POST /devices`: each requested device of the server as its wire JSON, built by PostgreSQL.

    Like the feed pages: Python building, gating and encoding the devices was most of the
    request's CPU (issue 15's profile); the stored `wire` text serves the latest protocol.
    """
    device = wire_sql.device_text("device", version) if wire_sql.gates(version) else "wire"
    return text(
        f"SELECT serial_number, {device} AS json FROM device "
        "WHERE server_id = :server_id AND serial_number = ANY(:serials)"
    )


async def details(conn: asyncpg.Connection, *, server_id: int, version: int, serials: Sequence[str]) -> bytes:
    """`POST /devices` (spec §6.4): a map keyed by each requested serial, with `response_status`.

    The body is spliced from PostgreSQL's JSON objects, in the order the serials were asked for,
    the way the JSON response of a dict would read.
    """
    wanted = locking.unique(serials)
    usable = [s for s in wanted if locking.usable_serial(s)]
    found: dict[str, str] = {}
    for start in range(0, len(usable), locking.CHUNK):
        chunk = usable[start : start + locking.CHUNK]
        for row in await driver.fetch(conn, details_sql(version), {"server_id": server_id, "serials": chunk}):
            found[row["serial_number"]] = row["json"][:-1] + ',"response_status":"SUCCESS"}'
    missing = '{"response_status":"NOT_ACCESSIBLE"}'
    members = (json.dumps(s, ensure_ascii=False) + ":" + found.get(s, missing) for s in wanted)
    return f'{{"devices":{{{",".join(members)}}}}}'.encode()


async def replacement_details(db: AsyncSession, *, server: MdmServer, serial: str | None) -> dict[str, Any]:
    """`GET /device/replacementDetails` (spec §6.7): the original of a replacement on this server."""
    if not serial:
        raise DepError("DEVICE_ID_REQUIRED")
    org = await db.get(Org, server.org_id)
    assert org is not None
    device = None
    if locking.usable_serial(serial):
        device = await db.scalar(
            select(Device).where(Device.serial_number == serial, Device.server_id == server.id)
        )
    if device is None or not device.is_replacement_device or device.replaces_serial_number is None:
        raise DepError("DEVICE_NOT_FOUND", status_code=int(org_setting(org, "replacement_not_found_status")))
    assert device.replacement_date is not None
    return {
        "serial_number": device.serial_number,
        "original_device_serial_number": device.replaces_serial_number,
        "replacement_date": device.replacement_date.astimezone(UTC).strftime("%Y-%m-%d"),
    }
