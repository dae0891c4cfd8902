"""Helpers shared by the traffic, fault and journal tests."""

from __future__ import annotations

from typing import Any

import httpx
from dep_emulator.testing.dep_client import OAuthCredentials, sign_session_request

from tests.conftest import BASE_URL

HEADERS = {"User-Agent": "fleetdm/nanodep", "X-Server-Protocol-Version": "10"}


async def open_session(client: httpx.AsyncClient, credentials: OAuthCredentials) -> str:
    response = await client.get(
        "/session",
        headers={**HEADERS, "Authorization": sign_session_request(credentials, f"{BASE_URL}/session")},
    )
    assert response.status_code == 200, response.text
    token: str = response.json()["auth_session_token"]
    return token


async def call(
    client: httpx.AsyncClient, method: str, path: str, token: str | None, json: Any = None
) -> httpx.Response:
    """One raw DEP call (no re-authentication, so every request is exactly one request)."""
    headers = dict(HEADERS)
    if token is not None:
        headers["X-ADM-Auth-Session"] = token
    return await client.request(method, path, headers=headers, json=json)


async def put_rules(client: httpx.AsyncClient, org_id: str, body: dict[str, Any]) -> dict[str, Any]:
    response = await client.put(f"/emulator/v1/orgs/{org_id}/traffic-rules", json=body)
    assert response.status_code == 200, response.text
    data: dict[str, Any] = response.json()
    return data


async def add_fault(client: httpx.AsyncClient, body: dict[str, Any]) -> dict[str, Any]:
    response = await client.post("/emulator/v1/faults", json=body)
    assert response.status_code == 201, response.text
    data: dict[str, Any] = response.json()
    return data


async def advance(client: httpx.AsyncClient, seconds: float) -> None:
    assert (await client.post("/emulator/v1/clock", json={"advance_seconds": seconds})).status_code == 200


async def journal(client: httpx.AsyncClient, **params: Any) -> list[dict[str, Any]]:
    response = await client.get("/emulator/v1/journal", params=params)
    assert response.status_code == 200, response.text
    entries: list[dict[str, Any]] = response.json()["entries"]
    return entries
