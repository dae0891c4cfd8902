"""Observed behaviour F2 (issue 29): a released device stays listed, cannot be assigned, and comes back
only when added back; `released_devices: removed` takes it out of the lists as documented.

Apple's guide "Release devices in Apple Business" (support.apple.com, axmec4d28461); fleetdm/fleet#47633.
"""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from tests.dep_helpers import define
from tests.devices.helpers import add, assign, fetch_all, ops, sync_all


async def _listed(client: httpx.AsyncClient, org_id: str, **params: str) -> dict[str, dict[str, Any]]:
    response = await client.get(f"/emulator/v1/orgs/{org_id}/devices", params=params)
    assert response.status_code == 200, response.text
    return {d["serial_number"]: d for d in response.json()["devices"]}


async def test_a_released_device_stays_listed_marked_released(
    client: httpx.AsyncClient, org: dict[str, Any], server: dict[str, Any]
) -> None:
    await add(client, org["id"], "KEPT000001", "KEPT000002", order_number="PO-F2")
    await assign(client, org["id"], server["server_uuid"], "KEPT000001")
    before = (await client.get("/emulator/v1/devices/KEPT000001")).json()
    assert before["released_at"] is None and before["released_from_org_id"] is None
    released = await client.delete("/emulator/v1/devices/KEPT000001")
    assert released.status_code == 200, released.text
    body = released.json()
    assert body["org_id"] is None and body["server_uuid"] is None
    assert body["released_from_org_id"] == org["id"] and body["released_at"]
    listed = await _listed(client, org["id"])
    assert sorted(listed) == ["KEPT000001", "KEPT000002"]  # still in the org's inventory
    assert listed["KEPT000001"] == {k: v for k, v in body.items() if k != "software"} | {"history": None}
    assert listed["KEPT000002"]["released_at"] is None
    # The filters hold for it too: by order and serial it is found, by server (it has none) not.
    assert list(await _listed(client, org["id"], order_number="PO-F2", serial="KEPT000001")) == ["KEPT000001"]
    assert list(await _listed(client, org["id"], server_uuid=server["server_uuid"])) == []
    # Keyset pages over both reads (in the org, released from it) in serial order.
    first = (await client.get(f"/emulator/v1/orgs/{org['id']}/devices", params={"limit": 1})).json()
    assert [d["serial_number"] for d in first["devices"]] == ["KEPT000001"] and first["next_cursor"]
    second = (
        await client.get(
            f"/emulator/v1/orgs/{org['id']}/devices", params={"limit": 1, "cursor": first["next_cursor"]}
        )
    ).json()
    assert [d["serial_number"] for d in second["devices"]] == ["KEPT000002"] and second["next_cursor"] is None


async def test_documented_setting_removes_it_from_the_list(
    client: httpx.AsyncClient, org: dict[str, Any]
) -> None:
    settings = (await client.get(f"/emulator/v1/orgs/{org['id']}/settings")).json()
    assert settings["released_devices"] == "listed"
    response = await client.patch(
        f"/emulator/v1/orgs/{org['id']}/settings", json={"released_devices": "removed"}
    )
    assert response.status_code == 200 and response.json()["released_devices"] == "removed"
    await add(client, org["id"], "GONE000001")
    assert (await client.delete("/emulator/v1/devices/GONE000001")).status_code == 200
    assert await _listed(client, org["id"]) == {}
    single = (await client.get("/emulator/v1/devices/GONE000001")).json()  # still readable by serial
    assert single["released_from_org_id"] == org["id"]
    bad = await client.patch(f"/emulator/v1/orgs/{org['id']}/settings", json={"released_devices": "gone"})
    assert bad.status_code == 422


async def test_every_assignment_route_refuses_it_until_added_back(
    client: httpx.AsyncClient, org: dict[str, Any], server: dict[str, Any], mdm: httpx.AsyncClient
) -> None:
    await add(client, org["id"], "BACK000001", "BACK000002")
    await assign(client, org["id"], server["server_uuid"], "BACK000001")
    _, cursor = await fetch_all(mdm)
    assert (await client.delete("/emulator/v1/devices/BACK000001")).status_code == 200

    # The control API refuses the whole request, naming the device; nothing is assigned.
    refused = await client.post(
        f"/emulator/v1/orgs/{org['id']}/assignments",
        json={"server_uuid": server["server_uuid"], "serials": ["BACK000002", "BACK000001"]},
    )
    assert refused.status_code == 409, refused.text
    error = refused.json()["error"]
    assert error["code"] == "device_released" and error["details"]["serials"] == ["BACK000001"]
    assert "BACK000001" in error["message"] and "add-back" in error["message"]
    assert (await client.get("/emulator/v1/devices/BACK000002")).json()["server_uuid"] is None
    # DEP's profile assignment answers as for a device the server cannot reach.
    profile_uuid = (await define(mdm))["profile_uuid"]
    answer = await mdm.post(
        "/profile/devices", json={"profile_uuid": profile_uuid, "devices": ["BACK000001"]}
    )
    assert answer.status_code == 200
    assert answer.json()["devices"] == {"BACK000001": "NOT_ACCESSIBLE"}
    # Releasing it again: it is not the org's any more.
    assert (await client.delete("/emulator/v1/devices/BACK000001")).status_code == 404

    # Added back (as Apple Configurator or a reseller would): the org's device again ...
    back = await client.post("/emulator/v1/devices/BACK000001/add-back")
    assert back.status_code == 200, back.text
    device = back.json()
    assert device["org_id"] == org["id"] and device["released_at"] is None
    assert device["released_from_org_id"] is None and device["server_uuid"] is None
    assert device["history"][-1]["action"] == "added"
    again = await client.post("/emulator/v1/devices/BACK000001/add-back")
    assert again.status_code == 409 and again.json()["error"]["code"] == "not_released"
    assert (await client.post("/emulator/v1/devices/NOSUCH0001/add-back")).status_code == 404
    # ... and its next assignment is `added` on the server's feed.
    await assign(client, org["id"], server["server_uuid"], "BACK000001")
    events, _ = await sync_all(mdm, cursor)
    assert ops(events) == [("BACK000001", "added")]


@pytest.mark.parametrize("route", ["disown", "replace"])
async def test_disown_and_replacement_keep_it_listed_too(
    client: httpx.AsyncClient, org: dict[str, Any], server: dict[str, Any], mdm: httpx.AsyncClient, route: str
) -> None:
    """Every way out of the org is a release here (the Business API names them as release entity types:
    MDM for a disown, REPLACEMENT for an AppleCare replacement)."""
    await add(client, org["id"], "LEFT000001")
    await assign(client, org["id"], server["server_uuid"], "LEFT000001")
    if route == "disown":
        assert (await mdm.post("/devices/disown", json={"devices": ["LEFT000001"]})).status_code == 200
    else:
        assert (await client.post("/emulator/v1/devices/LEFT000001/replace")).status_code == 201
    listed = await _listed(client, org["id"])
    assert listed["LEFT000001"]["released_from_org_id"] == org["id"]
    assert listed["LEFT000001"]["org_id"] is None
