"""Listed devices (CSV streamed, JSON lists) written as sets through a staging table (issue 14)."""

from __future__ import annotations

from typing import Any

import asyncpg
import httpx
import pytest
from dep_emulator.bulk import importing

from tests.conftest import snapshot
from tests.devices.helpers import add, assign, fetch_all, ops, sync_all, upload

CSV_HEAD = "\ufeffserial_number,model,description,imei,order_number\r\n"


def csv_rows(serials: list[str]) -> str:
    return "".join(
        f"{s},iPhone 15,IPHONE 15 128GB,35 123456 789012 3;35 123456 789013 1,PO-9\r\n" for s in serials
    )


async def test_a_streamed_csv_in_batches_keeps_every_cell(
    client: httpx.AsyncClient, org: dict[str, Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(importing, "BATCH", 4)
    serials = [f"CSVSTREAM{i:03d}" for i in range(11)]
    odd = 'ODDCELLS0001,iPad Air,"Ünïcödé, ""quoted""\nsecond line",,PO-9\r\n'
    response = await upload(
        client, org["id"], CSV_HEAD + csv_rows(serials[:6]) + "\r\n" + odd + csv_rows(serials[6:])
    )
    assert response.status_code == 201, response.text
    assert response.json()["serials"] == [*serials[:6], "ODDCELLS0001", *serials[6:]]
    device = (await client.get(f"/emulator/v1/devices/{serials[9]}")).json()
    assert device["fields"]["imei"] == ["35 123456 789012 3", "35 123456 789013 1"]
    assert device["order_number"] == "PO-9" and device["fields"]["device_family"] == "iPhone"
    oddity = (await client.get("/emulator/v1/devices/ODDCELLS0001")).json()["fields"]
    assert oddity["description"] == 'Ünïcödé, "quoted"\nsecond line'
    assert oddity["device_family"] == "iPad" and "imei" not in oddity


async def test_a_csv_onto_a_server_is_added_in_file_order_revived_serials_too(
    client: httpx.AsyncClient,
    org: dict[str, Any],
    server: dict[str, Any],
    mdm: httpx.AsyncClient,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(importing, "BATCH", 3)
    await add(client, org["id"], "REVIVED00001")
    await assign(client, org["id"], server["server_uuid"], "REVIVED00001")
    assert (await client.delete("/emulator/v1/devices/REVIVED00001")).status_code == 200
    _, cursor = await fetch_all(mdm)
    serials = ["NEWCSV00001", "NEWCSV00002", "REVIVED00001", "NEWCSV00003", "NEWCSV00004"]
    response = await upload(
        client, org["id"], CSV_HEAD + csv_rows(serials), server_uuid=server["server_uuid"]
    )
    assert response.status_code == 201, response.text
    events, _ = await sync_all(mdm, cursor, limit=2)
    assert ops(events) == [(s, "added") for s in serials]
    assert all(e["device_assigned_by"] == org["email"] and e["profile_status"] == "empty" for e in events)
    revived = (await client.get("/emulator/v1/devices/REVIVED00001")).json()
    assert revived["org_id"] == org["id"] and revived["server_uuid"] == server["server_uuid"]
    assert [h["action"] for h in revived["history"]] == ["assigned", "released", "assigned"]
    assert revived["fields"]["model"] == "iPhone 15" and revived["fields"]["imei"]


async def test_a_duplicate_anywhere_writes_nothing_and_every_one_is_named(
    client: httpx.AsyncClient,
    org: dict[str, Any],
    server: dict[str, Any],
    pg: asyncpg.Connection,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(importing, "BATCH", 10)
    await add(client, org["id"], "TAKEN000001")
    serials = [f"FRESH{i:05d}" for i in range(40)]
    body = CSV_HEAD + csv_rows(["TAKEN000001", *serials, "FRESH00007"])  # first row, and the last
    before = await snapshot(pg)
    response = await upload(client, org["id"], body, server_uuid=server["server_uuid"])
    assert response.status_code == 409, response.text
    error = response.json()["error"]
    assert error["code"] == "duplicate_serials"
    assert error["details"]["serials"] == ["FRESH00007", "TAKEN000001"]
    assert await snapshot(pg) == before


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("model\r\niPhone 15\r\n", "the first row must be a header naming serial_number"),
        ("serial_number,model\r\n", "no devices in the CSV"),
        ("serial_number,model\r\nGOOD0001,iPhone 15\r\nGOOD0002,iPhone 15,extra\r\n", "line 3: more cells"),
        ("serial_number,model\r\nGOOD0001,iPhone 15\r\nbad serial!,iPhone 15\r\n", "line 3: serial_number"),
        ("serial_number,wifi_mac_address\r\n\r\nGOOD0001,nope\r\n", "line 2: wifi_mac_address"),
    ],
)
async def test_a_bad_csv_names_its_line_and_writes_nothing(
    client: httpx.AsyncClient, org: dict[str, Any], pg: asyncpg.Connection, text: str, message: str
) -> None:
    before = await snapshot(pg)
    response = await upload(client, org["id"], text)
    assert response.status_code == 422, response.text
    error = response.json()["error"]
    assert error["code"] == "invalid_csv" and message in error["message"]
    assert await snapshot(pg) == before


async def test_a_csv_that_is_not_utf8_is_refused(
    client: httpx.AsyncClient, org: dict[str, Any], pg: asyncpg.Connection
) -> None:
    before = await snapshot(pg)
    response = await client.post(
        f"/emulator/v1/orgs/{org['id']}/devices",
        content=b"serial_number,model\r\nLATIN0001,caf\xe9\r\n",
        headers={"Content-Type": "text/csv"},
    )
    assert response.status_code == 422 and response.json()["error"]["code"] == "invalid_csv"
    assert await snapshot(pg) == before


async def test_a_json_list_onto_a_server(
    client: httpx.AsyncClient, org: dict[str, Any], server: dict[str, Any], mdm: httpx.AsyncClient
) -> None:
    _, cursor = await fetch_all(mdm)
    devices = [{"serial_number": f"JSONLIST{i:04d}", "model": "Mac mini"} for i in range(7)]
    response = await client.post(
        f"/emulator/v1/orgs/{org['id']}/devices",
        json={"devices": devices},
        params={"server_uuid": server["server_uuid"]},
    )
    assert response.status_code == 201, response.text
    events, _ = await sync_all(mdm, cursor)
    assert ops(events) == [(d["serial_number"], "added") for d in devices]
    assert events[0]["device_family"] == "Mac" and events[0]["os"] == "OSX"


@pytest.mark.parametrize("settings_overrides", [{"max_body_bytes": 4096}])
async def test_a_csv_larger_than_the_body_limit_is_streamed_past_it(
    client: httpx.AsyncClient, org: dict[str, Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    """The body limit buffers and caps other bodies; a CSV upload is read by its route as it arrives."""
    monkeypatch.setattr(importing, "BATCH", 50)
    serials = [f"BIGCSV{i:05d}" for i in range(300)]
    text = CSV_HEAD + csv_rows(serials)
    assert len(text.encode()) > 4 * 4096
    response = await upload(client, org["id"], text)
    assert response.status_code == 201, response.text
    assert response.json()["count"] == 300
    devices = [{"serial_number": s, "model": "iPhone 15"} for s in serials]
    response = await client.post(f"/emulator/v1/orgs/{org['id']}/devices", json={"devices": devices})
    assert response.status_code == 413
