"""Traffic rules: presets fire with the configured status and Retry-After, and not inside budget (§12)."""

from __future__ import annotations

import asyncio
from typing import Any

import asyncpg
import httpx
import pytest
from dep_emulator.testing.dep_client import OAuthCredentials
from fastapi import FastAPI, Request

from tests.traffic.support import add_fault, advance, call, open_session, put_rules

WEEK = 7 * 86400


async def test_rules_default_to_the_setting_and_can_be_changed_at_runtime(
    client: httpx.AsyncClient, org: dict[str, Any]
) -> None:
    response = await client.get(f"/emulator/v1/orgs/{org['id']}/traffic-rules")
    assert response.status_code == 200
    body = response.json()
    assert (body["preset"], body["preset_source"], body["refusal_status"]) == ("off", "setting", 429)
    assert body["effective"]["budgets"] == {} and body["effective"]["max_devices_per_request"] is None

    body = await put_rules(client, org["id"], {"preset": "apple"})
    assert (body["preset"], body["preset_source"]) == ("apple", "org")
    assert body["effective"]["max_devices_per_request"] == 1000
    assert body["effective"]["full_fetch_interval_seconds"] is None

    body = await put_rules(client, org["id"], {"preset": "strict", "overrides": {"max_concurrent": None}})
    assert body["effective"]["max_concurrent"] is None
    assert body["effective"]["full_fetch_interval_seconds"] == WEEK
    assert (await client.get(f"/emulator/v1/orgs/{org['id']}/traffic-rules")).json() == body


async def test_bad_rules_are_refused(client: httpx.AsyncClient, org: dict[str, Any]) -> None:
    for bad in (
        {"preset": "lenient"},
        {"refusal_status": 500},
        {"overrides": {"budgets": {"account": {"requests": 0, "per_seconds": 60}}}},
        {"overrides": {"unknown_rule": 1}},
    ):
        response = await client.put(f"/emulator/v1/orgs/{org['id']}/traffic-rules", json=bad)
        assert response.status_code == 422, bad
    assert (await client.put("/emulator/v1/orgs/999/traffic-rules", json={})).status_code == 404


@pytest.mark.parametrize("settings_overrides", [{"traffic_preset": "strict"}])
async def test_preset_from_the_setting(client: httpx.AsyncClient, org: dict[str, Any]) -> None:
    body = (await client.get(f"/emulator/v1/orgs/{org['id']}/traffic-rules")).json()
    assert (body["preset"], body["preset_source"]) == ("strict", "setting")
    assert body["effective"]["sync_interval_seconds"] == 900


async def test_request_budget_refuses_with_429_and_refills_on_the_emulator_clock(
    client: httpx.AsyncClient, org: dict[str, Any], credentials: OAuthCredentials
) -> None:
    await put_rules(
        client,
        org["id"],
        {"preset": "strict", "overrides": {"budgets": {"account": {"requests": 2, "per_seconds": 60}}}},
    )
    token = await open_session(client, credentials)
    assert [(await call(client, "GET", "/account", token)).status_code for _ in range(2)] == [200, 200]
    refused = await call(client, "GET", "/account", token)
    assert (refused.status_code, refused.text) == (429, "TOO_MANY_REQUESTS")
    # The bucket refills with the emulator clock, which runs with real time: allow for a slow machine.
    assert 25 <= int(refused.headers["retry-after"]) <= 30
    assert refused.headers["content-type"] == "text/plain;charset=UTF8"

    await advance(client, 30)
    assert (await call(client, "GET", "/account", token)).status_code == 200
    assert (await call(client, "GET", "/account", token)).status_code == 429


async def test_refusal_status_503_per_org(
    client: httpx.AsyncClient, org: dict[str, Any], credentials: OAuthCredentials
) -> None:
    await put_rules(
        client,
        org["id"],
        {"refusal_status": 503, "overrides": {"budgets": {"account": {"requests": 1, "per_seconds": 10}}}},
    )
    token = await open_session(client, credentials)
    assert (await call(client, "GET", "/account", token)).status_code == 200
    refused = await call(client, "GET", "/account", token)
    assert (refused.status_code, refused.text) == (503, "Service Unavailable")
    assert 6 <= int(refused.headers["retry-after"]) <= 10  # real time passes between the two calls


@pytest.mark.parametrize("settings_overrides", [{"traffic_preset": "strict", "error_body_style": "quoted"}])
async def test_strict_full_fetch_once_per_seven_days(
    client: httpx.AsyncClient, org: dict[str, Any], credentials: OAuthCredentials
) -> None:
    token = await open_session(client, credentials)
    first = await call(client, "POST", "/server/devices", token, {"limit": 100})
    assert first.status_code != 429
    # Paging with a cursor is not a full fetch.
    assert (
        await call(client, "POST", "/server/devices", token, {"cursor": "MTAw", "limit": 100})
    ).status_code != 429
    again = await call(client, "POST", "/server/devices", token, {"limit": 100})
    assert (again.status_code, again.text) == (429, '"TOO_MANY_REQUESTS"')
    assert WEEK - 5 <= int(again.headers["retry-after"]) <= WEEK
    assert (await call(client, "POST", "/server/devices", token, {"cursor": None})).status_code == 429

    await advance(client, WEEK)
    token = await open_session(client, credentials)
    assert (await call(client, "POST", "/server/devices", token, {})).status_code != 429


def install_fake_sync(app: FastAPI) -> None:
    """A stand-in for POST /devices/sync (ahead of the real one): cursor c0 → c1 (more) → c2 (done)."""

    async def fake_sync(request: Request) -> dict[str, Any]:
        cursor = (await request.json()).get("cursor")
        if cursor == "c1":
            return {
                "devices": [],
                "cursor": "c2",
                "more_to_follow": False,
                "fetched_until": "2026-01-01T00:00:00Z",
            }
        return {
            "devices": [],
            "cursor": "c1",
            "more_to_follow": True,
            "fetched_until": "2026-01-01T00:00:00Z",
        }

    app.router.add_api_route("/devices/sync", fake_sync, methods=["POST"])
    app.router.routes.insert(0, app.router.routes.pop())
    app.state.fast_lane.pop(("POST", "/devices/sync"))  # past the fast lane (dep_emulator.core.fast_lane)


@pytest.mark.parametrize("settings_overrides", [{"traffic_preset": "strict"}])
async def test_strict_sync_cycle_at_most_every_n_minutes_but_pages_are_free(
    app: FastAPI, client: httpx.AsyncClient, org: dict[str, Any], credentials: OAuthCredentials
) -> None:
    install_fake_sync(app)
    await put_rules(client, org["id"], {"overrides": {"sync_interval_seconds": 600}})
    token = await open_session(client, credentials)
    page1 = await call(client, "POST", "/devices/sync", token, {"cursor": "c0"})
    assert page1.json()["more_to_follow"] is True
    page2 = await call(client, "POST", "/devices/sync", token, {"cursor": "c1"})
    assert (page2.status_code, page2.json()["cursor"]) == (200, "c2")
    # A new cycle right away is refused until 10 minutes have passed.
    early = await call(client, "POST", "/devices/sync", token, {"cursor": "c2"})
    assert (early.status_code, early.text) == (429, "TOO_MANY_REQUESTS")
    assert 595 <= int(early.headers["retry-after"]) <= 600
    # Replaying the finished cycle's page cursor is not a continuation either.
    assert (await call(client, "POST", "/devices/sync", token, {"cursor": "c1"})).status_code == 429
    await advance(client, 600)
    assert (await call(client, "POST", "/devices/sync", token, {"cursor": "c2"})).status_code == 200


async def test_apple_preset_limits_devices_per_request(
    client: httpx.AsyncClient, org: dict[str, Any], credentials: OAuthCredentials
) -> None:
    await put_rules(client, org["id"], {"preset": "apple"})
    token = await open_session(client, credentials)
    serials = [f"C02X{i:07d}" for i in range(1001)]
    body = {"profile_uuid": "C1F123098EB5074580041E69883004C3"}
    refused = await call(client, "PUT", "/profile/devices", token, {**body, "devices": serials})
    assert (refused.status_code, refused.text, refused.headers["retry-after"]) == (
        429,
        "TOO_MANY_REQUESTS",
        "60",
    )
    allowed = await call(client, "PUT", "/profile/devices", token, {**body, "devices": serials[:1000]})
    assert allowed.status_code != 429
    # The apple preset documents no page-size or rate limits (§12.1).
    for _ in range(5):
        assert (await call(client, "POST", "/server/devices", token, {"limit": 5000})).status_code != 429


async def test_strict_page_size(
    client: httpx.AsyncClient, org: dict[str, Any], credentials: OAuthCredentials
) -> None:
    await put_rules(client, org["id"], {"preset": "strict"})
    token = await open_session(client, credentials)
    refused = await call(client, "POST", "/devices/sync", token, {"cursor": "x", "limit": 1001})
    assert (refused.status_code, refused.text) == (429, "TOO_MANY_REQUESTS")
    assert (
        await call(client, "POST", "/devices/sync", token, {"cursor": "x", "limit": 1000})
    ).status_code != 429


async def test_session_budget_per_client_address(client: httpx.AsyncClient, org: dict[str, Any]) -> None:
    await put_rules(client, org["id"], {"preset": "strict"})  # the address budget follows the setting: off
    statuses = [
        (await client.get("/session", headers={"Authorization": "OAuth x"})).status_code for _ in range(3)
    ]
    assert 429 not in statuses


@pytest.mark.parametrize("settings_overrides", [{"traffic_preset": "strict", "traffic_refusal_status": 503}])
async def test_session_budget_per_client_address_from_the_setting(
    client: httpx.AsyncClient, org: dict[str, Any], pg: asyncpg.Connection
) -> None:
    statuses = []
    for _ in range(31):
        statuses.append((await client.get("/session", headers={"Authorization": "OAuth x"})).status_code)
    assert statuses[:30] == [400] * 30
    assert statuses[30] == 503
    assert await pg.fetchval("SELECT count(*) FROM traffic_bucket WHERE key = 'a127.0.0.1:session'") == 1


async def test_concurrency_limit_per_server_and_slots_released(
    client: httpx.AsyncClient, org: dict[str, Any], credentials: OAuthCredentials, pg: asyncpg.Connection
) -> None:
    await put_rules(client, org["id"], {"overrides": {"max_concurrent": 1}})
    token = await open_session(client, credentials)
    await add_fault(client, {"endpoint": "GET /account", "responses": [{"count": 1, "delay_ms": 400}]})
    slow = asyncio.create_task(call(client, "GET", "/account", token))
    await asyncio.sleep(0.15)
    refused = await call(client, "GET", "/account", token)
    assert (refused.status_code, refused.text, refused.headers["retry-after"]) == (
        429,
        "TOO_MANY_REQUESTS",
        "1",
    )
    assert (await slow).status_code == 200
    assert (await call(client, "GET", "/account", token)).status_code == 200
    # Released after an error answer too.
    missing_agent = await client.get("/account", headers={"X-ADM-Auth-Session": token, "User-Agent": ""})
    assert (missing_agent.status_code, missing_agent.text) == (400, "USER_AGENT_MISSING")
    assert await pg.fetchval("SELECT max(in_flight) FROM traffic_bucket WHERE key LIKE '%:in_flight'") == 0


async def test_no_rules_no_buckets(
    client: httpx.AsyncClient, credentials: OAuthCredentials, pg: asyncpg.Connection
) -> None:
    token = await open_session(client, credentials)
    for _ in range(20):
        assert (await call(client, "GET", "/account", token)).status_code == 200
    assert await pg.fetchval("SELECT count(*) FROM traffic_bucket") == 0
