"""One hot-pool connection per DEP request, handed from the traffic middleware to the handler.

The middleware resolves the caller on a connection and leaves it for the feed, details and
/account handlers (dep_emulator.core.driver.Lease); it is released when the handler is done or the
response starts, before the journal's group commit needs a connection of its own. So a pool
smaller than the number of requests in flight makes them wait their turn, never each other
forever, and every connection comes back.
"""

from __future__ import annotations

import asyncio
from typing import Any

import asyncpg
import httpx
import pytest
from dep_emulator.testing.dep_client import OAuthCredentials
from fastapi import FastAPI

from tests.traffic.support import call, open_session

CONCURRENT = 12  # of each endpoint below, all at once, on a hot pool of two connections


@pytest.mark.parametrize("settings_overrides", [{"db_pool_size": 1}])
async def test_many_dep_calls_at_once_on_a_pool_of_two_all_answer_and_return_their_connections(
    app: FastAPI,
    client: httpx.AsyncClient,
    pg: asyncpg.Connection,
    server: dict[str, Any],
    credentials: OAuthCredentials,
) -> None:
    pool: asyncpg.Pool = app.state.driver_pool
    assert pool.get_max_size() == 2
    token = await open_session(client, credentials)
    fetched = await call(client, "POST", "/server/devices", token, json={"limit": 5})
    assert fetched.status_code == 200, fetched.text
    cursor = fetched.json()["cursor"]
    details = {"devices": ["C02NONE0001"]}
    calls = [
        *(call(client, "GET", "/account", token) for _ in range(CONCURRENT)),
        *(call(client, "POST", "/server/devices", token, json={"limit": 5}) for _ in range(CONCURRENT)),
        *(call(client, "POST", "/devices/sync", token, json={"cursor": cursor}) for _ in range(CONCURRENT)),
        *(call(client, "POST", "/devices", token, json=details) for _ in range(CONCURRENT)),
        *(call(client, "GET", "/account", None) for _ in range(CONCURRENT)),  # 401: no handler statement
    ]
    responses = await asyncio.wait_for(asyncio.gather(*calls), timeout=60)
    statuses = [r.status_code for r in responses]
    assert statuses == [200] * (4 * CONCURRENT) + [401] * CONCURRENT
    sync = responses[2 * CONCURRENT].json()
    assert sync["devices"] == [] and sync["more_to_follow"] is False
    assert responses[3 * CONCURRENT].json()["devices"] == {
        "C02NONE0001": {"response_status": "NOT_ACCESSIBLE"}
    }
    # every request journaled (the session, the first fetch, and all of the above), every connection back
    assert await pg.fetchval("SELECT count(*) FROM request_journal") == 2 + 5 * CONCURRENT
    assert pool.get_size() <= 2 and pool.get_idle_size() == pool.get_size()
