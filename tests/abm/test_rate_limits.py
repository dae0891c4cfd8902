"""429 with Retry-After on the Business Manager API through the traffic rules (abm-api.md §1.8):
GET and write budgets per API account, set per org, off by default, shared by replicas."""

from __future__ import annotations

from typing import Any

import httpx
from dep_emulator.core.config import Settings
from fastapi import FastAPI

from tests.abm.conftest import ApiAccount, assert_error, bearer_client, create_api_account, get_token
from tests.abm.test_flow import activity_body
from tests.conftest import snapshot, start_app
from tests.devices.helpers import add
from tests.traffic.support import advance, journal, put_rules


def budgets(**classes: tuple[int, float]) -> dict[str, Any]:
    return {
        "overrides": {
            "budgets": {name: {"requests": n, "per_seconds": per} for name, (n, per) in classes.items()}
        }
    }


def assert_refused(response: httpx.Response, *, max_retry_after: int) -> None:
    error = assert_error(response, 429, "RATE_LIMIT_EXCEEDED")
    assert error["title"] == "The request rate limit has been reached."
    retry_after = response.headers["retry-after"]
    assert retry_after.isdigit() and 1 <= int(retry_after) <= max_retry_after
    assert retry_after in error["detail"]


async def test_off_by_default(abm: httpx.AsyncClient, client: httpx.AsyncClient, org: dict[str, Any]) -> None:
    rules = (await client.get(f"/emulator/v1/orgs/{org['id']}/traffic-rules")).json()
    assert rules["preset"] == "off" and rules["effective"]["budgets"] == {}
    statuses = {(await abm.get("/v1/mdmServers")).status_code for _ in range(25)}
    assert statuses == {200}


async def test_get_budget_fires_with_429_and_retry_after(
    abm: httpx.AsyncClient, client: httpx.AsyncClient, org: dict[str, Any]
) -> None:
    # Even an org that chose 503 for DEP refusals gets Apple's 429 on /v1.
    await put_rules(client, org["id"], {**budgets(abm_get=(3, 60)), "refusal_status": 503})
    inside = [(await abm.get("/v1/orgDevices")).status_code for _ in range(3)]
    assert inside == [200, 200, 200]
    refused = await abm.get("/v1/orgDevices")
    assert_refused(refused, max_retry_after=20)
    assert refused.headers["content-type"] == "application/json"
    # Writes have their own budget (none here): still admitted.
    created = await abm.post("/v1/orgDeviceActivities", json=activity_body("RELEASE_DEVICES", ["NOSUCH0001"]))
    assert created.status_code == 409
    (entry,) = await journal(client, status=429)
    assert entry["rule"] == "budget:abm_get" and entry["retry_after"] == refused.headers["retry-after"]
    # The bucket refills on the emulator clock.
    await advance(client, 60)
    assert (await abm.get("/v1/orgDevices")).status_code == 200


async def test_post_budget_and_a_refused_write_changes_nothing(
    abm: httpx.AsyncClient,
    client: httpx.AsyncClient,
    pg: Any,
    org: dict[str, Any],
    server: dict[str, Any],
) -> None:
    await add(client, org["id"], "LIMITED001", "LIMITED002")
    await put_rules(client, org["id"], budgets(abm_post=(1, 3600)))
    first = activity_body("ASSIGN_DEVICES", ["LIMITED001"], server["server_uuid"])
    assert (await abm.post("/v1/orgDeviceActivities", json=first)).status_code == 201
    before = await snapshot(pg)
    second = activity_body("ASSIGN_DEVICES", ["LIMITED002"], server["server_uuid"])
    refused = await abm.post("/v1/orgDeviceActivities", json=second)
    assert_refused(refused, max_retry_after=3600)
    assert int(refused.headers["retry-after"]) > 3000  # one request an hour
    assert await snapshot(pg) == before
    # PATCH and DELETE draw on the same write budget; reads do not.
    patched = await abm.patch(
        f"/v1/mdmServers/{server['server_uuid']}",
        json={"data": {"type": "mdmServers", "attributes": {"serverName": "Renamed"}}},
    )
    assert_refused(patched, max_retry_after=3600)
    assert (await abm.get("/v1/orgDevices/LIMITED002")).json()["data"]["attributes"]["status"] == "UNASSIGNED"


async def test_budgets_are_per_api_account(
    app: FastAPI, abm: httpx.AsyncClient, client: httpx.AsyncClient, org: dict[str, Any]
) -> None:
    await put_rules(client, org["id"], budgets(abm_get=(2, 3600)))
    assert [(await abm.get("/v1/mdmServers")).status_code for _ in range(3)] == [200, 200, 429]
    second = await create_api_account(client, org["id"])
    async with bearer_client(app, await get_token(client, second)) as other:
        assert [(await other.get("/v1/mdmServers")).status_code for _ in range(3)] == [200, 200, 429]


async def test_strict_preset_uses_apples_measured_limits(
    client: httpx.AsyncClient, org: dict[str, Any]
) -> None:
    effective = (await put_rules(client, org["id"], {"preset": "strict"}))["effective"]["budgets"]
    assert effective["abm_get"] == {"requests": 20, "per_seconds": 60}
    assert effective["abm_post"] == {"requests": 10, "per_seconds": 3600}


async def test_budgets_are_shared_by_two_app_instances(
    settings: Settings,
    app: FastAPI,
    client: httpx.AsyncClient,
    org: dict[str, Any],
    api_account: ApiAccount,
) -> None:
    await put_rules(client, org["id"], budgets(abm_get=(4, 3600)))
    token = await get_token(client, api_account)
    second, manager = await start_app(settings)
    try:
        async with bearer_client(app, token) as one, bearer_client(second, token) as two:
            replicas = (one, two)
            got = [(await replicas[i % 2].get("/v1/orgDevices")).status_code for i in range(6)]
            assert got == [200, 200, 200, 200, 429, 429]
            assert_refused(await two.get("/v1/orgDevices"), max_retry_after=3600)
    finally:
        await manager.__aexit__(None, None, None)
