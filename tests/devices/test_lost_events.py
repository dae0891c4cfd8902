"""Observed behaviour F4 (issue 29): the `lost_events` fault withholds devices' events from sync.

Fetch and details still show the devices; removing the fault does not send what was withheld.
"""

from __future__ import annotations

import hashlib
from typing import Any

import httpx

from tests.devices.helpers import add, assign, fetch_all, generate, ops, sync_all
from tests.traffic.support import journal


async def _fault(client: httpx.AsyncClient, org_id: str, value: dict[str, Any] | None) -> httpx.Response:
    return await client.patch(f"/emulator/v1/orgs/{org_id}/settings", json={"lost_events": value})


async def test_a_lost_serial_never_appears_in_sync(
    client: httpx.AsyncClient, org: dict[str, Any], server: dict[str, Any], mdm: httpx.AsyncClient
) -> None:
    assert (await client.get(f"/emulator/v1/orgs/{org['id']}/settings")).json()["lost_events"] is None
    await add(client, org["id"], "LOST000001", "KEPT000001")
    _, cursor = await fetch_all(mdm)
    assert (await _fault(client, org["id"], {"serials": ["LOST000001"]})).status_code == 200
    await assign(client, org["id"], server["server_uuid"], "LOST000001", "KEPT000001")
    await client.patch("/emulator/v1/devices/LOST000001", json={"asset_tag": "A-1"})
    events, cursor = await sync_all(mdm, cursor)
    assert ops(events) == [("KEPT000001", "added")]
    devices, _ = await fetch_all(mdm)  # a full fetch shows it
    assert sorted(d["serial_number"] for d in devices) == ["KEPT000001", "LOST000001"]
    details = (await mdm.post("/devices", json={"devices": ["LOST000001"]})).json()["devices"]
    assert details["LOST000001"]["response_status"] == "SUCCESS"

    # The fault ends: what was withheld is not sent then; new changes are.
    assert (await _fault(client, org["id"], None)).status_code == 200
    events, cursor = await sync_all(mdm, cursor)
    assert events == []
    await client.patch("/emulator/v1/devices/LOST000001", json={"asset_tag": "A-2"})
    events, _ = await sync_all(mdm, cursor)
    assert ops(events) == [("LOST000001", "modified")]


def _share(serial: str) -> float:
    return int(hashlib.md5(serial.encode()).hexdigest()[:8], 16) / 2**32


async def test_a_probability_loses_the_same_share_of_devices(
    client: httpx.AsyncClient, org: dict[str, Any], server: dict[str, Any], mdm: httpx.AsyncClient
) -> None:
    made = await generate(client, org["id"], 40, seed=29)
    _, cursor = await fetch_all(mdm)
    assert (await _fault(client, org["id"], {"probability": 0.5})).status_code == 200
    await assign(client, org["id"], server["server_uuid"], *made["serials"])
    events, _ = await sync_all(mdm, cursor)
    sent = {e["serial_number"] for e in events}
    lost = set(made["serials"]) - sent
    assert lost == {s for s in made["serials"] if _share(s) < 0.5} and 0 < len(lost) < 40
    devices, _ = await fetch_all(mdm)
    assert len(devices) == 40


async def test_bad_faults_are_refused(client: httpx.AsyncClient, org: dict[str, Any]) -> None:
    for bad in ({"probability": 1.5}, {"serials": "C02"}, {"colour": "blue"}, [], "all"):
        assert (await _fault(client, org["id"], bad)).status_code == 422, bad  # type: ignore[arg-type]


async def test_the_sync_journal_entry_names_the_withheld_events(
    client: httpx.AsyncClient, org: dict[str, Any], server: dict[str, Any], mdm: httpx.AsyncClient
) -> None:
    """The request journal marks each sync page that left events out for the fault: which events
    (sequence number and op type) of which serials; a page without one is not marked."""
    await add(client, org["id"], "LOSTJRN001", "KEPTJRN001")
    _, cursor = await fetch_all(mdm)
    assert (await _fault(client, org["id"], {"serials": ["LOSTJRN001"]})).status_code == 200
    await assign(client, org["id"], server["server_uuid"], "LOSTJRN001", "KEPTJRN001")
    await client.patch("/emulator/v1/devices/LOSTJRN001", json={"asset_tag": "J-1"})
    events, cursor = await sync_all(mdm, cursor)
    assert ops(events) == [("KEPTJRN001", "added")]
    syncs = await journal(client, endpoint="POST /devices/sync", server_uuid=server["server_uuid"])
    marked = [e for e in syncs if e["withheld"]]
    assert len(marked) == 1 and marked[0]["fault"] == "lost_events" and marked[0]["status"] == 200
    withheld = marked[0]["withheld"]
    assert [(w["serial_number"], w["op_type"]) for w in withheld] == [
        ("LOSTJRN001", "added"),
        ("LOSTJRN001", "modified"),
    ]
    assert withheld[0]["seq"] < withheld[1]["seq"]
    # Nothing left out: no mark.
    await assign(client, org["id"], None, "KEPTJRN001")
    await sync_all(mdm, cursor)
    latest = (await journal(client, endpoint="POST /devices/sync", server_uuid=server["server_uuid"]))[-1]
    assert latest["withheld"] is None and latest["fault"] is None
