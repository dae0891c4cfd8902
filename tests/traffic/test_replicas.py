"""Two app instances on one database share budgets and consume each fault unit exactly once."""

from __future__ import annotations

import asyncio
from collections import Counter
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest
from dep_emulator.core.config import Settings
from dep_emulator.testing.dep_client import OAuthCredentials
from dep_emulator.testing.server import live_server
from fastapi import FastAPI

from tests.conftest import BASE_URL, create_org, create_server, issue_credentials, start_app
from tests.traffic.support import add_fault, call, journal, open_session, put_rules


@pytest.fixture
async def replicas(settings: Settings, app: FastAPI) -> AsyncIterator[list[httpx.AsyncClient]]:
    """The `app` fixture's instance and a second one on the same database."""
    second, manager = await start_app(settings)
    clients = [
        httpx.AsyncClient(transport=httpx.ASGITransport(app=a), base_url=BASE_URL) for a in (app, second)
    ]
    try:
        yield clients
    finally:
        for c in clients:
            await c.aclose()
        await manager.__aexit__(None, None, None)


async def test_budgets_are_shared_by_replicas(
    replicas: list[httpx.AsyncClient], org: dict[str, Any], credentials: OAuthCredentials
) -> None:
    a, b = replicas
    await put_rules(
        a, org["id"], {"overrides": {"budgets": {"account": {"requests": 4, "per_seconds": 3600}}}}
    )
    token = await open_session(b, credentials)
    got = [(await call(replicas[i % 2], "GET", "/account", token)).status_code for i in range(6)]
    assert got == [200, 200, 200, 200, 429, 429]


async def test_concurrent_requests_on_two_replicas_never_overdraw(
    replicas: list[httpx.AsyncClient], org: dict[str, Any], credentials: OAuthCredentials
) -> None:
    await put_rules(
        replicas[0], org["id"], {"overrides": {"budgets": {"account": {"requests": 5, "per_seconds": 3600}}}}
    )
    token = await open_session(replicas[0], credentials)
    results = await asyncio.gather(*(call(replicas[i % 2], "GET", "/account", token) for i in range(16)))
    assert Counter(r.status_code for r in results) == {200: 5, 429: 11}


async def test_each_fault_unit_fires_exactly_once_across_replicas(
    replicas: list[httpx.AsyncClient], credentials: OAuthCredentials
) -> None:
    a, _ = replicas
    fault = await add_fault(
        a,
        {
            "endpoint": "GET /account",
            "responses": [{"count": 3, "error": "EXPIRED_CURSOR"}, {"count": 2, "status": 503}],
        },
    )
    token = await open_session(a, credentials)
    sequential = [(await call(replicas[i % 2], "GET", "/account", token)).status_code for i in range(2)]
    assert sequential == [400, 400]
    results = await asyncio.gather(*(call(replicas[i % 2], "GET", "/account", token) for i in range(12)))
    assert Counter(r.status_code for r in results) == {400: 1, 503: 2, 200: 9}
    state = (await a.get(f"/emulator/v1/faults/{fault['id']}")).json()
    assert (state["fired"], state["remaining"], state["exhausted"]) == (5, 0, True)
    assert len(await journal(a, endpoint="GET /account", limit=100)) == 14


async def test_drop_connection_closes_without_a_response(settings: Settings, pg: Any) -> None:
    """Through a real uvicorn: the client sees the connection closed, nothing else."""
    with live_server(settings) as base_url:
        async with httpx.AsyncClient(base_url=base_url) as client:
            org = await create_org(client)
            server = await create_server(client, org["id"])
            credentials = await issue_credentials(client, server["server_uuid"])
            await add_fault(
                client, {"endpoint": "GET /account", "responses": [{"count": 2, "drop_connection": True}]}
            )
            url = f"{base_url}/session"
            from dep_emulator.testing.dep_client import sign_session_request

            session = await client.get(
                "/session",
                headers={"Authorization": sign_session_request(credentials, url), "User-Agent": "t/1"},
            )
            token = session.json()["auth_session_token"]
            for _ in range(2):
                with pytest.raises(httpx.RemoteProtocolError, match="without sending"):
                    await client.get("/account", headers={"X-ADM-Auth-Session": token, "User-Agent": "t/1"})
            response = await client.get(
                "/account", headers={"X-ADM-Auth-Session": token, "User-Agent": "t/1"}
            )
            assert response.status_code == 200
            await asyncio.sleep(0.2)  # the journal row is written just after the response
            entries = await journal(client, endpoint="GET /account")
            assert [(e["status"], e["fault"]) for e in entries] == [
                (0, "drop_connection"),
                (0, "drop_connection"),
                (200, None),
            ]
