"""Fetch pagination and the fetch → sync hand-off with changes made mid-fetch (spec §6.2, §6.3, §8)."""

from __future__ import annotations

from typing import Any

import httpx

from tests.devices.conftest import OtherServer
from tests.devices.helpers import SERVER_DEVICES, SYNC, add, assign, fetch_all, generate, sync_all

ISO = r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$"


async def _seed(
    client: httpx.AsyncClient, org: dict[str, Any], server: dict[str, Any], count: int
) -> list[str]:
    made = await generate(client, org["id"], count, seed=11, order_number="ORD-FEED")
    response = await client.post(
        f"/emulator/v1/orgs/{org['id']}/assignments",
        json={"server_uuid": server["server_uuid"], "order_number": "ORD-FEED"},
    )
    assert response.json()["summary"] == {"assigned": count}
    serials: list[str] = made["serials"]
    return serials


def apply(state: dict[str, dict[str, Any]], events: list[dict[str, Any]]) -> None:
    """What a client does with a sync page: in order, latest op_date wins, deleted removes."""
    for event in events:
        serial = event["serial_number"]
        known = state.get(serial)
        if known is not None and known.get("op_date", "") > event["op_date"]:
            continue
        if event["op_type"] == "deleted":
            state.pop(serial, None)
        else:
            state[serial] = event


def strip(device: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in device.items() if k not in ("op_type", "op_date")}


async def test_pages_limits_and_order(
    client: httpx.AsyncClient, org: dict[str, Any], server: dict[str, Any], mdm: httpx.AsyncClient
) -> None:
    await _seed(client, org, server, 250)
    first = (await mdm.post(SERVER_DEVICES, json={})).json()
    assert (len(first["devices"]), first["more_to_follow"]) == (100, True)  # default limit (spec §6.2)
    assert all("op_type" not in d and "op_date" not in d for d in first["devices"])
    import re

    assert re.match(ISO, first["fetched_until"])
    second = (await mdm.post(SERVER_DEVICES, json={"cursor": first["cursor"], "limit": 100})).json()
    third = (await mdm.post(SERVER_DEVICES, json={"cursor": second["cursor"], "limit": 100})).json()
    assert (len(second["devices"]), len(third["devices"]), third["more_to_follow"]) == (100, 50, False)
    serials = [d["serial_number"] for d in first["devices"] + second["devices"] + third["devices"]]
    assert len(set(serials)) == 250
    # limits outside [1, max] are clamped (spec §8.5)
    assert len((await mdm.post(SERVER_DEVICES, json={"limit": 5000})).json()["devices"]) == 250
    assert len((await mdm.post(SERVER_DEVICES, json={"limit": 0})).json()["devices"]) == 1
    assert len((await mdm.post(SERVER_DEVICES, json={"limit": -7})).json()["devices"]) == 1
    assert len((await mdm.post(SERVER_DEVICES, json={"limit": 10**30})).json()["devices"]) == 250
    # chronological order of the last operation: a modified device moves to the end
    response = await client.patch(f"/emulator/v1/devices/{serials[0]}", json={"asset_tag": "TAG-1"})
    assert response.status_code == 200
    everything, _ = await fetch_all(mdm)
    assert everything[-1]["serial_number"] == serials[0]
    assert everything[-1]["asset_tag"] == "TAG-1"


async def test_empty_server_fetch_and_empty_sync(mdm: httpx.AsyncClient) -> None:
    page = (await mdm.post(SERVER_DEVICES, json={"cursor": None})).json()
    assert (page["devices"], page["more_to_follow"]) == ([], False)
    synced = (await mdm.post(SYNC, json={"cursor": page["cursor"]})).json()
    assert (synced["devices"], synced["more_to_follow"]) == ([], False)
    assert synced["fetched_until"] == page["fetched_until"]


async def test_changes_made_during_a_fetch_reach_the_client_through_sync(
    client: httpx.AsyncClient,
    org: dict[str, Any],
    server: dict[str, Any],
    mdm: httpx.AsyncClient,
    other: OtherServer,
) -> None:
    await _seed(client, org, server, 30)
    state: dict[str, dict[str, Any]] = {}
    page = (await mdm.post(SERVER_DEVICES, json={"limit": 10})).json()
    seen = [d["serial_number"] for d in page["devices"]]
    for device in page["devices"]:
        state[device["serial_number"]] = device
    everything = [d["serial_number"] for d in (await fetch_all(mdm))[0]]
    unseen = [s for s in everything if s not in seen]
    # mid-fetch: change a device already fetched and one not yet fetched, move one away,
    # unassign one, assign a brand-new one, and re-assign one to the same server
    await client.patch(f"/emulator/v1/devices/{seen[0]}", json={"asset_tag": "MID-1"})
    await client.patch(f"/emulator/v1/devices/{unseen[0]}", json={"asset_tag": "MID-2"})
    await assign(client, org["id"], other.server["server_uuid"], unseen[1])
    await assign(client, org["id"], None, seen[1])
    await add(client, org["id"], "NEWMIDFETCH1")
    await assign(client, org["id"], server["server_uuid"], "NEWMIDFETCH1", unseen[2])
    cursor = page["cursor"]
    while True:
        page = (await mdm.post(SERVER_DEVICES, json={"cursor": cursor, "limit": 10})).json()
        for device in page["devices"]:
            state[device["serial_number"]] = device
        cursor = page["cursor"]
        if not page["more_to_follow"]:
            break
    events, _ = await sync_all(mdm, cursor, limit=3)
    apply(state, events)
    truth, _ = await fetch_all(mdm)
    assert {s: strip(d) for s, d in state.items()} == {d["serial_number"]: d for d in truth}
    assert state[seen[0]]["asset_tag"] == "MID-1" and state[unseen[0]]["asset_tag"] == "MID-2"
    assert unseen[1] not in state and seen[1] not in state and "NEWMIDFETCH1" in state


async def test_sync_pages_oldest_first_with_repeats(
    client: httpx.AsyncClient, org: dict[str, Any], server: dict[str, Any], mdm: httpx.AsyncClient
) -> None:
    serials = await _seed(client, org, server, 2)
    _, cursor = await fetch_all(mdm)
    for tag in ("A", "B", "C"):
        await client.patch(f"/emulator/v1/devices/{serials[0]}", json={"asset_tag": tag})
    await client.patch(f"/emulator/v1/devices/{serials[1]}", json={"asset_tag": "D"})
    page = (await mdm.post(SYNC, json={"cursor": cursor, "limit": 2})).json()
    assert [d["asset_tag"] for d in page["devices"]] == ["A", "B"] and page["more_to_follow"] is True
    assert page["fetched_until"] == page["devices"][-1]["op_date"]
    page = (await mdm.post(SYNC, json={"cursor": page["cursor"], "limit": 2})).json()
    assert [d["asset_tag"] for d in page["devices"]] == ["C", "D"]
    assert [d["op_type"] for d in page["devices"]] == ["modified", "modified"]
    last = (await mdm.post(SYNC, json={"cursor": page["cursor"]})).json()
    assert (last["devices"], last["more_to_follow"]) == ([], False)
