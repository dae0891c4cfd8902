"""Observed behaviour F3 (issue 29): `feed_delay_seconds` holds changes back from fetch and sync.

Released in order, on the emulator clock; gap-free; op dates and fetched_until stay the times of
the changes; a cursor taken before a change still sees it once released.
"""

from __future__ import annotations

from typing import Any

import httpx

from tests.devices.helpers import SYNC, add, assign, fetch_all, ops, sync_all


async def _advance(client: httpx.AsyncClient, seconds: int) -> str:
    response = await client.post("/emulator/v1/clock", json={"advance_seconds": seconds})
    assert response.status_code == 200, response.text
    now: str = response.json()["now"]
    return now


async def _delay(client: httpx.AsyncClient, org_id: str, seconds: int) -> None:
    response = await client.patch(
        f"/emulator/v1/orgs/{org_id}/settings", json={"feed_delay_seconds": seconds}
    )
    assert response.status_code == 200, response.text
    assert response.json()["feed_delay_seconds"] == seconds


async def test_changes_are_released_in_order_after_the_delay(
    client: httpx.AsyncClient, org: dict[str, Any], server: dict[str, Any], mdm: httpx.AsyncClient
) -> None:
    await _delay(client, org["id"], 60)
    await add(client, org["id"], "DELAY00001", "DELAY00002")
    _, before = await fetch_all(mdm)
    await assign(client, org["id"], server["server_uuid"], "DELAY00001")
    await _advance(client, 10)
    await assign(client, org["id"], server["server_uuid"], "DELAY00002")
    events, cursor = await sync_all(mdm, before)
    assert events == []
    devices, _ = await fetch_all(mdm)
    assert devices == []  # a new fetch does not see them either
    await _advance(client, 45)  # 55 s after the first change
    events, cursor = await sync_all(mdm, cursor)
    assert events == []
    await _advance(client, 6)  # 61 s after the first, 51 s after the second
    events, cursor = await sync_all(mdm, cursor)
    assert ops(events) == [("DELAY00001", "added")]
    assert events[0]["op_date"] == events[0]["device_assigned_date"]  # the time of the change
    await _advance(client, 10)
    events, cursor = await sync_all(mdm, cursor)
    assert ops(events) == [("DELAY00002", "added")]
    # A cursor taken before both changes sees both, in order, once released.
    events, _ = await sync_all(mdm, before)
    assert ops(events) == [("DELAY00001", "added"), ("DELAY00002", "added")]
    page = (await mdm.post(SYNC, json={"cursor": before})).json()
    assert page["fetched_until"] == events[-1]["op_date"]
    devices, _ = await fetch_all(mdm)
    assert sorted(d["serial_number"] for d in devices) == ["DELAY00001", "DELAY00002"]


async def test_a_fetch_taken_during_the_delay_hands_over_to_sync(
    client: httpx.AsyncClient, org: dict[str, Any], server: dict[str, Any], mdm: httpx.AsyncClient
) -> None:
    await add(client, org["id"], "EARLY00001", "LATE000001")
    await assign(client, org["id"], server["server_uuid"], "EARLY00001")
    await _advance(client, 200)  # older than the delay: released
    await _delay(client, org["id"], 120)
    await assign(client, org["id"], server["server_uuid"], "LATE000001")
    devices, cursor = await fetch_all(mdm)
    assert [d["serial_number"] for d in devices] == ["EARLY00001"]
    assert (await sync_all(mdm, cursor))[0] == []
    await _advance(client, 121)
    events, _ = await sync_all(mdm, cursor)
    assert ops(events) == [("LATE000001", "added")]


async def test_no_delay_by_default(
    client: httpx.AsyncClient, org: dict[str, Any], server: dict[str, Any], mdm: httpx.AsyncClient
) -> None:
    settings = (await client.get(f"/emulator/v1/orgs/{org['id']}/settings")).json()
    assert settings["feed_delay_seconds"] == 0
    await add(client, org["id"], "NOW0000001")
    _, cursor = await fetch_all(mdm)
    await assign(client, org["id"], server["server_uuid"], "NOW0000001")
    assert ops((await sync_all(mdm, cursor))[0]) == [("NOW0000001", "added")]
    for bad in (-1, 86_401, "60", 1.5):
        response = await client.patch(
            f"/emulator/v1/orgs/{org['id']}/settings", json={"feed_delay_seconds": bad}
        )
        assert response.status_code == 422, bad
