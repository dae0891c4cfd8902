"""GET /emulator/v1/mdm-servers/{uuid}/traffic-report: broken rules in plain words."""

from __future__ import annotations

from typing import Any

import httpx
from dep_emulator.testing.dep_client import OAuthCredentials
from fastapi import FastAPI

from tests.traffic.support import advance, call, open_session, put_rules
from tests.traffic.test_rules import install_fake_sync


async def report(client: httpx.AsyncClient, server_uuid: str) -> dict[str, Any]:
    response = await client.get(f"/emulator/v1/mdm-servers/{server_uuid}/traffic-report")
    assert response.status_code == 200, response.text
    data: dict[str, Any] = response.json()
    return data


async def test_clean_client_has_a_clean_report(
    client: httpx.AsyncClient, server: dict[str, Any], credentials: OAuthCredentials
) -> None:
    token = await open_session(client, credentials)
    await call(client, "GET", "/account", token)
    body = await report(client, server["server_uuid"])
    assert (body["preset"], body["requests_examined"], body["violations"]) == ("off", 2, [])
    assert (await client.get(f"/emulator/v1/mdm-servers/{'0' * 32}/traffic-report")).status_code == 404


async def test_report_names_what_the_client_did_wrong_even_with_rules_off(
    app: FastAPI, client: httpx.AsyncClient, server: dict[str, Any], credentials: OAuthCredentials
) -> None:
    install_fake_sync(app)
    token = await open_session(client, credentials)
    for _ in range(4):
        await call(client, "POST", "/server/devices", token, {"limit": 100})
        await advance(client, 86400)
    for cursor in ("c0", "c1", "c2", "c2"):  # one cycle of two pages, then two new cycles at once
        await call(client, "POST", "/devices/sync", token, {"cursor": cursor})
    await call(client, "PUT", "/profile/devices", token, {"devices": [f"S{i}" for i in range(1500)]})
    body = await report(client, server["server_uuid"])
    words = {v["rule"]: (v["description"], v["count"]) for v in body["violations"]}
    assert words["full_fetch_repeated"] == ("full fetch repeated 3 times within 7 days", 3)
    assert words["sync_too_often"] == (
        "sync cycle started 2 times less than 15 minutes after the previous one",
        2,
    )
    assert words["too_many_devices"] == ("1 request carried more than 1000 devices (largest: 1500)", 1)
    fetches = next(v for v in body["violations"] if v["rule"] == "full_fetch_repeated")
    assert len(fetches["request_ids"]) == 3 and fetches["first_at"] < fetches["last_at"]


async def test_report_lists_refusals_and_ignored_retry_after(
    client: httpx.AsyncClient, org: dict[str, Any], server: dict[str, Any], credentials: OAuthCredentials
) -> None:
    await put_rules(
        client, org["id"], {"overrides": {"budgets": {"account": {"requests": 1, "per_seconds": 60}}}}
    )
    token = await open_session(client, credentials)
    for _ in range(3):
        await call(client, "GET", "/account", token)
    await advance(client, 61)
    await call(client, "GET", "/account", token)
    body = await report(client, server["server_uuid"])
    words = {v["rule"]: (v["description"], v["count"]) for v in body["violations"]}
    assert words == {
        "refused:budget:account": ("refused 2 times: exceeded the request budget for account requests", 2),
        "retry_after_ignored": ("came back before Retry-After had passed 1 time", 1),
    }
