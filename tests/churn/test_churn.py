"""Scheduled churn: on-demand and clock-driven events, exactly once across replicas, in the DEP sync."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from typing import Any

import asyncpg
import httpx
import pytest
from dep_emulator.core.config import Settings
from dep_emulator.devices.generator import generate_devices

from tests.conftest import BASE_URL, snapshot, start_app
from tests.devices.helpers import add, assign, fetch_all, generate, sync_all

FAST = {"churn_poll_seconds": 0.05}


async def create_churn(
    client: httpx.AsyncClient, org_id: str, status: int = 201, **fields: Any
) -> dict[str, Any]:
    body = {"name": "churn", "kind": "insert", "devices_per_event": 3, "interval_in_seconds": 60, **fields}
    response = await client.post(f"/emulator/v1/orgs/{org_id}/churn", json=body)
    assert response.status_code == status, response.text
    data: dict[str, Any] = response.json()
    return data


async def run(client: httpx.AsyncClient, churn_id: str, status: int = 200) -> dict[str, Any]:
    response = await client.post(f"/emulator/v1/churn/{churn_id}/run")
    assert response.status_code == status, response.text
    data: dict[str, Any] = response.json()
    return data


async def test_insert_and_delete_events_appear_in_the_sync(
    client: httpx.AsyncClient, org: dict[str, Any], server: dict[str, Any], mdm: httpx.AsyncClient
) -> None:
    _, cursor = await fetch_all(mdm)
    inserts = await create_churn(
        client, org["id"], name="ipads", server_uuid=server["server_uuid"], device_types=["iPad"]
    )
    assert (inserts["events_run"], inserts["finished"], inserts["action"]) == (0, False, None)
    first = await run(client, inserts["id"])
    assert first["affected"] == 3 and first["schedule"]["events_run"] == 1
    assert first["schedule"]["next_run_at"] == inserts["next_run_at"]  # a manual run does not move it
    events, cursor = await sync_all(mdm, cursor)
    assert sorted((e["serial_number"], e["op_type"]) for e in events) == sorted(
        (s, "added") for s in first["serials"]
    )
    assert {e["device_family"] for e in events} == {"iPad"}

    second = await run(client, inserts["id"])
    assert not set(second["serials"]) & set(first["serials"])  # the sequence continues

    # Released devices send `deleted` only with the documented setting (observed F1: none by default).
    await client.patch(f"/emulator/v1/orgs/{org['id']}/settings", json={"release_feed_event": "deleted"})
    deletes = await create_churn(
        client,
        org["id"],
        name="retire",
        kind="delete",
        devices_per_event=4,
        server_uuid=server["server_uuid"],
    )
    gone = await run(client, deletes["id"])
    assert gone["affected"] == 4
    events, _ = await sync_all(mdm, cursor)
    deleted = [e["serial_number"] for e in events if e["op_type"] == "deleted"]
    assert sorted(deleted) == gone["serials"]
    device = (await client.get(f"/emulator/v1/devices/{deleted[0]}")).json()
    assert device["org_id"] is None  # released (action "release", the default)


async def test_unassign_deletes_keep_devices_in_the_org(
    client: httpx.AsyncClient, org: dict[str, Any], server: dict[str, Any], mdm: httpx.AsyncClient
) -> None:
    serials = await add(client, org["id"], "CHURNU01", "CHURNU02", "CHURNU03")
    await assign(client, org["id"], server["server_uuid"], *serials)
    _, cursor = await fetch_all(mdm)
    churn = await create_churn(
        client,
        org["id"],
        kind="delete",
        action="unassign",
        devices_per_event=2,
        server_uuid=server["server_uuid"],
        max_event_count=2,
    )
    assert (await run(client, churn["id"]))["affected"] == 2
    last = await run(client, churn["id"])
    assert last["affected"] == 1 and last["schedule"]["finished"] and last["schedule"]["next_run_at"] is None
    events, _ = await sync_all(mdm, cursor)
    assert sorted((e["serial_number"], e["op_type"]) for e in events) == [(s, "deleted") for s in serials]
    listed = (await client.get(f"/emulator/v1/orgs/{org['id']}/devices")).json()["devices"]
    assert [(d["serial_number"], d["server_uuid"]) for d in listed] == [(s, None) for s in serials]

    response = await client.post(f"/emulator/v1/churn/{churn['id']}/run")
    assert response.status_code == 409
    assert response.json()["error"]["code"] == "churn_finished"


async def test_control_api_errors_change_nothing(
    client: httpx.AsyncClient, org: dict[str, Any], server: dict[str, Any], pg: asyncpg.Connection
) -> None:
    await create_churn(client, org["id"])
    before = await snapshot(pg)
    await create_churn(client, org["id"], status=409)  # the name is taken
    for bad in (
        {"devices_per_event": 0},
        {"devices_per_event": 1001},
        {"interval_in_seconds": 0},
        {"kind": "upsert"},
        {"kind": "delete", "device_types": ["iPad"]},
        {"kind": "insert", "action": "unassign"},
        {"device_types": ["Toaster"]},
        {"surprise": 1},
    ):
        response = await client.post(
            f"/emulator/v1/orgs/{org['id']}/churn",
            json={"name": "x", "kind": "insert", "devices_per_event": 1, "interval_in_seconds": 5, **bad},
        )
        assert response.status_code == 422, (bad, response.text)
    other = (await client.post("/emulator/v1/orgs", json={"name": "Other"})).json()
    before = await snapshot(pg)
    response = await client.post(
        f"/emulator/v1/orgs/{other['id']}/churn",
        json={"name": "x", "kind": "insert", "devices_per_event": 1, "interval_in_seconds": 5,
              "server_uuid": server["server_uuid"]},
    )  # fmt: skip
    assert response.status_code == 409 and response.json()["error"]["code"] == "foreign_server"
    for method, path in (
        ("GET", "/emulator/v1/orgs/999/churn"),
        ("GET", "/emulator/v1/churn/424242"),
        ("DELETE", "/emulator/v1/churn/nope"),
        ("POST", "/emulator/v1/churn/424242/run"),
    ):
        assert (await client.request(method, path)).status_code == 404
    assert await snapshot(pg) == before


async def test_list_and_delete(client: httpx.AsyncClient, org: dict[str, Any]) -> None:
    a = await create_churn(client, org["id"], name="a")
    await create_churn(client, org["id"], name="b", kind="delete")
    listed = (await client.get(f"/emulator/v1/orgs/{org['id']}/churn")).json()["churn"]
    assert [(c["name"], c["kind"]) for c in listed] == [("a", "insert"), ("b", "delete")]
    assert (await client.get(f"/emulator/v1/churn/{a['id']}")).json()["name"] == "a"
    assert (await client.delete(f"/emulator/v1/churn/{a['id']}")).status_code == 204
    assert (await client.delete(f"/emulator/v1/orgs/{org['id']}/churn")).json() == {"deleted": 1}
    assert (await client.get(f"/emulator/v1/orgs/{org['id']}/churn")).json() == {"churn": []}


# --- the clock drives it: background workers in every replica --------------------------


@pytest.fixture
async def replicas(settings: Settings, pg: asyncpg.Connection) -> AsyncIterator[list[httpx.AsyncClient]]:
    """Two app instances on one database, each with its churn worker polling every 50 ms."""
    fast = settings.model_copy(update=FAST)
    started = [await start_app(fast) for _ in range(2)]
    clients = [httpx.AsyncClient(transport=httpx.ASGITransport(app=a), base_url=BASE_URL) for a, _ in started]
    try:
        yield clients
    finally:
        for c in clients:
            await c.aclose()
        for _, manager in started:
            await manager.__aexit__(None, None, None)


async def wait_for(client: httpx.AsyncClient, churn_id: str, events: int) -> dict[str, Any]:
    for _ in range(200):
        schedule: dict[str, Any] = (await client.get(f"/emulator/v1/churn/{churn_id}")).json()
        if schedule["events_run"] >= events:
            return schedule
        await asyncio.sleep(0.05)
    raise AssertionError(f"churn {churn_id} ran {schedule['events_run']} events, expected {events}")


async def test_clock_driven_churn_runs_each_event_exactly_once_across_replicas(
    replicas: list[httpx.AsyncClient], pg: asyncpg.Connection
) -> None:
    a, b = replicas
    org = (await a.post("/emulator/v1/orgs", json={"name": "Churn Org"})).json()
    server = (await a.post(f"/emulator/v1/orgs/{org['id']}/mdm-servers", json={"server_name": "S"})).json()
    inserts = await create_churn(
        b, org["id"], name="in", devices_per_event=2, max_event_count=30, server_uuid=server["server_uuid"]
    )
    await asyncio.sleep(0.3)  # not due yet: nothing runs
    assert (await a.get(f"/emulator/v1/churn/{inserts['id']}")).json()["events_run"] == 0

    assert (await a.post("/emulator/v1/clock", json={"advance_seconds": 150})).status_code == 200
    schedule = await wait_for(b, inserts["id"], 2)  # 60 s and 120 s are due, 180 s is not
    await asyncio.sleep(0.3)
    assert (await a.get(f"/emulator/v1/churn/{inserts['id']}")).json()["events_run"] == 2

    await b.post("/emulator/v1/clock", json={"advance_seconds": 3600})  # both race to catch up; stop at 30
    schedule = await wait_for(a, inserts["id"], 30)
    await asyncio.sleep(0.3)
    schedule = (await a.get(f"/emulator/v1/churn/{inserts['id']}")).json()
    assert (schedule["events_run"], schedule["devices_affected"], schedule["finished"]) == (30, 60, True)
    assert await pg.fetchval("SELECT count(*) FROM device") == 60
    feed = await pg.fetch("SELECT op_type, count(*) FROM device_event GROUP BY op_type")
    assert {r["op_type"]: r["count"] for r in feed} == {"added": 60}
    assert schedule["last_error"] is None


async def test_catch_up_runs_every_missed_event_and_deletes_reach_the_sync(
    replicas: list[httpx.AsyncClient], pg: asyncpg.Connection
) -> None:
    from dep_emulator.testing.dep_client import OAuthCredentials, dep_client

    a, b = replicas
    org = (await a.post("/emulator/v1/orgs", json={"name": "Org"})).json()
    server = (await a.post(f"/emulator/v1/orgs/{org['id']}/mdm-servers", json={"server_name": "S"})).json()
    made = await generate(a, org["id"], 30)
    await assign(a, org["id"], server["server_uuid"], *made["serials"])
    await a.patch(f"/emulator/v1/orgs/{org['id']}/settings", json={"release_feed_event": "deleted"})  # F1
    credentials = OAuthCredentials.from_json(
        (await a.post(f"/emulator/v1/mdm-servers/{server['server_uuid']}/oauth-credentials")).json()
    )
    deletes = await create_churn(
        a,
        org["id"],
        kind="delete",
        devices_per_event=2,
        interval_in_seconds=10,
        server_uuid=server["server_uuid"],
    )
    async with dep_client(credentials, base_url=BASE_URL, transport=b._transport) as mdm:
        _, cursor = await fetch_all(mdm)
        await a.post("/emulator/v1/clock", json={"advance_seconds": 75})  # 7 missed events, forever schedule
        schedule = await wait_for(a, deletes["id"], 7)
        await asyncio.sleep(0.3)
        schedule = (await b.get(f"/emulator/v1/churn/{deletes['id']}")).json()
        assert (schedule["events_run"], schedule["devices_affected"]) == (7, 14)
        events, _ = await sync_all(mdm, cursor)
    deleted = [e["serial_number"] for e in events if e["op_type"] == "deleted"]
    assert len(deleted) == len(set(deleted)) == 14
    assert await pg.fetchval("SELECT count(*) FROM device WHERE org_id IS NOT NULL") == 16


@pytest.mark.parametrize("settings_overrides", [FAST])
async def test_a_failing_event_is_recorded_and_the_worker_goes_on(
    client: httpx.AsyncClient, org: dict[str, Any]
) -> None:
    churn = await create_churn(client, org["id"], devices_per_event=1, seed=42, device_types=["iPad"])
    # Somebody else already owns the serial the first event would generate.
    first = next(generate_devices(1, seed=42, families=["iPad"], now=datetime.now(UTC)))
    other = (await client.post("/emulator/v1/orgs", json={"name": "Squatter"})).json()
    await add(client, other["id"], first.serial_number)

    await client.post("/emulator/v1/clock", json={"advance_seconds": 60})
    schedule = await wait_for(client, churn["id"], 1)
    assert "already exist" in schedule["last_error"] and schedule["devices_affected"] == 0
    await client.post("/emulator/v1/clock", json={"advance_seconds": 60})
    schedule = await wait_for(client, churn["id"], 2)
    assert (schedule["last_error"], schedule["devices_affected"]) == (None, 1)
