"""Device details, disown, replacement details, protocol gating and bad input (spec §2, §6.4–§6.7)."""

from __future__ import annotations

from typing import Any

import httpx
import pytest
from dep_emulator.testing.dep_client import OAuthCredentials, dep_client
from fastapi import FastAPI

from tests.conftest import BASE_URL, snapshot
from tests.devices.conftest import OtherServer
from tests.devices.helpers import SERVER_DEVICES, SYNC, add, assign, fetch_all, ops, sync_all

IPAD = {
    "model": "iPad Air 11-inch (M2)",
    "device_family": "iPad",
    "wifi_mac_address": "F0:18:98:00:00:01",
    "imei": ["35 881265 000001 2"],
    "eid": "89049032000001000000000000000001",
    "mdm_migration_deadline": "2026-12-01T00:00:00Z",
}


async def _error(response: httpx.Response, status: int, code: str) -> None:
    assert (response.status_code, response.text) == (status, code)


async def test_details_map_every_requested_serial(
    client: httpx.AsyncClient,
    org: dict[str, Any],
    server: dict[str, Any],
    mdm: httpx.AsyncClient,
    other: OtherServer,
) -> None:
    await add(client, org["id"], "MINE0001", "THEIRS001")
    await assign(client, org["id"], server["server_uuid"], "MINE0001")
    await assign(client, org["id"], other.server["server_uuid"], "THEIRS001")
    response = await mdm.post("/devices", json={"devices": ["MINE0001", "THEIRS001", "NOSUCH", "MINE0001"]})
    assert response.status_code == 200
    devices = response.json()["devices"]
    assert list(devices) == ["MINE0001", "THEIRS001", "NOSUCH"]
    assert devices["MINE0001"]["response_status"] == "SUCCESS"
    assert devices["MINE0001"]["serial_number"] == "MINE0001" and "op_type" not in devices["MINE0001"]
    assert devices["THEIRS001"] == devices["NOSUCH"] == {"response_status": "NOT_ACCESSIBLE"}
    for body in ({}, {"devices": []}, {"devices": None}):
        await _error(await mdm.post("/devices", json=body), 400, "DEVICE_ID_REQUIRED")
        await _error(await mdm.post("/devices/disown", json=body), 400, "DEVICE_ID_REQUIRED")


async def test_disown_removes_the_device_with_a_deleted_event(
    client: httpx.AsyncClient,
    org: dict[str, Any],
    server: dict[str, Any],
    mdm: httpx.AsyncClient,
    other: OtherServer,
) -> None:
    await add(client, org["id"], "MINE0001", "THEIRS001")
    await assign(client, org["id"], server["server_uuid"], "MINE0001")
    await assign(client, org["id"], other.server["server_uuid"], "THEIRS001")
    _, cursor = await fetch_all(mdm)
    response = await mdm.post("/devices/disown", json={"devices": ["MINE0001", "THEIRS001", "NOSUCH"]})
    assert response.json() == {
        "devices": {"MINE0001": "SUCCESS", "THEIRS001": "NOT_ACCESSIBLE", "NOSUCH": "NOT_ACCESSIBLE"}
    }
    assert ops((await sync_all(mdm, cursor))[0]) == [("MINE0001", "deleted")]
    details = (await mdm.post("/devices", json={"devices": ["MINE0001"]})).json()
    assert details["devices"]["MINE0001"] == {"response_status": "NOT_ACCESSIBLE"}
    device = (await client.get("/emulator/v1/devices/MINE0001")).json()
    assert (device["org_id"], device["history"][-1]["action"]) == (None, "disowned")
    assert (await mdm.post("/devices/disown", json={"devices": ["MINE0001"]})).json()["devices"] == {
        "MINE0001": "NOT_ACCESSIBLE"
    }
    # The org's View Assignment History keeps the disowned device's rows, the disown labelled as such.
    page = (await client.get(f"/console/orgs/{org['id']}/history", params={"serial": "MINE0001"})).text
    rows = [r for r in page.split("<tr>")[2:]]  # after the header row
    assert [("disowned" in r, "MDM disown" in r) for r in rows] == [(True, True), (False, False)], rows
    assert "assigned" in rows[1] and server["server_name"] in rows[1]


async def test_replacement_releases_the_original_and_details_name_it(
    client: httpx.AsyncClient,
    org: dict[str, Any],
    server: dict[str, Any],
    mdm: httpx.AsyncClient,
    app: FastAPI,
    credentials: OAuthCredentials,
) -> None:
    await add(client, org["id"], "ORIG000001", **IPAD)
    await assign(client, org["id"], server["server_uuid"], "ORIG000001")
    _, cursor = await fetch_all(mdm)
    response = await client.post(
        "/emulator/v1/devices/ORIG000001/replace", json={"serial_number": "REPL000001"}
    )
    assert response.status_code == 201, response.text
    assert response.json()["fields"]["is_replacement_device"] is True
    events, _ = await sync_all(mdm, cursor)
    assert ops(events) == [("ORIG000001", "deleted"), ("REPL000001", "added")]
    assert events[0]["released_by_replacement"] is True and events[1]["is_replacement_device"] is True
    details = await mdm.get("/device/replacementDetails", params={"device": "REPL000001"})
    assert details.status_code == 200
    body = details.json()
    assert (body["serial_number"], body["original_device_serial_number"]) == ("REPL000001", "ORIG000001")
    assert len(body["replacement_date"]) == 10
    await _error(
        await mdm.get("/device/replacementDetails", params={"device": "ORIG000001"}), 400, "DEVICE_NOT_FOUND"
    )
    await _error(await mdm.get("/device/replacementDetails"), 400, "DEVICE_ID_REQUIRED")
    await client.patch(f"/emulator/v1/orgs/{org['id']}/settings", json={"replacement_not_found_status": 404})
    await _error(
        await mdm.get("/device/replacementDetails", params={"device": "NOSUCH"}), 404, "DEVICE_NOT_FOUND"
    )
    async with dep_client(
        credentials, base_url=BASE_URL, transport=httpx.ASGITransport(app=app), protocol_version=9
    ) as old:
        await _error(
            await old.get("/device/replacementDetails", params={"device": "REPL000001"}), 400, "BAD_REQUEST"
        )
        old_events, _ = await sync_all(old, cursor)
        assert "released_by_replacement" not in old_events[0]


@pytest.mark.parametrize(
    ("version", "present", "absent", "os"),
    [
        (1, {"serial_number", "model", "profile_status"}, {"os", "device_family", "wifi_mac_address"}, None),
        (2, {"os", "device_family"}, {"mdm_migration_deadline", "imei"}, "iOS"),
        (7, {"os"}, {"mdm_migration_deadline"}, "iPadOS"),
        (
            8,
            {"mdm_migration_deadline"},
            {"imei", "eid", "wifi_mac_address", "is_replacement_device"},
            "iPadOS",
        ),
        (
            10,
            {"imei", "eid", "wifi_mac_address", "is_replacement_device", "mdm_migration_deadline"},
            set(),
            "iPadOS",
        ),
    ],
)
async def test_device_fields_are_gated_by_protocol_version(
    client: httpx.AsyncClient,
    org: dict[str, Any],
    server: dict[str, Any],
    app: FastAPI,
    credentials: OAuthCredentials,
    version: int,
    present: set[str],
    absent: set[str],
    os: str | None,
) -> None:
    await add(client, org["id"], "IPAD000001", **IPAD)
    await assign(client, org["id"], server["server_uuid"], "IPAD000001")
    async with dep_client(
        credentials, base_url=BASE_URL, transport=httpx.ASGITransport(app=app), protocol_version=version
    ) as mdm:
        fetched, cursor = await fetch_all(mdm)
        await client.patch("/emulator/v1/devices/IPAD000001", json={"asset_tag": "X"})
        synced, _ = await sync_all(mdm, cursor)
        detail = (await mdm.post("/devices", json={"devices": ["IPAD000001"]})).json()["devices"][
            "IPAD000001"
        ]
    for device in (fetched[0], synced[0], detail):
        assert present <= set(device) and not (absent & set(device))
        assert device.get("os") == os
        assert None not in device.values()


BAD_BODIES: list[tuple[str, bytes | None, Any, int, str]] = [
    (SERVER_DEVICES, b"{not json", None, 400, "MALFORMED_REQUEST_BODY"),
    (SERVER_DEVICES, b"[1, 2]", None, 400, "MALFORMED_REQUEST_BODY"),
    (SERVER_DEVICES, b'"text"', None, 400, "MALFORMED_REQUEST_BODY"),
    (SERVER_DEVICES, None, {"limit": "100"}, 400, "MALFORMED_REQUEST_BODY"),
    (SERVER_DEVICES, None, {"limit": 1.5}, 400, "MALFORMED_REQUEST_BODY"),
    (SERVER_DEVICES, None, {"limit": True}, 400, "MALFORMED_REQUEST_BODY"),
    (SERVER_DEVICES, b"\xff\xfe\x00garbage", None, 400, "MALFORMED_REQUEST_BODY"),
    (SYNC, b"{", None, 400, "MALFORMED_REQUEST_BODY"),
    (SYNC, None, {"cursor": "x", "limit": []}, 400, "MALFORMED_REQUEST_BODY"),
    ("/devices", b"nope", None, 400, "MALFORMED_REQUEST_BODY"),
    ("/devices", None, {"devices": "SN1"}, 400, "MALFORMED_REQUEST_BODY"),
    ("/devices", None, {"devices": [1, 2]}, 400, "MALFORMED_REQUEST_BODY"),
    ("/devices/disown", None, {"devices": [None]}, 400, "MALFORMED_REQUEST_BODY"),
    ("/devices/disown", b"[]", None, 400, "MALFORMED_REQUEST_BODY"),
    ("/devices/disown", b'{"devices": ["\\ud800"]}', None, 400, "MALFORMED_REQUEST_BODY"),
    ("/devices", b'{"devices": ["ok", "\\udfff"]}', None, 400, "MALFORMED_REQUEST_BODY"),
]


async def test_bad_input_gets_apples_answers_and_changes_nothing(
    client: httpx.AsyncClient, org: dict[str, Any], server: dict[str, Any], mdm: httpx.AsyncClient, pg: Any
) -> None:
    await add(client, org["id"], "KEEP000001")
    await assign(client, org["id"], server["server_uuid"], "KEEP000001")
    await fetch_all(mdm)  # the cursor key exists from here on
    before = await snapshot(pg)
    for path, raw, body, status, code in BAD_BODIES:
        response = await (mdm.post(path, content=raw) if raw is not None else mdm.post(path, json=body))
        assert response.status_code == status, (path, raw, body, response.text)
        if code:
            assert response.text == code
    weird = ["ÄÖÜ😀", "KEEP000001\x00", "x" * 5000, "'; DROP TABLE device; --", "KEEP000001 "]
    many = [f"SN{i:08d}" for i in range(10_000)] + weird + ["KEEP000001"] * 3
    details = await mdm.post("/devices", json={"devices": many})
    assert details.status_code == 200
    answer = details.json()["devices"]
    assert len(answer) == 10_000 + len(weird) + 1 and answer["KEEP000001"]["response_status"] == "SUCCESS"
    assert {v["response_status"] for k, v in answer.items() if k != "KEEP000001"} == {"NOT_ACCESSIBLE"}
    assert list(answer)[-len(weird) - 1 :] == [*weird, "KEEP000001"]  # each key as it was asked for
    disown = await mdm.post("/devices/disown", json={"devices": many[:10_000] + weird})
    assert disown.status_code == 200 and set(disown.json()["devices"].values()) == {"NOT_ACCESSIBLE"}
    assert await snapshot(pg) == before
