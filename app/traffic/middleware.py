"""The traffic middleware: faults, traffic rules and the journal for Apple's surfaces.

Pure ASGI. It answers by sending a response and never raises on its own account (a
database failure here fails open: the request goes through unjournaled, and is logged);
exceptions from the app pass through untouched. Nothing per request is kept on the
instance. Every decision that must agree across replicas is one statement in PostgreSQL
(dep_emulator.traffic.service), run on a connection of the app's hot pool (dep_emulator.core.driver: no
transaction around it, no SQLAlchemy). The connection is handed to the handler (`driver.Lease`)
and released when the handler is done with it or the response starts, whichever comes first.

Per request to an Apple surface (everything but /emulator, /healthz, /readyz, the docs and
/metrics):
1. summarise a JSON body (read once, dep_emulator.core.body_limit.read_body): cursor, limit, device count;
2. statement 1: identify the server and consume one unit of a matching fault script (for a
   session token it also reads what a fetch or sync page needs of the session, handed on in
   the request state: dep_emulator.session.service.PREFETCHED_SESSION). A fault answers first
   (Apple's front end errs before anything is counted): an error or status is sent,
   `drop_connection` closes without a byte, `delay_ms` waits then goes on;
3. statement 2 (only if the org's rules need it): take from the budgets; a refusal is the
   configured status (429 TOO_MANY_REQUESTS or 503) with `Retry-After` in seconds (on the
   Business Manager API: per API account, always 429 in its JSON:API envelope, dep_emulator.traffic.abm);
4. the app runs; the status, error body and (fetch/sync) returned cursor are observed;
5. before the last byte of the response goes out (or after a response that never completed:
   errors, disconnects; shielded from cancellation): the journal row, in a group commit shared
   by the requests finishing meanwhile (dep_emulator.journal.writer), or, with a concurrency slot to
   release or a sync-cycle note, in statement 3 with them.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import math
import re
import time
from collections.abc import Awaitable, Callable, MutableMapping
from dataclasses import dataclass, field
from typing import Any

from ..clock import service as clock
from ..core import driver
from ..core.body_limit import read_body
from ..core.config import Settings
from ..core.db import ENDPOINT_FAULT
from ..core.dep import version_of
from ..core.security import hash_secret
from ..faults.respond import PLAIN_TEXT, FaultAction, action_for, error_body
from ..feed import lost as feed_lost
from ..feed import read as feed_read
from ..journal.service import JournalEntry, redact_query
from ..session import oauth1
from ..session.service import PREFETCHED_SESSION
from . import abm, rules, service

logger = logging.getLogger("dep_emulator.traffic")

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]

NOT_APPLE = ("/emulator", "/healthz", "/readyz", "/docs", "/redoc", "/openapi.json", "/metrics", "/console")
SYNC_PATH = "/devices/sync"
FEED_PATHS = ("/server/devices", SYNC_PATH)
MAX_CAPTURE = 16 * 1024 * 1024
# A fetch or sync page is rendered `cursor` first and `more_to_follow` third (dep_emulator.feed.read):
# the journal needs only its head, not the whole page (up to 1000 devices, ~500 KB).
FEED_HEAD = 4096
_CURSOR = re.compile(rb'"cursor"\s*:\s*"([^"]{0,1000})"')
_MORE = re.compile(rb'"more_to_follow"\s*:\s*(true|false)')


_NOT_APPLE_PREFIXES = tuple(p + "/" for p in NOT_APPLE)


def is_apple_surface(path: str) -> bool:
    return path not in NOT_APPLE and not path.startswith(_NOT_APPLE_PREFIXES)


@dataclass(slots=True)
class Outcome:
    """What the response turned out to be (local to one call)."""

    status: int = 0
    retry_after: str | None = None
    captured: bytearray = field(default_factory=bytearray)
    fault_id: int | None = None
    fault: str | None = None
    rule: str | None = None


class TrafficMiddleware:
    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or not is_apple_surface(scope["path"]):
            await self.app(scope, receive, send)
            return
        await _handle(self.app, scope, receive, send)


async def _handle(app: ASGIApp, scope: Scope, receive: Receive, send: Send) -> None:
    started = time.perf_counter()
    wall = clock.wall_now()
    app_state = scope["app"].state
    settings: Settings = app_state.settings
    headers = {k.decode("latin-1").lower(): v.decode("latin-1") for k, v in scope.get("headers", [])}
    # PostgreSQL text cannot hold NUL ("%00" in a path): keep it out of lookups and the journal.
    method, path = scope["method"], scope["path"].replace("\x00", "\ufffd")
    abm_call = abm.is_abm_path(path)
    client = scope.get("client")
    client_addr = client[0] if client else None

    body = b""
    if method in ("POST", "PUT", "DELETE", "PATCH"):
        read, receive = await read_body(scope, receive)
        body = read or b""
    summary = summarize(body)

    outcome = Outcome()
    caller: service.CallerContext | None = None
    plan: rules.Plan | None = None
    action: FaultAction | None = None
    slot_claimed = False
    refusal: tuple[str, float] | None = None
    refusal_status = settings.traffic_refusal_status
    lease: driver.Lease | None = None
    try:
        lease = await driver.Lease.acquire(app_state)
        conn = lease.conn
        session_token = headers.get("x-adm-auth-session")
        read_ahead = None
        if session_token and method == "POST" and path == SYNC_PATH:
            version = version_of(headers.get("x-server-protocol-version"), settings)
            read_ahead = feed_read.sync_read_ahead(summary.cursor, summary.limit, version, settings)
        caller = await service.resolve(
            conn,
            method=method,
            path=path,
            token_hash=hash_secret(session_token) if session_token else None,
            consumer_key=_consumer_key(headers.get("authorization")) if path == "/session" else None,
            bearer_hash=abm.bearer_hash(headers.get("authorization")) if abm_call else None,
            sync_read_ahead=read_ahead,
            wall=wall,
        )
        if caller.session is not None:  # the feed pages read it from here (dep_emulator.session.service)
            scope.setdefault("state", {})[PREFETCHED_SESSION] = caller.session
        if caller.sync_page is not None:  # and the sync page (dep_emulator.feed.read.sync)
            scope.setdefault("state", {})[feed_read.PREFETCHED_SYNC_PAGE] = caller.sync_page
        if caller.fault_response is not None:
            action = action_for(caller.fault_response, settings)
            outcome.fault_id, outcome.fault = caller.fault_id, action.label
        if action is None or not (action.answers or action.kind == "drop"):
            stored = caller.stored_rules or {}
            refusal_status = stored.get("refusal_status") or refusal_status
            _, effective = rules.effective(stored, default_preset=settings.traffic_preset)
            plan = rules.plan(
                effective,
                method=method,
                path=path,
                server_id=caller.server_id,
                client_addr=client_addr,
                body=summary,
                account_id=caller.account_id,
            )
            if plan.refuse_rule is not None:
                refusal = (plan.refuse_rule, float(rules.SIZE_REFUSAL_RETRY_AFTER))
            elif plan.needs_database:
                refused_key, wait = await service.admit(conn, plan=plan)
                if refused_key is not None:
                    refusal = (rules.rule_for_key(plan.buckets, refused_key), wait)
                else:
                    slot_claimed = plan.slot_key is not None
    except Exception:
        logger.exception("traffic rules and faults skipped for %s %s (database unavailable?)", method, path)
        if lease is not None:  # the handler takes a fresh connection instead
            with contextlib.suppress(Exception):
                await lease.release()
            lease = None

    finished = False

    async def finish() -> None:
        """The journal row and the bookkeeping, once: before the response's last byte, or after
        a response that never completed (an error, a dropped connection)."""
        nonlocal finished
        if finished:
            return
        finished = True
        endpoint_fault = scope.get("state", {}).get(ENDPOINT_FAULT)
        if endpoint_fault is not None and outcome.fault_id is None:
            outcome.fault_id, outcome.fault = endpoint_fault
        entry = _journal_entry(
            wall=wall,
            started=started,
            headers=headers,
            method=method,
            path=path,
            query=scope.get("query_string", b"").decode("latin-1") or None,
            client_addr=client_addr,
            caller=caller,
            summary=summary,
            outcome=outcome,
        )
        entry.withheld = scope.get("state", {}).get(feed_lost.WITHHELD_STATE)  # observed F4
        note_key = plan.note_key if plan is not None and outcome.status == 200 else None
        task = asyncio.ensure_future(
            _finish(
                app_state,
                entry=entry,
                settings=settings,
                release_key=plan.slot_key if plan is not None and slot_claimed else None,
                note_key=note_key,
                note=entry.response_cursor if entry.more_to_follow else None,
            )
        )
        await asyncio.shield(task)

    async def journaled(message: Message) -> None:
        if message["type"] == "http.response.start" and lease is not None:
            await lease.release()  # before the journal's group commit takes a connection of its own
        elif message["type"] == "http.response.body" and not message.get("more_body", False):
            await finish()
        await send(message)

    try:
        if action is not None and action.answers:
            body_out, fault_headers = action.body, action.headers
            if abm_call and caller is not None and caller.fault_response is not None:
                body_out, fault_headers = abm.fault_answer(
                    action.status or 500, body_out, fault_headers, own_body="body" in caller.fault_response
                )
            await _send_plain(journaled, outcome, action.status or 500, body_out, fault_headers)
        elif action is not None and action.kind == "drop":
            await drop_connection(send)
        elif refusal is not None:
            outcome.rule = refusal[0]
            retry_after = str(max(1, math.ceil(refusal[1])))
            headers_out = [(b"retry-after", retry_after.encode())]
            if abm_call:
                headers_out.append((b"content-type", abm.CONTENT_TYPE))
                await _send_plain(journaled, outcome, abm.STATUS, abm.refusal_body(retry_after), headers_out)
            else:
                code = "TOO_MANY_REQUESTS" if refusal_status == 429 else "SERVICE_UNAVAILABLE"
                body_out = error_body(code, settings).encode()
                await _send_plain(journaled, outcome, refusal_status, body_out, headers_out)
            logger.info(
                "request refused by traffic rule",
                extra={
                    "rule": refusal[0],
                    "server_uuid": caller.server_uuid if caller else None,
                    "path": path,
                },
            )
        else:
            if action is not None and action.kind == "delay":
                if lease is not None:  # not held while waiting
                    await lease.release()
                await asyncio.sleep(action.delay_ms / 1000)
            elif lease is not None:  # the handler may run its statements on it (driver.Lease)
                scope.setdefault("state", {})[driver.LEASE] = lease
            capture_feed = method == "POST" and path in FEED_PATHS
            await app(scope, receive, _observing(journaled, outcome, capture_feed=capture_feed))
    except BaseException:
        if outcome.status == 0:
            outcome.status = 500
        raise
    finally:
        # For the metrics of the observability middleware, which wraps this one.
        request_state = scope.setdefault("state", {})
        request_state["fault_fired"], request_state["traffic_rule"] = outcome.fault, outcome.rule
        if lease is not None:
            await lease.release()
        await finish()


async def _finish(app_state: Any, *, entry: JournalEntry, release_key: str | None, **kwargs: Any) -> None:
    """The journal row: with the other bookkeeping in one statement when there is some, else in
    the next group commit (dep_emulator.journal.writer). Fails open, logged."""
    try:
        if release_key is None and kwargs.get("note_key") is None:
            await app_state.journal_writer.write(entry)
            return
        async with driver.connection(app_state) as conn:
            await service.finish(conn, entry=entry, release_key=release_key, **kwargs)
    except Exception:
        logger.exception("could not write the request journal")


INT32 = range(-(2**31), 2**31)


def summarize(body: bytes) -> rules.BodySummary:
    """cursor, limit and the number of devices of a DEP JSON body (anything unparsable: nothing)."""
    if not body:
        return rules.BodySummary()
    try:
        data = json.loads(body)
    except (ValueError, UnicodeDecodeError, RecursionError):  # RecursionError: "[[[[…" 100k deep
        return rules.BodySummary()
    if not isinstance(data, dict):
        return rules.BodySummary()
    cursor = data.get("cursor")
    limit = data.get("limit")
    devices = data.get("devices")
    return rules.BodySummary(
        cursor=cursor[:1000] if isinstance(cursor, str) and cursor else None,
        # the journal's `limit` is an int32 column; a value out of its range is not a limit anyway
        limit=limit
        if isinstance(limit, int) and not isinstance(limit, bool) and INT32.start <= limit < INT32.stop
        else None,
        device_count=len(devices) if isinstance(devices, list) else None,
    )


def _consumer_key(authorization: str | None) -> str | None:
    """Only the consumer key of a /session Authorization header (no other value leaves here)."""
    try:
        return oauth1.parse_authorization(authorization).consumer_key
    except oauth1.OAuthHeaderError:
        return None


def _observing(send: Send, outcome: Outcome, *, capture_feed: bool) -> Send:
    async def observed(message: Message) -> None:
        if message["type"] == "http.response.start":
            outcome.status = int(message["status"])
            for name, value in message.get("headers", []):
                if name.lower() == b"retry-after":
                    outcome.retry_after = value.decode("latin-1")[:64]
        elif message["type"] == "http.response.body":
            limit = MAX_CAPTURE if outcome.status >= 400 else FEED_HEAD if capture_feed else 0
            if len(outcome.captured) < limit:
                chunk = message.get("body", b"")
                outcome.captured += chunk[: limit - len(outcome.captured)]
        await send(message)

    return observed


async def _send_plain(
    send: Send, outcome: Outcome, status: int, body: bytes, headers: list[tuple[bytes, bytes]]
) -> None:
    """A complete response; text/plain unless `headers` name another content type."""
    content_type = next((v for k, v in headers if k == b"content-type"), PLAIN_TEXT)
    all_headers = [(b"content-type", content_type), (b"content-length", str(len(body)).encode())]
    all_headers += [h for h in headers if h[0] != b"content-type"]
    outcome.status = status
    outcome.captured = bytearray(body)
    outcome.retry_after = next((v.decode() for k, v in headers if k == b"retry-after"), None)
    await send({"type": "http.response.start", "status": status, "headers": all_headers})
    await send({"type": "http.response.body", "body": body, "more_body": False})


async def drop_connection(send: Send) -> None:
    """Close the connection without sending a byte (spec §12.4 "connection reset").

    ASGI has no "close" message. Under uvicorn (httptools and h11 alike) a response start
    marks the response as started before its headers are validated; a header value with a
    line break is then refused before anything is written, and an app that returns with
    the response started but not finished makes uvicorn close the transport ("ASGI callable
    returned without completing response" in its log). Tested with a live uvicorn server.
    A server that accepted the header would see a started, never finished response, which
    it also ends by closing the connection.
    """
    try:
        await send({"type": "http.response.start", "status": 500, "headers": [(b"x-depemu-drop", b"\n")]})
    except Exception:  # the expected refusal of the poisoned header
        return


def _journal_entry(
    *,
    wall: Any,
    started: float,
    headers: dict[str, str],
    method: str,
    path: str,
    query: str | None,
    client_addr: str | None,
    caller: service.CallerContext | None,
    summary: rules.BodySummary,
    outcome: Outcome,
) -> JournalEntry:
    error_code = None
    if outcome.status >= 400:
        error_code = bytes(outcome.captured[:200]).decode("utf-8", "replace").strip() or None
    response_cursor = more = None
    if outcome.status == 200 and outcome.captured:
        if found := _CURSOR.search(outcome.captured):
            response_cursor = found.group(1).decode("utf-8", "replace")
        if found := _MORE.search(outcome.captured):
            more = found.group(1) == b"true"
    return JournalEntry(
        wall_at=wall,
        server_uuid=caller.server_uuid if caller else None,
        client_addr=(client_addr or "")[:64] or None,
        method=method[:10],
        path=path[:300],
        query=redact_query(query)[:500] if query else None,
        protocol_version=(headers.get("x-server-protocol-version") or "")[:16] or None,
        user_agent=(headers.get("user-agent") or "")[:300] or None,
        status=outcome.status,
        error_code=error_code,
        latency_ms=round((time.perf_counter() - started) * 1000, 3),
        cursor=summary.cursor,
        limit=summary.limit,
        device_count=summary.device_count,
        response_cursor=response_cursor,
        more_to_follow=more,
        retry_after=outcome.retry_after,
        fault_id=outcome.fault_id,
        fault=outcome.fault,
        rule=outcome.rule,
    )
