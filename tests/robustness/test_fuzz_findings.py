"""Bugs the fuzzers found, each pinned by a test that failed before its fix (issue 8 §1)."""

from __future__ import annotations

from typing import Any

import httpx
from dep_emulator.testing.dep_client import OAuthCredentials

from tests.abm.conftest import create_api_account, get_token
from tests.traffic.support import call, journal, open_session

DEEP = b"[" * 100_000 + b"]" * 100_000  # within the body limit, deeper than Python's recursion limit


async def test_out_of_range_limit_is_journaled_without_it(
    client: httpx.AsyncClient, credentials: OAuthCredentials
) -> None:
    """`limit` is an int32 column: 2**40 used to fail the journal insert, losing the row."""
    token = await open_session(client, credentials)
    response = await call(client, "POST", "/devices/sync", token, {"cursor": "MTAwOjA6MTc0", "limit": 2**40})
    assert (response.status_code, response.text) == (400, "INVALID_CURSOR")
    entries = await journal(client)
    assert [e["limit"] for e in entries if e["endpoint"] == "POST /devices/sync"] == [None]


async def test_deeply_nested_json_is_malformed_not_a_500(
    client: httpx.AsyncClient, credentials: OAuthCredentials
) -> None:
    token = await open_session(client, credentials)
    for path in ("/server/devices", "/devices/sync", "/devices", "/devices/disown"):
        response = await client.post(
            path, content=DEEP, headers={"User-Agent": "fuzz/1", "X-ADM-Auth-Session": token}
        )
        assert (response.status_code, response.text) == (400, "MALFORMED_REQUEST_BODY"), path


async def test_deeply_nested_json_on_the_business_api_is_a_400(
    client: httpx.AsyncClient, org: dict[str, Any]
) -> None:
    account = await create_api_account(client, org["id"])
    bearer = {"Authorization": f"Bearer {await get_token(client, account)}"}
    response = await client.post("/v1/orgDeviceActivities", content=DEEP, headers=bearer)
    assert response.status_code == 400, response.text
    assert response.json()["errors"][0]["code"] == "ENTITY_UNPARSABLE"


async def test_nul_in_the_path_is_journaled_and_not_mistaken_for_an_outage(
    client: httpx.AsyncClient, credentials: OAuthCredentials
) -> None:
    """PostgreSQL text cannot hold NUL: a path with %00 used to fail the traffic lookup (skipping
    rules and faults, logged as a database outage) and lose its journal row."""
    token = await open_session(client, credentials)
    response = await call(client, "GET", "/account%00", token)
    assert (response.status_code, response.text) == (404, "")
    entries = await journal(client)
    assert [e["status"] for e in entries if e["path"].startswith("/account")] == [404]


async def test_lone_surrogates_anywhere_in_a_dep_body_are_malformed(
    client: httpx.AsyncClient, credentials: OAuthCredentials
) -> None:
    """ "\\ud800" parses as JSON but is not text PostgreSQL can store: a profile name holding one used
    to be a 500. Every DEP body is checked once, where it is read (app/devices/dep_body.py)."""
    token = await open_session(client, credentials)
    headers = {"User-Agent": "fuzz/1", "X-Server-Protocol-Version": "10", "X-ADM-Auth-Session": token}
    for path, body in (
        ("/profile", b'{"profile_name": "\\ud800", "url": "https://mdm.example/enroll"}'),
        ("/profile", b'{"profile_name": "ok", "url": "https://mdm.example/enroll", "department": "\\udfff"}'),
        ("/device/activationlock", b'{"device": "A", "lost_message": "\\ud800"}'),
        ("/account-driven-enrollment/profile", b'{"mdm_service_discovery_url": "https://x.example/\\ud800"}'),
    ):
        response = await client.post(path, content=body, headers=headers)
        assert (response.status_code, response.text) == (400, "MALFORMED_REQUEST_BODY"), (path, body)
