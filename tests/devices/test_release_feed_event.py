"""Observed behaviour F1 (issue 29): a release sends no `deleted`; `release_feed_event` switches it back.

Apple support (fleetdm/fleet#49268): `deleted` is only sent when a device is reassigned to another
server. DEP disown and AppleCare replacement keep their documented `deleted`.
"""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from tests.devices.conftest import OtherServer
from tests.devices.helpers import add, assign, fetch_all, ops, sync_all


async def _setting(client: httpx.AsyncClient, org_id: str, value: str | None) -> None:
    response = await client.patch(f"/emulator/v1/orgs/{org_id}/settings", json={"release_feed_event": value})
    assert response.status_code == 200, response.text


async def test_release_is_silent_by_default(
    client: httpx.AsyncClient, org: dict[str, Any], server: dict[str, Any], mdm: httpx.AsyncClient
) -> None:
    assert (await client.get(f"/emulator/v1/orgs/{org['id']}/settings")).json()[
        "release_feed_event"
    ] == "none"
    await add(client, org["id"], "QUIET00001", "QUIET00002")
    await assign(client, org["id"], server["server_uuid"], "QUIET00001", "QUIET00002")
    _, cursor = await fetch_all(mdm)
    assert (await client.delete("/emulator/v1/devices/QUIET00001")).status_code == 200
    # For contrast: an unassignment is a move off the server, which Apple does report.
    response = await client.post(
        f"/emulator/v1/orgs/{org['id']}/assignments", json={"server_uuid": None, "serials": ["QUIET00002"]}
    )
    assert response.status_code == 200
    events, cursor = await sync_all(mdm, cursor)
    assert ops(events) == [("QUIET00002", "deleted")]  # an unassignment still says so; the release did not
    # The MDM can still learn it: fetch no longer lists it and details answer NOT_ACCESSIBLE.
    devices, _ = await fetch_all(mdm)
    assert [d["serial_number"] for d in devices] == []
    details = (await mdm.post("/devices", json={"devices": ["QUIET00001"]})).json()["devices"]
    assert details == {"QUIET00001": {"response_status": "NOT_ACCESSIBLE"}}


@pytest.mark.parametrize("value", ["deleted", None])
async def test_documented_value_sends_deleted(
    client: httpx.AsyncClient,
    org: dict[str, Any],
    server: dict[str, Any],
    mdm: httpx.AsyncClient,
    value: str | None,
) -> None:
    """`deleted` restores the documented event; null resets the key to its default (none)."""
    await _setting(client, org["id"], "deleted")
    await _setting(client, org["id"], value)
    await add(client, org["id"], "LOUD000001")
    await assign(client, org["id"], server["server_uuid"], "LOUD000001")
    _, cursor = await fetch_all(mdm)
    assert (await client.delete("/emulator/v1/devices/LOUD000001")).status_code == 200
    events, _ = await sync_all(mdm, cursor)
    assert ops(events) == ([("LOUD000001", "deleted")] if value == "deleted" else [])


async def test_disown_and_replacement_keep_their_deleted(
    client: httpx.AsyncClient,
    org: dict[str, Any],
    server: dict[str, Any],
    mdm: httpx.AsyncClient,
    other: OtherServer,
) -> None:
    await add(client, org["id"], "DISOWN0001", "REPLACE001")
    await assign(client, org["id"], server["server_uuid"], "DISOWN0001", "REPLACE001")
    _, cursor = await fetch_all(mdm)
    assert (await mdm.post("/devices/disown", json={"devices": ["DISOWN0001"]})).status_code == 200
    assert (await client.post("/emulator/v1/devices/REPLACE001/replace")).status_code == 201
    events, _ = await sync_all(mdm, cursor)
    assert ("DISOWN0001", "deleted") in ops(events) and ("REPLACE001", "deleted") in ops(events)
    assert [e for e in events if e["serial_number"] == "REPLACE001"][0]["released_by_replacement"] is True


async def test_unknown_value_is_refused(client: httpx.AsyncClient, org: dict[str, Any]) -> None:
    response = await client.patch(
        f"/emulator/v1/orgs/{org['id']}/settings", json={"release_feed_event": "maybe"}
    )
    assert response.status_code == 422
