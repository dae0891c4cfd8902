"""The request journal: what is recorded, filters, pagination, retention, and no secrets (scenario 21)."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from typing import Any

import asyncpg
import httpx
import pytest
from dep_emulator.testing.dep_client import OAuthCredentials, sign_session_request

from tests.conftest import BASE_URL
from tests.traffic.support import add_fault, advance, call, journal, open_session, put_rules


async def test_apple_requests_are_journaled_and_control_calls_are_not(
    client: httpx.AsyncClient, server: dict[str, Any], credentials: OAuthCredentials
) -> None:
    token = await open_session(client, credentials)
    assert (await call(client, "GET", "/account", token)).status_code == 200
    assert (await call(client, "GET", "/account", None)).status_code == 401
    await client.get("/healthz")
    await client.get("/emulator/v1/orgs")
    entries = await journal(client)
    assert [(e["endpoint"], e["status"], e["error_code"], e["server_uuid"]) for e in entries] == [
        ("GET /session", 200, None, server["server_uuid"]),
        ("GET /account", 200, None, server["server_uuid"]),
        ("GET /account", 401, "UNAUTHORIZED", None),
    ]
    account = entries[1]
    assert (account["protocol_version"], account["user_agent"], account["client_addr"]) == (
        "10",
        "fleetdm/nanodep",
        "127.0.0.1",
    )
    assert account["latency_ms"] > 0 and account["emulator_time"] and account["wall_at"]


async def test_body_summary_cursor_limit_and_device_count(
    client: httpx.AsyncClient, credentials: OAuthCredentials
) -> None:
    token = await open_session(client, credentials)
    await call(client, "POST", "/devices/sync", token, {"cursor": "MTAwOjA6MTc0", "limit": 200})
    await call(client, "PUT", "/profile/devices", token, {"profile_uuid": "AB", "devices": ["A", "B", "C"]})
    await client.post(
        "/devices/sync", content=b"{not json", headers={"X-ADM-Auth-Session": token, "User-Agent": "x"}
    )
    entries = await journal(client, path="/devices/sync")
    assert [(e["cursor"], e["limit"], e["device_count"]) for e in entries] == [
        ("MTAwOjA6MTc0", 200, None),
        (None, None, None),
    ]
    (assign,) = await journal(client, endpoint="PUT /profile/devices")
    assert (assign["device_count"], assign["cursor"]) == (3, None)
    assert len(await journal(client, request_cursor="MTAwOjA6MTc0")) == 1


async def test_filters_and_keyset_pagination(
    client: httpx.AsyncClient, server: dict[str, Any], credentials: OAuthCredentials
) -> None:
    token = await open_session(client, credentials)
    for _ in range(3):
        await call(client, "GET", "/account", token)
    await advance(client, 3600)
    later = (await client.get("/emulator/v1/clock")).json()["now"]
    await add_fault(client, {"endpoint": "GET /account", "responses": [{"count": 2, "status": 503}]})
    for _ in range(3):
        await call(client, "GET", "/account", token)

    assert len(await journal(client, server_uuid=server["server_uuid"].lower())) == 7
    assert len(await journal(client, endpoint="GET /account")) == 6
    assert len(await journal(client, endpoint="GET /account", status=503)) == 2
    assert len(await journal(client, endpoint="GET /account", since=later)) == 3
    assert len(await journal(client, endpoint="GET /account", until=later)) == 3
    assert await journal(client, server_uuid="0" * 32) == []

    seen: list[str] = []
    cursor = None
    while True:
        params: dict[str, Any] = {"limit": 2}
        if cursor:
            params["cursor"] = cursor
        page = (await client.get("/emulator/v1/journal", params=params)).json()
        seen += [e["id"] for e in page["entries"]]
        cursor = page["next_cursor"]
        if cursor is None:
            break
    assert seen == [e["id"] for e in await journal(client)] and len(seen) == 7
    assert (await client.get("/emulator/v1/journal", params={"cursor": "abc"})).status_code == 422
    assert (await client.get("/emulator/v1/journal", params={"endpoint": "account"})).status_code == 422
    assert (await client.delete("/emulator/v1/journal")).status_code == 204
    assert await journal(client) == []


@pytest.mark.parametrize("settings_overrides", [{"journal_retention_hours": 1, "journal_max_rows": 100}])
async def test_retention_prunes_old_and_excess_rows(
    client: httpx.AsyncClient, pg: asyncpg.Connection, credentials: OAuthCredentials
) -> None:
    old = "INSERT INTO request_journal (id, wall_at, emulated_at, method, path, status, latency_ms) VALUES "
    await pg.execute(old + "(1, now() - interval '2 hours', now(), 'GET', '/account', 200, 1)")
    await pg.execute(old + "(2, now(), now(), 'GET', '/account', 200, 1)")  # beyond max rows at id 199
    await pg.execute(old + "(150, now(), now(), 'GET', '/account', 200, 1)")
    await pg.execute("SELECT setval('request_journal_id_seq', 198)")
    await call(client, "GET", "/account", None)  # id 199: no prune
    assert await pg.fetchval("SELECT count(*) FROM request_journal") == 4
    await call(client, "GET", "/account", None)  # id 200: prune
    assert [r["id"] for r in await pg.fetch("SELECT id FROM request_journal ORDER BY id")] == [150, 199, 200]


class _Capture(logging.Handler):
    def __init__(self) -> None:
        super().__init__(logging.DEBUG)
        self.lines: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        if record.name.startswith("oauthlib"):  # the test's own client signing /session requests
            return
        self.lines.append(self.format(record) + repr(vars(record)))


@pytest.fixture
def captured_logs() -> Iterator[_Capture]:
    handler = _Capture()
    targets = [logging.getLogger(name) for name in ("dep_emulator", "uvicorn", "")]
    previous = [t.level for t in targets]
    for t in targets:
        t.addHandler(handler)
        t.setLevel(logging.DEBUG)
    try:
        yield handler
    finally:
        for t, level in zip(targets, previous, strict=True):
            t.removeHandler(handler)
            t.setLevel(level)


async def test_no_secret_reaches_the_journal_or_the_logs(
    client: httpx.AsyncClient,
    org: dict[str, Any],
    credentials: OAuthCredentials,
    pg: asyncpg.Connection,
    captured_logs: _Capture,
) -> None:
    await put_rules(
        client, org["id"], {"overrides": {"budgets": {"account": {"requests": 2, "per_seconds": 60}}}}
    )
    authorization = sign_session_request(credentials, f"{BASE_URL}/session")
    session = await client.get("/session", headers={"Authorization": authorization, "User-Agent": "x/1"})
    token = session.json()["auth_session_token"]
    bad = sign_session_request(credentials, f"{BASE_URL}/other")
    assert (
        await client.get("/session", headers={"Authorization": bad, "User-Agent": "x/1"})
    ).status_code == 401
    await add_fault(client, {"endpoint": "GET /account", "responses": [{"error": "token_rejected"}]})
    for _ in range(4):  # fault, two inside the budget, one refused
        await call(client, "GET", "/account", token)
    await call(client, "POST", "/devices/sync", token, {"cursor": "c", "limit": 5})

    rows = await pg.fetch("SELECT * FROM request_journal")
    assert len(rows) == 7
    dumped = repr([dict(r) for r in rows]) + "\n".join(captured_logs.lines)
    secrets = {
        "session token": token,
        "access token": credentials.access_token,
        "access secret": credentials.access_secret,
        "consumer secret": credentials.consumer_secret,
        "authorization header": authorization,
        "signature": authorization.split("oauth_signature=")[1].split(",")[0].strip('"'),
    }
    leaked = [name for name, value in secrets.items() if value in dumped]
    assert leaked == []
    assert any("refused" in line for line in captured_logs.lines)  # the logs were captured at all
