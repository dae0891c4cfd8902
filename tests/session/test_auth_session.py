"""Using the session token: X-ADM-Auth-Session on every call, expiry, rotation (spec §4.3)."""

from __future__ import annotations

from typing import Any

import asyncpg
import httpx
import pytest

from app.testing.dep_client import OAuthCredentials, sign_session_request
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


async def account(client: httpx.AsyncClient, token: str | None) -> httpx.Response:
    headers = dict(HEADERS)
    if token is not None:
        headers["X-ADM-Auth-Session"] = token
    return await client.get("/account", headers=headers)


async def advance(client: httpx.AsyncClient, seconds: float) -> None:
    assert (await client.post("/emulator/v1/clock", json={"advance_seconds": seconds})).status_code == 200


async def test_missing_session_is_401_unauthorized(
    client: httpx.AsyncClient, pg: asyncpg.Connection, credentials: OAuthCredentials
) -> None:
    before = await snapshot(pg)
    response = await account(client, None)
    assert (response.status_code, response.text) == (401, "UNAUTHORIZED")
    assert await snapshot(pg) == before


async def test_unknown_session_is_403_forbidden(
    client: httpx.AsyncClient, pg: asyncpg.Connection, credentials: OAuthCredentials
) -> None:
    before = await snapshot(pg)
    response = await account(client, "1700000000000O1ODEADBEEF")
    assert (response.status_code, response.text) == (403, "FORBIDDEN")
    assert await snapshot(pg) == before


async def test_every_success_carries_the_session_header(
    client: httpx.AsyncClient, credentials: OAuthCredentials
) -> None:
    token = await open_session(client, credentials)
    response = await account(client, token)
    assert response.status_code == 200
    assert response.headers["x-adm-auth-session"] == token


@pytest.mark.parametrize(
    "settings_overrides", [{"session_ttl_seconds": 600, "session_rotation_seconds": 10_000}]
)
async def test_session_expires_after_its_ttl(
    client: httpx.AsyncClient, credentials: OAuthCredentials
) -> None:
    token = await open_session(client, credentials)
    await advance(client, 599)
    assert (await account(client, token)).status_code == 200
    await advance(client, 2)
    response = await account(client, token)
    assert (response.status_code, response.text) == (401, "UNAUTHORIZED")


@pytest.mark.parametrize(
    "settings_overrides",
    [{"session_rotation_seconds": 60, "session_rotation_grace_seconds": 30, "session_ttl_seconds": 3600}],
)
async def test_rotation_hands_out_a_new_token_and_keeps_the_old_one_for_the_grace_period(
    client: httpx.AsyncClient, credentials: OAuthCredentials
) -> None:
    old = await open_session(client, credentials)
    await advance(client, 61)
    rotated = await account(client, old)
    assert rotated.status_code == 200
    new = rotated.headers["x-adm-auth-session"]
    assert new != old

    # A concurrent request still holding the old token is served within the grace period,
    # and is not rotated a second time.
    await advance(client, 20)
    late = await account(client, old)
    assert late.status_code == 200
    assert late.headers["x-adm-auth-session"] == old

    await advance(client, 11)
    assert (await account(client, old)).status_code == 401
    assert (await account(client, new)).headers["x-adm-auth-session"] == new


async def test_session_is_bound_to_its_server(
    client: httpx.AsyncClient, credentials: OAuthCredentials, org: dict[str, Any]
) -> None:
    other = await client.post(f"/emulator/v1/orgs/{org['id']}/mdm-servers", json={"server_name": "Other"})
    other_credentials = OAuthCredentials.from_json(
        (
            await client.post(f"/emulator/v1/mdm-servers/{other.json()['server_uuid']}/oauth-credentials")
        ).json()
    )
    first = (await account(client, await open_session(client, credentials))).json()
    second = (await account(client, await open_session(client, other_credentials))).json()
    assert first["server_name"] == "Test MDM"
    assert second["server_name"] == "Other"
