"""Body size limit, database outages and conflict retries (issue 8 §4, §5)."""

from __future__ import annotations

import asyncio
import tempfile
import time
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import asyncpg
import httpx
import pytest
import requests
from dep_emulator.core import embedded_pg, migrate
from dep_emulator.core.config import Settings
from dep_emulator.core.resilience import ResilienceMiddleware
from dep_emulator.testing.server import live_server
from sqlalchemy.exc import DBAPIError

from tests.conftest import snapshot


@pytest.mark.parametrize("settings_overrides", [{"max_body_bytes": 2048}])
class TestBodyLimit:
    async def test_declared_oversized_body_is_413(
        self, client: httpx.AsyncClient, pg: asyncpg.Connection
    ) -> None:
        before = await snapshot(pg)
        big = b"{" + b" " * 4096 + b"}"
        dep = await client.post("/devices/sync", content=big, headers={"User-Agent": "x"})
        assert (dep.status_code, dep.text) == (413, "REQUEST_ENTITY_TOO_LARGE")
        control = await client.post(
            "/emulator/v1/orgs", content=big, headers={"Content-Type": "application/json"}
        )
        assert control.status_code == 413 and control.json()["error"]["code"] == "payload_too_large"
        abm = await client.post("/v1/orgDeviceActivities", content=big)  # JSON:API, as the surface
        assert abm.status_code == 413 and abm.headers["content-type"] == "application/json"
        errors = [(e["status"], e["code"]) for e in abm.json()["errors"]]
        assert errors == [("413", "REQUEST_ENTITY_TOO_LARGE")]
        oauth2 = await client.post("/auth/oauth2/token", content=big)
        assert (oauth2.status_code, oauth2.json()["error"]) == (413, "invalid_request")
        assert await snapshot(pg) == before

    async def test_streamed_oversized_body_is_413(
        self, client: httpx.AsyncClient, pg: asyncpg.Connection
    ) -> None:
        async def chunks() -> AsyncIterator[bytes]:
            for _ in range(10):
                yield b'{"name": "' + b"x" * 500

        response = await client.post("/emulator/v1/orgs", content=chunks())
        assert response.status_code == 413
        assert (await pg.fetchval("SELECT count(*) FROM org")) == 0

    async def test_bodies_within_the_limit_pass(self, client: httpx.AsyncClient) -> None:
        assert (await client.post("/emulator/v1/orgs", json={"name": "small"})).status_code == 201


def test_database_outage_fails_fast_with_503_and_recovers(tmp_path: Path) -> None:
    database = embedded_pg.start(Path(tempfile.mkdtemp(prefix="depemu-outage-")), cleanup_mode="delete")
    try:
        migrate.upgrade(database.url)
        settings = Settings(database_url=database.url, log_level="ERROR", db_connect_timeout_seconds=2)
        with live_server(settings) as url:
            assert (
                requests.post(f"{url}/emulator/v1/orgs", json={"name": "before"}, timeout=10).status_code
                == 201
            )
            database.server.stop()
            try:
                started = time.monotonic()
                control = requests.get(f"{url}/emulator/v1/orgs", timeout=10)
                dep = requests.get(
                    f"{url}/account", headers={"User-Agent": "x", "X-ADM-Auth-Session": "t"}, timeout=10
                )
                elapsed = time.monotonic() - started
                assert (
                    control.status_code == 503 and control.json()["error"]["code"] == "database_unavailable"
                )
                assert control.headers["retry-after"] == "5"
                assert (dep.status_code, dep.text) == (503, "SERVICE_UNAVAILABLE")
                sync = requests.post(  # the hot pool (dep_emulator.core.driver) fails the same way
                    f"{url}/devices/sync",
                    json={"cursor": "x"},
                    headers={"User-Agent": "x", "X-ADM-Auth-Session": "t"},
                    timeout=10,
                )
                assert (sync.status_code, sync.text) == (503, "SERVICE_UNAVAILABLE")
                abm = requests.get(f"{url}/v1/orgDevices", headers={"Authorization": "Bearer t"}, timeout=10)
                assert abm.status_code == 503 and abm.headers["retry-after"] == "5"
                assert [e["code"] for e in abm.json()["errors"]] == ["SERVICE_UNAVAILABLE"]
                assert elapsed < 8, f"outage answers took {elapsed:.1f}s"
                assert requests.get(f"{url}/readyz", timeout=10).status_code == 503
                assert requests.get(f"{url}/healthz", timeout=10).status_code == 200
            finally:
                database.server.start()
            deadline = time.monotonic() + 20
            while requests.get(f"{url}/readyz", timeout=10).status_code != 200:
                assert time.monotonic() < deadline, "did not recover"
                time.sleep(0.2)
            orgs = requests.get(f"{url}/emulator/v1/orgs", timeout=10).json()["orgs"]
            assert [o["name"] for o in orgs] == ["before"]
    finally:
        database.stop()


async def test_conflicts_are_retried_before_anything_is_sent() -> None:
    """The middleware re-runs a request that PostgreSQL aborted as a deadlock, with the same body."""

    class Deadlock(Exception):
        sqlstate = "40P01"

    seen: list[bytes] = []

    async def flaky_app(scope: dict[str, Any], receive: Any, send: Any) -> None:
        message = await receive()
        seen.append(message["body"])
        if len(seen) < 3:
            raise DBAPIError("UPDATE ...", {}, Deadlock())
        await send({"type": "http.response.start", "status": 200, "headers": []})
        await send({"type": "http.response.body", "body": b"ok"})

    transport = httpx.ASGITransport(app=ResilienceMiddleware(flaky_app))
    async with httpx.AsyncClient(transport=transport, base_url="http://t") as c:
        response = await c.post("/devices/disown", content=b'{"devices": ["A"]}')
    assert (response.status_code, response.text) == (200, "ok")
    assert seen == [b'{"devices": ["A"]}'] * 3


async def test_connections_the_server_ended_are_replaced_without_an_error(
    client: httpx.AsyncClient, pg: asyncpg.Connection, mdm: httpx.AsyncClient
) -> None:
    """After pg_terminate_backend of every pooled connection (as a restart or a DBA does), the
    next requests are served: the pools (SQLAlchemy's, and the hot pool of the feed and the
    traffic middleware) see the closed connections on checkout, no pre-ping."""
    assert (await client.get("/emulator/v1/orgs")).status_code == 200
    assert (await mdm.get("/account")).status_code == 200
    assert (await mdm.post("/server/devices", json={})).status_code == 200
    ended = await pg.fetchval(
        "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity"
        " WHERE datname = current_database() AND pid <> pg_backend_pid() AND backend_type = 'client backend'"
    )
    assert ended >= 1
    await asyncio.sleep(0.2)  # the termination notices reach the pool's sockets
    for _ in range(3):
        assert (await client.get("/emulator/v1/orgs")).status_code == 200
        assert (await mdm.get("/account")).status_code == 200
        assert (await mdm.post("/server/devices", json={})).status_code == 200


def _invalidated() -> Exception:
    class Lost(Exception):
        pass

    error = DBAPIError("SELECT 1", {}, Lost())
    error.connection_invalidated = True
    return error


@pytest.mark.parametrize(
    "lost",
    [
        _invalidated,
        lambda: asyncpg.ConnectionDoesNotExistError("connection was closed in the middle of operation"),
    ],
    ids=["sqlalchemy", "hot-pool"],
)
async def test_a_lost_connection_is_retried_once_on_a_new_one(lost: Any) -> None:
    """A connection that died silently fails the first statement (SQLAlchemy: connection_invalidated;
    the hot pool: asyncpg's ConnectionDoesNotExistError): the request is re-run once; a second
    loss is an outage (503)."""

    calls: list[int] = []

    async def app_losing(times: int, scope: dict[str, Any], receive: Any, send: Any) -> None:
        await receive()
        calls.append(1)
        if len(calls) <= times:
            raise lost()
        await send({"type": "http.response.start", "status": 200, "headers": []})
        await send({"type": "http.response.body", "body": b"ok"})

    for times, expected in ((1, 200), (2, 503)):
        calls.clear()
        app = ResilienceMiddleware(lambda s, r, se, t=times: app_losing(t, s, r, se))  # type: ignore[misc]
        async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://t") as c:
            response = await c.get("/account")
        assert response.status_code == expected
        assert len(calls) == 2
