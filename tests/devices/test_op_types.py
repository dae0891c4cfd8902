"""op_type rules of spec §8.4, as the real service emits them, and the org's "clean" switch."""

from __future__ import annotations

from typing import Any

import httpx

from tests.conftest import snapshot
from tests.devices.conftest import OtherServer
from tests.devices.helpers import add, assign, fetch_all, ops, sync_all

SN = "C02AAA000001"


async def _start(mdm: httpx.AsyncClient) -> str:
    _, cursor = await fetch_all(mdm)
    return cursor


async def test_new_assignment_is_added_with_op_date_equal_to_assigned_date(
    client: httpx.AsyncClient, org: dict[str, Any], server: dict[str, Any], mdm: httpx.AsyncClient
) -> None:
    cursor = await _start(mdm)
    await add(client, org["id"], SN)
    assert await assign(client, org["id"], server["server_uuid"], SN) == {SN: "assigned"}
    events, _ = await sync_all(mdm, cursor)
    assert ops(events) == [(SN, "added")]
    assert events[0]["op_date"] == events[0]["device_assigned_date"]
    assert events[0]["profile_status"] == "empty"
    assert events[0]["device_assigned_by"] == org["email"]


async def test_move_between_servers_is_deleted_on_a_and_modified_removed_on_b(
    client: httpx.AsyncClient,
    org: dict[str, Any],
    server: dict[str, Any],
    mdm: httpx.AsyncClient,
    other: OtherServer,
    pg: Any,
) -> None:
    await add(client, org["id"], SN)
    await assign(client, org["id"], server["server_uuid"], SN)
    await pg.execute(
        "UPDATE device SET profile_uuid = 'C1F123098EB5074580041E69883004C3', profile_status = 'assigned'"
    )
    cursor_a, cursor_b = await _start(mdm), await _start(other.mdm)
    assert await assign(client, org["id"], other.server["server_uuid"], SN) == {SN: "moved"}
    events_a, cursor_a = await sync_all(mdm, cursor_a)
    events_b, cursor_b = await sync_all(other.mdm, cursor_b)
    assert ops(events_a) == [(SN, "deleted")]
    assert events_a[0]["profile_status"] == "assigned"  # last-known fields on the deleted record
    assert ops(events_b) == [(SN, "modified")]
    assert events_b[0]["profile_status"] == "removed"
    assert events_b[0]["profile_uuid"] == "C1F123098EB5074580041E69883004C3"

    # ... and back again: the same shape in the other direction
    assert await assign(client, org["id"], server["server_uuid"], SN) == {SN: "moved"}
    assert ops((await sync_all(mdm, cursor_a))[0]) == [(SN, "modified")]
    assert ops((await sync_all(other.mdm, cursor_b))[0]) == [(SN, "deleted")]


async def test_reassign_to_same_server_clears_profile_but_keeps_uuid(
    client: httpx.AsyncClient, org: dict[str, Any], server: dict[str, Any], mdm: httpx.AsyncClient, pg: Any
) -> None:
    await add(client, org["id"], SN)
    await assign(client, org["id"], server["server_uuid"], SN)
    await pg.execute("UPDATE device SET profile_uuid = 'AB', profile_status = 'pushed'")
    cursor = await _start(mdm)
    assert await assign(client, org["id"], server["server_uuid"], SN) == {SN: "reassigned"}
    events, _ = await sync_all(mdm, cursor)
    assert ops(events) == [(SN, "modified")]
    assert (events[0]["profile_status"], events[0]["profile_uuid"]) == ("removed", "AB")


async def test_unassign_is_deleted_and_unassign_then_assign_is_added(
    client: httpx.AsyncClient,
    org: dict[str, Any],
    server: dict[str, Any],
    mdm: httpx.AsyncClient,
    other: OtherServer,
) -> None:
    await add(client, org["id"], SN)
    await assign(client, org["id"], server["server_uuid"], SN)
    cursor_a, cursor_b = await _start(mdm), await _start(other.mdm)
    assert await assign(client, org["id"], None, SN) == {SN: "unassigned"}
    assert await assign(client, org["id"], None, SN) == {SN: "not_assigned"}
    assert await assign(client, org["id"], other.server["server_uuid"], SN) == {SN: "assigned"}
    assert ops((await sync_all(mdm, cursor_a))[0]) == [(SN, "deleted")]
    events_b, _ = await sync_all(other.mdm, cursor_b)
    assert ops(events_b) == [(SN, "added")]
    assert events_b[0]["profile_status"] == "empty"


async def test_attribute_change_is_modified_and_release_is_deleted(
    client: httpx.AsyncClient, org: dict[str, Any], server: dict[str, Any], mdm: httpx.AsyncClient
) -> None:
    # `deleted` on release is the documented behaviour (observed F1 sends nothing: test_release_feed_event)
    await client.patch(f"/emulator/v1/orgs/{org['id']}/settings", json={"release_feed_event": "deleted"})
    await add(client, org["id"], SN)
    await assign(client, org["id"], server["server_uuid"], SN)
    cursor = await _start(mdm)
    response = await client.patch(f"/emulator/v1/devices/{SN}", json={"asset_tag": "IT-000042"})
    assert response.status_code == 200, response.text
    response = await client.delete(f"/emulator/v1/devices/{SN}")
    assert response.status_code == 200, response.text
    assert response.json()["org_id"] is None
    events, _ = await sync_all(mdm, cursor)
    assert ops(events) == [(SN, "modified"), (SN, "deleted")]
    assert events[0]["asset_tag"] == "IT-000042"
    # removed from ABM and added back: a fresh device, assignable again
    await add(client, org["id"], SN)
    assert await assign(client, org["id"], server["server_uuid"], SN) == {SN: "assigned"}


async def test_clean_feed_style_reports_moves_as_added(
    client: httpx.AsyncClient,
    org: dict[str, Any],
    server: dict[str, Any],
    mdm: httpx.AsyncClient,
    other: OtherServer,
) -> None:
    response = await client.patch(f"/emulator/v1/orgs/{org['id']}/settings", json={"feed_style": "clean"})
    assert response.status_code == 200, response.text
    assert response.json()["feed_style"] == "clean"
    await add(client, org["id"], SN)
    await assign(client, org["id"], server["server_uuid"], SN)
    cursor_a, cursor_b = await _start(mdm), await _start(other.mdm)
    await assign(client, org["id"], other.server["server_uuid"], SN)
    assert ops((await sync_all(mdm, cursor_a))[0]) == [(SN, "deleted")]
    events_b, _ = await sync_all(other.mdm, cursor_b)
    assert ops(events_b) == [(SN, "added")]
    assert events_b[0]["profile_status"] == "empty"


async def test_org_settings_reject_unknown_keys_and_bad_values(
    client: httpx.AsyncClient, org: dict[str, Any]
) -> None:
    url = f"/emulator/v1/orgs/{org['id']}/settings"
    assert (await client.patch(url, json={"feed_stile": "clean"})).status_code == 422
    assert (await client.patch(url, json={"feed_style": "tidy"})).status_code == 422
    assert (await client.get(url)).json()["feed_style"] == "apple"


async def test_assignment_by_order_and_history(
    client: httpx.AsyncClient, org: dict[str, Any], server: dict[str, Any], other: OtherServer
) -> None:
    await add(client, org["id"], "SN0001", "SN0002", order_number="ORD-1")
    await add(client, org["id"], "SN0003", order_number="ORD-2")
    url = f"/emulator/v1/orgs/{org['id']}/assignments"
    response = await client.post(url, json={"server_uuid": server["server_uuid"], "order_number": "ORD-1"})
    assert response.json() == {
        "count": 2,
        "summary": {"assigned": 2},
        "results": {"SN0001": "assigned", "SN0002": "assigned"},
    }
    response = await client.post(
        url, json={"server_uuid": other.server["server_uuid"], "serials": ["SN0001", "NOPE"]}
    )
    assert response.json()["results"] == {"SN0001": "moved", "NOPE": "not_found"}
    device = (await client.get("/emulator/v1/devices/SN0001")).json()
    assert device["server_uuid"] == other.server["server_uuid"]
    assert [(h["action"], h["server_uuid"]) for h in device["history"]] == [
        ("assigned", server["server_uuid"]),
        ("moved", other.server["server_uuid"]),
    ]
    listed = (
        await client.get(
            f"/emulator/v1/orgs/{org['id']}/devices", params={"server_uuid": server["server_uuid"]}
        )
    ).json()
    assert [d["serial_number"] for d in listed["devices"]] == ["SN0002"]


async def test_control_api_bad_input_is_a_4xx_and_changes_nothing(
    client: httpx.AsyncClient, org: dict[str, Any], server: dict[str, Any], pg: Any
) -> None:
    await add(client, org["id"], SN)
    before = await snapshot(pg)
    url = f"/emulator/v1/orgs/{org['id']}"
    cases = [
        ("post", f"{url}/devices", {"devices": [{"serial_number": SN}, {"serial_number": "NEW1"}]}, 409),
        ("post", f"{url}/devices", {"devices": [{"serial_number": "NEW1"}, {"serial_number": "NEW1"}]}, 409),
        ("post", f"{url}/devices", {"devices": [{"serial_number": "bad serial!"}]}, 422),
        ("post", f"{url}/devices", {"devices": [], "generate": {"count": 1}}, 422),
        ("post", f"{url}/devices", {"generate": {"count": 0}}, 422),
        ("post", f"{url}/devices", {"generate": {"count": 1, "families": ["Toaster"]}}, 422),
        ("post", f"{url}/assignments", b'{"server_uuid": null, "serials": ["\\ud800"]}', 422),
        ("post", f"{url}/assignments", {"server_uuid": "NOPE", "serials": [SN]}, 404),
        ("post", f"{url}/assignments", {"server_uuid": None}, 422),
        ("patch", f"/emulator/v1/devices/{SN}", {"model": None}, 422),
        ("patch", "/emulator/v1/devices/NOSUCH", {"asset_tag": "x"}, 404),
        ("delete", "/emulator/v1/devices/NOSUCH", None, 404),
        ("post", "/emulator/v1/devices/NOSUCH/replace", None, 404),
    ]
    for method, path, body, status in cases:
        if isinstance(body, bytes):
            response = await client.request(
                method, path, content=body, headers={"content-type": "application/json"}
            )
        else:
            response = await client.request(method, path, json=body)
        assert response.status_code == status, (path, body, response.text)
    duplicate = await client.post(f"{url}/devices", json={"devices": [{"serial_number": SN}]})
    assert duplicate.json()["error"]["details"]["serials"] == [SN]
    csv = await client.post(
        f"{url}/devices",
        content=b"serial_number,model\nCSV0001,iPad mini\n,iPhone\n",
        headers={"content-type": "text/csv"},
    )
    assert csv.status_code == 422 and "line 3" in csv.json()["error"]["message"]
    assert await snapshot(pg) == before


async def test_csv_upload_and_generate(client: httpx.AsyncClient, org: dict[str, Any]) -> None:
    url = f"/emulator/v1/orgs/{org['id']}/devices"
    body = (
        "serial_number,model,order_number,imei\n"
        "CSV0001,iPad mini,ORD-9,35 1 2;35 3 4\nCSV0002,MacBook Pro,ORD-9,\n"
    )
    response = await client.post(url, content=body.encode(), headers={"content-type": "text/csv"})
    assert response.json() == {"count": 2, "serials": ["CSV0001", "CSV0002"]}
    ipad = (await client.get("/emulator/v1/devices/CSV0001")).json()["fields"]
    assert (ipad["device_family"], ipad["os"], ipad["imei"]) == ("iPad", "iPadOS", ["35 1 2", "35 3 4"])
    one = await client.post(url, json={"generate": {"count": 5, "seed": 3, "families": ["Mac"]}})
    assert one.status_code == 201 and one.json()["seed"] == 3 and len(one.json()["serials"]) == 5
    again = await client.post(url, json={"generate": {"count": 5, "seed": 3, "families": ["Mac"]}})
    assert again.status_code == 409  # deterministic: the same seed makes the same serials
    listed = (await client.get(url, params={"limit": 4})).json()
    rest = (await client.get(url, params={"limit": 4, "cursor": listed["next_cursor"]})).json()
    assert len(listed["devices"]) == 4 and len(rest["devices"]) == 3 and rest["next_cursor"] is None
