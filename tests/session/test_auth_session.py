"""Using the session token: X-ADM-Auth-Session on every call, expiry, rotation (spec §4.3).

Each rule is checked on GET /account and on POST /server/devices: the feed pages read their
session on the hot pool, usually as the traffic middleware handed it on (dep_emulator.session.service).
"""

from __future__ import annotations

from typing import Any

import asyncpg
import httpx
import pytest
from dep_emulator.testing.dep_client import OAuthCredentials, sign_session_request

from tests.conftest import BASE_URL, snapshot

HEADERS = {"User-Agent": "fleetdm/nanodep", "X-Server-Protocol-Version": "3"}


async def open_session(client: httpx.AsyncClient, credentials: OAuthCredentials) -> str:
    response = await client.get(
        "/session",
        headers={**HEADERS, "Authorization": sign_session_request(credentials, f"{BASE_URL}/session")},
    )
    assert response.status_code == 200, response.text
    token: str = response.json()["auth_session_token"]
    return token


@pytest.fixture(params=["GET /account", "POST /server/devices"])
def endpoint(request: pytest.FixtureRequest) -> str:
    value: str = request.param
    return value


async def call(
    client: httpx.AsyncClient, token: str | None, endpoint: str = "GET /account"
) -> httpx.Response:
    headers = dict(HEADERS)
    if token is not None:
        headers["X-ADM-Auth-Session"] = token
    method, path = endpoint.split(" ")
    return await client.request(method, path, headers=headers, json={} if method == "POST" else None)


async def advance(client: httpx.AsyncClient, seconds: float) -> None:
    assert (await client.post("/emulator/v1/clock", json={"advance_seconds": seconds})).status_code == 200


async def test_missing_session_is_401_unauthorized(
    client: httpx.AsyncClient, pg: asyncpg.Connection, credentials: OAuthCredentials, endpoint: str
) -> None:
    before = await snapshot(pg)
    response = await call(client, None, endpoint)
    assert (response.status_code, response.text) == (401, "UNAUTHORIZED")
    assert await snapshot(pg) == before


async def test_unknown_session_is_403_forbidden(
    client: httpx.AsyncClient, pg: asyncpg.Connection, credentials: OAuthCredentials, endpoint: str
) -> None:
    before = await snapshot(pg)
    response = await call(client, "1700000000000O1ODEADBEEF", endpoint)
    assert (response.status_code, response.text) == (403, "FORBIDDEN")
    assert await snapshot(pg) == before


async def test_every_success_carries_the_session_header(
    client: httpx.AsyncClient, credentials: OAuthCredentials, endpoint: str
) -> None:
    token = await open_session(client, credentials)
    response = await call(client, token, endpoint)
    assert response.status_code == 200
    assert response.headers["x-adm-auth-session"] == token


@pytest.mark.parametrize(
    "settings_overrides", [{"session_ttl_seconds": 600, "session_rotation_seconds": 10_000}]
)
async def test_session_expires_after_its_ttl(
    client: httpx.AsyncClient, credentials: OAuthCredentials, endpoint: str
) -> None:
    token = await open_session(client, credentials)
    await advance(client, 599)
    assert (await call(client, token, endpoint)).status_code == 200
    await advance(client, 2)
    response = await call(client, token, endpoint)
    assert (response.status_code, response.text) == (401, "UNAUTHORIZED")


@pytest.mark.parametrize(
    "settings_overrides",
    [{"session_rotation_seconds": 60, "session_rotation_grace_seconds": 30, "session_ttl_seconds": 3600}],
)
async def test_rotation_hands_out_a_new_token_and_keeps_the_old_one_for_the_grace_period(
    client: httpx.AsyncClient, credentials: OAuthCredentials, endpoint: str
) -> None:
    old = await open_session(client, credentials)
    await advance(client, 61)
    rotated = await call(client, old, endpoint)
    assert rotated.status_code == 200
    new = rotated.headers["x-adm-auth-session"]
    assert new != old

    # A concurrent request still holding the old token is served within the grace period,
    # and is not rotated a second time.
    await advance(client, 20)
    late = await call(client, old, endpoint)
    assert late.status_code == 200
    assert late.headers["x-adm-auth-session"] == old

    await advance(client, 11)
    assert (await call(client, old, endpoint)).status_code == 401
    assert (await call(client, new, endpoint)).headers["x-adm-auth-session"] == new


async def test_session_is_bound_to_its_server(
    client: httpx.AsyncClient, credentials: OAuthCredentials, org: dict[str, Any]
) -> None:
    other = await client.post(f"/emulator/v1/orgs/{org['id']}/mdm-servers", json={"server_name": "Other"})
    other_credentials = OAuthCredentials.from_json(
        (
            await client.post(f"/emulator/v1/mdm-servers/{other.json()['server_uuid']}/oauth-credentials")
        ).json()
    )
    first = (await call(client, await open_session(client, credentials))).json()
    second = (await call(client, await open_session(client, other_credentials))).json()
    assert first["server_name"] == "Test MDM"
    assert second["server_name"] == "Other"
