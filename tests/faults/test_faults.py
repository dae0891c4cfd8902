"""Fault scripts: every kind fires the stated number of times, then stops (§12.4, scenario 17)."""

from __future__ import annotations

import time
from typing import Any

import httpx
import pytest
from dep_emulator.faults.service import device_status_override
from dep_emulator.orgs.models import MdmServer
from dep_emulator.testing.dep_client import OAuthCredentials
from fastapi import FastAPI

from tests.conftest import create_server, issue_credentials
from tests.traffic.support import add_fault, call, journal, open_session


async def statuses(client: httpx.AsyncClient, token: str, n: int) -> list[tuple[int, str]]:
    return [(r.status_code, r.text) for r in [await call(client, "GET", "/account", token) for _ in range(n)]]


@pytest.mark.parametrize(
    ("error", "status", "body"),
    [
        ("EXPIRED_CURSOR", 400, "EXPIRED_CURSOR"),
        ("INVALID_CURSOR", 400, "INVALID_CURSOR"),
        ("UNAUTHORIZED", 401, "UNAUTHORIZED"),
        ("FORBIDDEN", 403, "FORBIDDEN"),
        ("ACCESS_DENIED", 403, "ACCESS_DENIED"),
        ("T_C_NOT_SIGNED", 403, "T_C_NOT_SIGNED"),
        ("TOO_MANY_REQUESTS", 429, "TOO_MANY_REQUESTS"),
        ("token_rejected", 401, "oauth_problem=token_rejected"),
        ("signature_invalid", 403, "oauth_problem=signature_invalid"),
        ("INTERNAL_SERVER_ERROR", 500, "Internal Server Error"),
    ],
)
async def test_named_error_fires_count_times_then_stops(
    client: httpx.AsyncClient, credentials: OAuthCredentials, error: str, status: int, body: str
) -> None:
    token = await open_session(client, credentials)
    await add_fault(client, {"endpoint": "GET /account", "responses": [{"count": 2, "error": error}]})
    got = await statuses(client, token, 3)
    assert got[:2] == [(status, body)] * 2
    assert got[2][0] == 200


async def test_error_with_status_override_and_retry_after(
    client: httpx.AsyncClient, credentials: OAuthCredentials
) -> None:
    token = await open_session(client, credentials)
    await add_fault(
        client,
        {"endpoint": "GET /account", "responses": [{"count": 1, "error": "token_rejected", "status": 403}]},
    )
    assert await statuses(client, token, 1) == [(403, "oauth_problem=token_rejected")]


@pytest.mark.parametrize("settings_overrides", [{"error_body_style": "quoted", "oauth_error_style": "bare"}])
async def test_error_bodies_follow_the_body_style(
    client: httpx.AsyncClient, credentials: OAuthCredentials
) -> None:
    token = await open_session(client, credentials)
    await add_fault(
        client,
        {"endpoint": "GET /account", "responses": [{"error": "EXPIRED_CURSOR"}, {"error": "token_rejected"}]},
    )
    assert await statuses(client, token, 2) == [(400, '"EXPIRED_CURSOR"'), (401, "token_rejected")]


async def test_status_entries_with_body_and_retry_after(
    client: httpx.AsyncClient, credentials: OAuthCredentials
) -> None:
    token = await open_session(client, credentials)
    date = "Wed, 21 Oct 2026 07:28:00 GMT"
    await add_fault(
        client,
        {
            "endpoint": "GET /account",
            "responses": [
                {"count": 2, "status": 503, "retry_after": "120"},  # as the CLI sends it
                {"count": 1, "status": 429, "retry_after": date},
                {"count": 1, "status": 500, "body": "<html>oops</html>"},
            ],
        },
    )
    responses = [await call(client, "GET", "/account", token) for _ in range(5)]
    got = [(r.status_code, r.text, r.headers.get("retry-after")) for r in responses]
    assert got[:4] == [
        (503, "", "120"),
        (503, "", "120"),
        (429, "TOO_MANY_REQUESTS", date),
        (500, "<html>oops</html>", None),
    ]
    assert got[4][0] == 200


async def test_delay_then_pass_then_error_in_order(
    client: httpx.AsyncClient, credentials: OAuthCredentials
) -> None:
    token = await open_session(client, credentials)
    await add_fault(
        client,
        {
            "endpoint": "GET /account",
            "responses": [{"count": 1, "delay_ms": 300}, {"count": 2, "pass": True}, {"error": "FORBIDDEN"}],
        },
    )
    started = time.perf_counter()
    assert (await call(client, "GET", "/account", token)).status_code == 200
    assert time.perf_counter() - started >= 0.3
    got = await statuses(client, token, 4)
    assert [s for s, _ in got] == [200, 200, 403, 200]
    # Which step answered each request, from the journal rather than from wall time (an upper
    # bound on the later requests' time failed on loaded machines): one delay, then in order.
    entries = await journal(client, endpoint="GET /account")
    assert [e["fault"] for e in entries] == ["delay 300ms", "pass", "pass", "error FORBIDDEN", None]


async def test_session_faults_on_the_session_endpoint(
    client: httpx.AsyncClient, credentials: OAuthCredentials
) -> None:
    await add_fault(
        client, {"endpoint": "GET /session", "responses": [{"count": 1, "error": "TOO_MANY_REQUESTS"}]}
    )
    response = await client.get("/session", headers={"Authorization": 'OAuth oauth_consumer_key="x"'})
    assert (response.status_code, response.text) == (429, "TOO_MANY_REQUESTS")
    await open_session(client, credentials)


async def test_fault_scoped_to_one_server(
    client: httpx.AsyncClient, org: dict[str, Any], server: dict[str, Any], credentials: OAuthCredentials
) -> None:
    other = await create_server(client, org["id"], server_name="Other MDM")
    other_credentials = await issue_credentials(client, other["server_uuid"])
    await add_fault(
        client,
        {
            "endpoint": "GET /account",
            "server_uuid": server["server_uuid"],
            "responses": [{"count": 2, "error": "T_C_NOT_SIGNED"}],
        },
    )
    other_token = await open_session(client, other_credentials)
    assert [s for s, _ in await statuses(client, other_token, 3)] == [200, 200, 200]
    assert (
        await call(client, "GET", "/account", None)
    ).status_code == 401  # unauthenticated: not this server
    token = await open_session(client, credentials)
    assert [s for s, _ in await statuses(client, token, 3)] == [403, 403, 200]


async def test_probability_mode_cycles_forever(
    client: httpx.AsyncClient, credentials: OAuthCredentials
) -> None:
    token = await open_session(client, credentials)
    fault = await add_fault(
        client,
        {
            "endpoint": "GET /account",
            "probability": 1.0,
            "responses": [{"error": "FORBIDDEN"}, {"count": 2, "pass": True}],
        },
    )
    assert [s for s, _ in await statuses(client, token, 7)] == [403, 200, 200, 403, 200, 200, 403]
    listed = (await client.get(f"/emulator/v1/faults/{fault['id']}")).json()
    assert (listed["remaining"], listed["exhausted"], listed["fired"]) == (None, False, 7)

    await client.delete("/emulator/v1/faults")
    await add_fault(
        client, {"endpoint": "GET /account", "probability": 0.5, "responses": [{"error": "FORBIDDEN"}]}
    )
    fired = sum(s == 403 for s, _ in await statuses(client, token, 80))
    assert 15 <= fired <= 65


async def test_list_inspect_delete_and_clear(
    client: httpx.AsyncClient, credentials: OAuthCredentials
) -> None:
    token = await open_session(client, credentials)
    first = await add_fault(
        client,
        {
            "endpoint": "GET /account",
            "responses": [{"count": 2, "error": "FORBIDDEN"}, {"count": 3, "pass": True}],
        },
    )
    second = await add_fault(
        client, {"endpoint": "POST /devices/sync", "responses": [{"error": "EXPIRED_CURSOR"}]}
    )
    await statuses(client, token, 3)
    one = (await client.get(f"/emulator/v1/faults/{first['id']}")).json()
    assert [s["remaining"] for s in one["steps"]] == [0, 2]
    assert (one["remaining"], one["fired"], one["exhausted"]) == (2, 3, False)
    listed = (await client.get("/emulator/v1/faults")).json()["faults"]
    assert [f["id"] for f in listed] == [first["id"], second["id"]]
    assert (await client.delete(f"/emulator/v1/faults/{first['id']}")).status_code == 204
    assert (await client.get(f"/emulator/v1/faults/{first['id']}")).status_code == 404
    assert (await client.delete(f"/emulator/v1/faults/{first['id']}")).status_code == 404
    assert (await client.delete("/emulator/v1/faults")).json() == {"deleted": 1}
    assert (await client.get("/emulator/v1/faults")).json() == {"faults": []}


@pytest.mark.parametrize(
    "bad",
    [
        {"endpoint": "GET /account", "responses": [{"error": "NOT_A_CODE"}]},
        {"endpoint": "GET /account", "responses": [{"error": "FORBIDDEN", "delay_ms": 5}]},
        {"endpoint": "GET /account", "responses": [{"count": 1}]},
        {"endpoint": "GET /account", "responses": [{"count": 0, "pass": True}]},
        {"endpoint": "GET /account", "responses": []},
        {"endpoint": "FETCH /account", "responses": [{"pass": True}]},
        {"endpoint": "/account", "responses": [{"pass": True}]},
        {"endpoint": "GET /account", "responses": [{"status": 503, "retry_after": "tomorrow"}]},
        {"endpoint": "GET /account", "responses": [{"device_status": "SUCCESS"}]},
        {"endpoint": "GET /account", "probability": 0, "responses": [{"pass": True}]},
    ],
)
async def test_bad_scripts_are_refused(client: httpx.AsyncClient, bad: dict[str, Any]) -> None:
    response = await client.post("/emulator/v1/faults", json=bad)
    assert response.status_code == 422, response.text
    assert response.json()["error"]["code"] == "validation_error"


async def test_unknown_server_is_404(client: httpx.AsyncClient) -> None:
    response = await client.post(
        "/emulator/v1/faults",
        json={"endpoint": "GET /account", "server_uuid": "0" * 32, "responses": [{"pass": True}]},
    )
    assert response.status_code == 404


async def test_endpoint_hook_device_status_consumes_only_its_entries(
    app: FastAPI, client: httpx.AsyncClient, server: dict[str, Any], credentials: OAuthCredentials
) -> None:
    """The middleware leaves these entries to the endpoint; the hooks consume them in order."""
    token = await open_session(client, credentials)
    script = await add_fault(
        client,
        {
            "endpoint": "PUT /profile/devices",
            "server_uuid": server["server_uuid"],
            "responses": [
                {"count": 2, "device_status": "THROTTLED", "retry_after_seconds": 90},
                {"count": 1, "device_status": "FAILED"},
                {"count": 1, "error": "ACCESS_DENIED"},
            ],
        },
    )
    # Requests pass the middleware untouched while the next entry is for the endpoint.
    assert (await call(client, "PUT", "/profile/devices", token, {"devices": ["X"]})).status_code != 403
    async with app.state.sessionmaker() as db:
        mdm_server = await db.get(MdmServer, 1)
        assert mdm_server is not None and mdm_server.server_uuid == server["server_uuid"]
        assert await device_status_override(db, endpoint="POST /profile/devices", server=mdm_server) is None
        hits = [
            await device_status_override(db, endpoint="PUT /profile/devices", server=mdm_server)
            for _ in range(3)
        ]
        await db.commit()
    assert [(h.status, h.retry_after_seconds) if h else None for h in hits] == [
        ("THROTTLED", 90),
        ("THROTTLED", 90),
        ("FAILED", None),
    ]
    refused = await call(client, "PUT", "/profile/devices", token, {"devices": ["X"]})
    assert (refused.status_code, refused.text) == (403, "ACCESS_DENIED")
    assert (await client.get(f"/emulator/v1/faults/{script['id']}")).json()["exhausted"] is True

    # An echo_cursor entry is only for the sync page statement (tests/devices/test_feed_sql.py).
    echo = await add_fault(
        client, {"endpoint": "POST /devices/sync", "responses": [{"count": 2, "echo_cursor": True}]}
    )
    async with app.state.sessionmaker() as db:
        mdm_server = await db.get(MdmServer, 1)
        assert await device_status_override(db, endpoint="POST /devices/sync", server=mdm_server) is None
        await db.commit()
    assert (await client.get(f"/emulator/v1/faults/{echo['id']}")).json()["fired"] == 0


async def test_fired_faults_are_journaled(client: httpx.AsyncClient, credentials: OAuthCredentials) -> None:
    token = await open_session(client, credentials)
    fault = await add_fault(client, {"endpoint": "GET /account", "responses": [{"error": "EXPIRED_CURSOR"}]})
    await statuses(client, token, 2)
    entries = await journal(client, endpoint="GET /account")
    assert [(e["status"], e["error_code"], e["fault_id"], e["fault"]) for e in entries] == [
        (400, "EXPIRED_CURSOR", fault["id"], "error EXPIRED_CURSOR"),
        (200, None, None, None),
    ]
