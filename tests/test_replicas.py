"""Two app instances on one database behave as one service (sessions, nonces, clock)."""

from __future__ import annotations

from collections.abc import AsyncIterator

import asyncpg
import httpx
import pytest
from dep_emulator.core.config import Settings
from dep_emulator.testing.dep_client import OAuthCredentials, sign_session_request

from tests.conftest import BASE_URL, start_app

UA = {"User-Agent": "fleetdm/nanodep", "X-Server-Protocol-Version": "3"}


@pytest.fixture
async def replicas(settings: Settings, pg: asyncpg.Connection) -> AsyncIterator[list[httpx.AsyncClient]]:
    started = [await start_app(settings) for _ in range(2)]
    clients = [httpx.AsyncClient(transport=httpx.ASGITransport(app=a), base_url=BASE_URL) for a, _ in started]
    try:
        yield clients
    finally:
        for c in clients:
            await c.aclose()
        for _, manager in started:
            await manager.__aexit__(None, None, None)


async def test_replicas_share_sessions_nonces_and_the_clock(replicas: list[httpx.AsyncClient]) -> None:
    a, b = replicas
    org = (await a.post("/emulator/v1/orgs", json={"name": "Org"})).json()
    server = (await b.post(f"/emulator/v1/orgs/{org['id']}/mdm-servers", json={"server_name": "S"})).json()
    creds = OAuthCredentials.from_json(
        (await a.post(f"/emulator/v1/mdm-servers/{server['server_uuid']}/oauth-credentials")).json()
    )

    header = sign_session_request(creds, f"{BASE_URL}/session", nonce="shared-nonce-1")
    opened = await a.get("/session", headers={**UA, "Authorization": header})
    assert opened.status_code == 200
    token = opened.json()["auth_session_token"]

    # B accepts A's session ...
    on_b = await b.get("/account", headers={**UA, "X-ADM-Auth-Session": token})
    assert on_b.status_code == 200 and on_b.json()["server_uuid"] == server["server_uuid"]
    # ... and rejects A's used nonce.
    replay = await b.get("/session", headers={**UA, "Authorization": header})
    assert (replay.status_code, replay.text) == (401, "oauth_problem=nonce_used")

    # Moving the clock on one replica moves it on the other.
    await b.post("/emulator/v1/clock", json={"advance_seconds": 7200})
    assert (await a.get("/emulator/v1/clock")).json()["offset_seconds"] == 7200
    expired = await a.get("/account", headers={**UA, "X-ADM-Auth-Session": token})
    assert (expired.status_code, expired.text) == (401, "UNAUTHORIZED")


async def test_concurrent_token_downloads_leave_one_current_token(replicas: list[httpx.AsyncClient]) -> None:
    import asyncio

    a, b = replicas
    org = (await a.post("/emulator/v1/orgs", json={"name": "Org"})).json()
    server = (await a.post(f"/emulator/v1/orgs/{org['id']}/mdm-servers", json={"server_name": "S"})).json()
    url = f"/emulator/v1/mdm-servers/{server['server_uuid']}/oauth-credentials"
    results = await asyncio.gather(*[(a if i % 2 else b).post(url) for i in range(10)])
    assert all(r.status_code == 200 for r in results)
    current = (await a.get(url)).json()
    assert current["access_token"] in {r.json()["access_token"] for r in results}
    working = 0
    for r in results:
        creds = OAuthCredentials.from_json(r.json())
        header = sign_session_request(creds, f"{BASE_URL}/session")
        working += (await b.get("/session", headers={**UA, "Authorization": header})).status_code == 200
    assert working == 1
