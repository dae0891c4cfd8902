"""The sync page read ahead by the traffic middleware, in the statement that resolves the caller.

A syncer's `POST /devices/sync` used to cost two round trips on the hot pool: the middleware's
resolve, then the page (issue 15). The middleware now reads the page its cursor asks for in
the resolve itself (dep_emulator.traffic.service.resolve_with_sync_page_sql), before the cursor is
verified; the handler uses it only for the very page the verified request asks for, and reads
again whenever a fault could change the answer. These tests watch the statements the hot pool
runs (asyncpg's query logger on each of its connections) and hold the answers to what the
two-statement path gave: scripted faults in the same order, the emulator's clock, refusals.
"""

from __future__ import annotations

import asyncio
import base64
from collections.abc import AsyncIterator
from datetime import timedelta
from typing import Any

import asyncpg
import httpx
import pytest
from dep_emulator.testing.dep_client import OAuthCredentials
from fastapi import FastAPI

from tests.devices.helpers import SERVER_DEVICES, SYNC, add, assign
from tests.traffic.support import add_fault, advance, call, journal, open_session

pytestmark = pytest.mark.parametrize("settings_overrides", [{"db_pool_size": 1}])


@pytest.fixture
async def statements(app: FastAPI) -> AsyncIterator[list[str]]:
    """The text of every statement the hot pool runs from here on (all its connections)."""
    pool: asyncpg.Pool = app.state.driver_pool
    seen: list[str] = []
    held = [await pool.acquire() for _ in range(pool.get_max_size())]
    for conn in held:
        conn.add_query_logger(lambda record: seen.append(record.query))
    for conn in held:
        await pool.release(conn)
    yield seen


def _page_reads(seen: list[str]) -> list[str]:
    """The statements that read a sync page: in the resolve ('resolve') or the handler's own ('page')."""
    return [
        "resolve" if "auth_session" in query else "page"
        for query in seen
        if "string_agg(e.wire" in query or "string_agg(left((" in query
    ]


@pytest.fixture
async def feed(
    client: httpx.AsyncClient, org: dict[str, Any], server: dict[str, Any], credentials: OAuthCredentials
) -> tuple[str, str, list[str]]:
    """(session token, a sync cursor at the start, the serials of 3 events after it)."""
    token = await open_session(client, credentials)
    start = (await call(client, "POST", SERVER_DEVICES, token, {})).json()["cursor"]
    serials = await add(client, org["id"], "AHEAD0000001", "AHEAD0000002", "AHEAD0000003")
    await assign(client, org["id"], server["server_uuid"], *serials)
    return token, start, serials


async def test_a_sync_page_is_read_in_the_statement_that_resolves_the_caller(
    client: httpx.AsyncClient, statements: list[str], feed: tuple[str, str, list[str]]
) -> None:
    token, cursor, serials = feed
    received, more = [], True
    while more:
        before = len(statements)
        page = await call(client, "POST", SYNC, token, {"cursor": cursor, "limit": 2})
        assert page.status_code == 200, page.text
        assert _page_reads(statements[before:]) == ["resolve"]
        body = page.json()
        received += [(d["serial_number"], d["op_type"]) for d in body["devices"]]
        cursor, more = body["cursor"], body["more_to_follow"]
    assert received == [(serial, "added") for serial in serials]
    before = len(statements)
    empty = (await call(client, "POST", SYNC, token, {"cursor": cursor})).json()
    assert (empty["devices"], empty["more_to_follow"]) == ([], False)
    assert _page_reads(statements[before:]) == ["resolve"]
    # Not a sync request, or no cursor shaped like a sync position: the plain resolve, no page read.
    before = len(statements)
    assert (await call(client, "POST", SYNC, token, {"cursor": "garbage"})).text == "INVALID_CURSOR"
    assert (await call(client, "GET", "/account", token)).status_code == 200
    assert _page_reads(statements[before:]) == []


async def test_an_echo_cursor_unit_due_is_consumed_by_the_handlers_own_read(
    client: httpx.AsyncClient, statements: list[str], feed: tuple[str, str, list[str]]
) -> None:
    token, start, serials = feed
    fault = await add_fault(
        client, {"endpoint": "POST /devices/sync", "responses": [{"count": 1, "echo_cursor": True}]}
    )
    before = len(statements)
    echoed = (await call(client, "POST", SYNC, token, {"cursor": start})).json()
    assert (echoed["cursor"], echoed["more_to_follow"], echoed["devices"]) == (start, True, [])
    assert _page_reads(statements[before:]) == ["resolve", "page"]
    before = len(statements)
    real = (await call(client, "POST", SYNC, token, {"cursor": start})).json()
    assert [d["serial_number"] for d in real["devices"]] == serials
    assert _page_reads(statements[before:]) == ["resolve"]
    state = (await client.get(f"/emulator/v1/faults/{fault['id']}")).json()
    assert (state["fired"], state["exhausted"]) == (1, True)


async def test_a_fault_the_middleware_fires_is_followed_by_the_next_step_in_the_same_request(
    client: httpx.AsyncClient, statements: list[str], feed: tuple[str, str, list[str]]
) -> None:
    """A script "delay, then echo the cursor": the first request is delayed by the middleware and
    echoed by the handler (the page read with the caller saw the script before its delay step)."""
    token, start, serials = feed
    fault = await add_fault(
        client,
        {"endpoint": "POST /devices/sync", "responses": [{"delay_ms": 10}, {"echo_cursor": True}]},
    )
    first = (await call(client, "POST", SYNC, token, {"cursor": start})).json()
    assert (first["cursor"], first["more_to_follow"], first["devices"]) == (start, True, [])
    second = (await call(client, "POST", SYNC, token, {"cursor": start})).json()
    assert [d["serial_number"] for d in second["devices"]] == serials
    entries = await journal(client, endpoint="POST /devices/sync")
    assert [(e["fault_id"], e["fault"]) for e in entries] == [(fault["id"], "delay 10ms"), (None, None)]
    assert (await client.get(f"/emulator/v1/faults/{fault['id']}")).json()["exhausted"] is True


async def test_the_page_read_ahead_hides_cooldowns_by_the_emulators_clock(
    client: httpx.AsyncClient,
    pg: asyncpg.Connection,
    credentials: OAuthCredentials,
    statements: list[str],
    feed: tuple[str, str, list[str]],
) -> None:
    """A device in a hiding cooldown that has ended by the emulator's clock (advanced), not by
    the wall clock, is in the page: the statement's time is the emulator's."""
    token, start, serials = feed
    now = await pg.fetchval("SELECT now()")
    await pg.execute(
        "INSERT INTO assignment_cooldown (device_id, started_at, until_at, hidden)"
        " SELECT id, $1, $2, true FROM device WHERE serial_number = $3",
        now,
        now + timedelta(hours=1),
        serials[0],
    )
    hidden = (await call(client, "POST", SYNC, token, {"cursor": start})).json()
    assert [d["serial_number"] for d in hidden["devices"]] == serials[1:]
    await advance(client, 7200)
    token = await open_session(client, credentials)  # the first one has expired meanwhile
    before = len(statements)
    shown = (await call(client, "POST", SYNC, token, {"cursor": start})).json()
    assert [d["serial_number"] for d in shown["devices"]] == serials
    assert _page_reads(statements[before:]) == ["resolve"]


async def test_a_cursor_read_ahead_is_still_verified(
    client: httpx.AsyncClient, statements: list[str], feed: tuple[str, str, list[str]]
) -> None:
    """Shaped like a sync position but not ours (its mac changed), or asking for more than the
    page read ahead: refused, or read again, never answered from the page read ahead."""
    token, start, _ = feed
    raw = base64.urlsafe_b64decode(start + "=" * (-len(start) % 4)).decode()
    payload, mac = raw.rsplit(":", 1)
    forged = base64.urlsafe_b64encode(f"{payload}:{int(mac) ^ 1}".encode()).decode().rstrip("=")
    refused = await call(client, "POST", SYNC, token, {"cursor": forged})
    assert (refused.status_code, refused.text) == (400, "INVALID_CURSOR")
    malformed = await call(client, "POST", SYNC, token, {"cursor": start, "limit": "2"})
    assert malformed.status_code == 400
    # Several syncs of one server at once: each answered from its own read.
    pages = await asyncio.gather(
        *(call(client, "POST", SYNC, token, {"cursor": start, "limit": n}) for n in (1, 2, 3))
    )
    assert [len(p.json()["devices"]) for p in pages] == [1, 2, 3]
