"""The control API's inventory list (`GET /emulator/v1/orgs/{id}/devices`) pinned field by field.

Each listed device must say what `GET /emulator/v1/devices/{serial}` says of it (without the
history, which the list leaves null), for devices with every field set and with every optional
field unset; filters combine with AND and keyset pages by serial number go through them all;
a page deep in a large inventory is still a keyset read of the (org_id, serial_number) index.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone
from typing import Any

import asyncpg
import httpx
import pytest
from dep_emulator.inventory.listing import list_page_sql
from fastapi import FastAPI

from tests.conftest import create_org, create_server
from tests.devices.helpers import add, assign, generate
from tests.plan_helpers import assert_keyset_read, explain

FULL = {
    "model": "iPad Pro",
    "description": 'Ünïcödé "quoted" \\ tab\t✓ <b>&amp;</b>',
    "color": "space gray",
    "device_family": "iPad",
    "os": "iPadOS",
    "asset_tag": "TAG-7",
    "order_number": "PO-7",
    "order_date": "2024-01-02T05:04:05.120000+02:00",  # stored in UTC, microseconds kept
    "wifi_mac_address": "aa:bb:cc:dd:ee:01",
    "bluetooth_mac_address": "AA:BB:CC:DD:EE:02",
    "ethernet_mac_address": "AA:BB:CC:DD:EE:03",
    "imei": ["35 123456 789012 3", "35 123456 789012 4"],
    "meid": ["A0000000000001"],
    "eid": "89049032000000000000000000000001",
    "mdm_migration_deadline": "2030-06-07T08:09:10Z",
}
KEYS = [
    "serial_number",
    "org_id",
    "server_uuid",
    "order_number",
    "order_date",
    "replaces_serial_number",
    "replacement_date",
    "released_from_org_id",
    "released_at",
    "fields",
    "history",
]


async def _list(client: httpx.AsyncClient, org_id: str, **params: Any) -> dict[str, Any]:
    response = await client.get(f"/emulator/v1/orgs/{org_id}/devices", params=params)
    assert response.status_code == 200, response.text
    assert response.headers["content-type"] == "application/json"
    page: dict[str, Any] = response.json()
    return page


async def _inventory(
    client: httpx.AsyncClient, pg: asyncpg.Connection, org: dict[str, Any], server: dict[str, Any]
) -> None:
    """FULL0001 with every field set, BARE0001 with only a serial, and a few plain ones."""
    await add(client, org["id"], "FULL0001", **FULL)
    response = await client.post(
        f"/emulator/v1/orgs/{org['id']}/devices", json={"devices": [{"serial_number": "BARE0001"}]}
    )
    assert response.status_code == 201, response.text
    await add(client, org["id"], "PLAIN-02", "PLAIN.01", "plain_03", order_number="PO-7")
    await assign(client, org["id"], server["server_uuid"], "FULL0001", "PLAIN.01")
    # What no control route sets (profile, replacement), and the assignment's time, fixed here.
    when = datetime(2024, 5, 6, 7, 8, 9, 987654, tzinfo=UTC)
    await pg.execute(
        "UPDATE device SET profile_uuid = 'ABCDEF0123456789ABCDEF0123456789', profile_status = 'pushed',"
        " profile_assign_time = $1, profile_push_time = $1::timestamptz + interval '1 second',"
        " device_assigned_date = $1::timestamptz - interval '1 day', is_replacement_device = true,"
        " replaces_serial_number = 'OLD00001', replacement_date = $2"
        " WHERE serial_number = 'FULL0001'",
        when,
        datetime(2024, 5, 1, 0, 0, 0, tzinfo=UTC),
    )
    other = await create_org(client, name="Other Org")
    await add(client, other["id"], "AAAA-OTHER-ORG")


async def test_every_field_set_and_unset(
    client: httpx.AsyncClient, pg: asyncpg.Connection, org: dict[str, Any], server: dict[str, Any]
) -> None:
    await _inventory(client, pg, org, server)
    page = await _list(client, org["id"])
    assert page["next_cursor"] is None
    listed = {d["serial_number"]: d for d in page["devices"]}
    by_serial = await pg.fetch(
        "SELECT serial_number FROM device WHERE org_id = $1 ORDER BY serial_number", int(org["id"])
    )
    assert list(listed) == [r["serial_number"] for r in by_serial]  # PostgreSQL's order of the keyset
    assert set(listed) == {"FULL0001", "BARE0001", "PLAIN-02", "PLAIN.01", "plain_03"}
    for serial, device in listed.items():
        assert list(device) == KEYS
        single = (await client.get(f"/emulator/v1/devices/{serial}")).json()
        # The list is built by PostgreSQL; the software view (derived per device in Python,
        # dep_emulator.devices.software) is GET one device's only.
        assert single["software"]["os_version"], serial
        assert "software" not in device, serial
        assert device == {k: v for k, v in single.items() if k != "software"} | {"history": None}, serial
    full, bare = listed["FULL0001"], listed["BARE0001"]
    assert {k: v for k, v in full.items() if k != "fields"} == {
        "serial_number": "FULL0001",
        "org_id": org["id"],
        "server_uuid": server["server_uuid"],
        "order_number": "PO-7",
        "order_date": "2024-01-02T03:04:05.120000Z",
        "replaces_serial_number": "OLD00001",
        "replacement_date": "2024-05-01T00:00:00Z",
        "released_from_org_id": None,
        "released_at": None,
        "history": None,
    }
    assert full["fields"] == {
        "serial_number": "FULL0001",
        "model": "iPad Pro",
        "description": FULL["description"],
        "color": "space gray",
        "asset_tag": "TAG-7",
        "profile_status": "pushed",
        "profile_uuid": "ABCDEF0123456789ABCDEF0123456789",
        "profile_assign_time": "2024-05-06T07:08:09Z",
        "profile_push_time": "2024-05-06T07:08:10Z",
        "device_assigned_date": "2024-05-05T07:08:09Z",
        "device_assigned_by": full["fields"]["device_assigned_by"],
        "os": "iPadOS",
        "device_family": "iPad",
        "mdm_migration_deadline": "2030-06-07T08:09:10Z",
        "bluetooth_mac_address": "AA:BB:CC:DD:EE:02",
        "ethernet_mac_address": "AA:BB:CC:DD:EE:03",
        "wifi_mac_address": "aa:bb:cc:dd:ee:01",
        "eid": "89049032000000000000000000000001",
        "imei": ["35 123456 789012 3", "35 123456 789012 4"],
        "meid": ["A0000000000001"],
        "is_replacement_device": True,
    }
    assert isinstance(full["fields"]["device_assigned_by"], str)
    assert bare == {
        "serial_number": "BARE0001",
        "org_id": org["id"],
        "server_uuid": None,
        "order_number": None,
        "order_date": None,
        "replaces_serial_number": None,
        "replacement_date": None,
        "released_from_org_id": None,
        "released_at": None,
        "fields": {
            "serial_number": "BARE0001",
            "model": "iPhone 15",
            "description": "IPHONE 15",
            "color": "",
            "profile_status": "empty",
            "os": "iOS",
            "device_family": "iPhone",
            "is_replacement_device": False,
        },
        "history": None,
    }


async def test_pages_and_filters(
    client: httpx.AsyncClient, pg: asyncpg.Connection, org: dict[str, Any], server: dict[str, Any]
) -> None:
    await _inventory(client, pg, org, server)
    everything = (await _list(client, org["id"]))["devices"]
    order = [d["serial_number"] for d in everything]
    paged: list[dict[str, Any]] = []
    cursor: str | None = None
    while True:
        page = await _list(client, org["id"], limit=2, **({"cursor": cursor} if cursor else {}))
        paged += page["devices"]
        cursor = page["next_cursor"]
        assert (cursor is None) == (len(paged) == len(everything)), page
        if cursor is None:
            break
    assert paged == everything
    last = await _list(client, org["id"], limit=len(order) - 1)
    assert len(last["devices"]) == len(order) - 1 and last["next_cursor"]
    tail = await _list(client, org["id"], limit=5, cursor=last["next_cursor"])
    assert [d["serial_number"] for d in tail["devices"]] == order[-1:] and tail["next_cursor"] is None

    def serials(page: dict[str, Any]) -> list[str]:
        return [d["serial_number"] for d in page["devices"]]

    on_server = await _list(client, org["id"], server_uuid=server["server_uuid"].lower())
    assert serials(on_server) == [s for s in order if s in {"FULL0001", "PLAIN.01"}]
    po7 = await _list(client, org["id"], order_number="PO-7")
    assert serials(po7) == [s for s in order if s not in {"BARE0001"}]
    both = await _list(client, org["id"], order_number="PO-7", server_uuid=server["server_uuid"], limit=1)
    assert len(both["devices"]) == 1 and both["next_cursor"]
    rest = await _list(
        client, org["id"], order_number="PO-7", server_uuid=server["server_uuid"], cursor=both["next_cursor"]
    )
    assert serials(both) + serials(rest) == serials(on_server) and rest["next_cursor"] is None
    assert serials(await _list(client, org["id"], serial="BARE0001")) == ["BARE0001"]
    assert serials(await _list(client, org["id"], serial="BARE0001", order_number="PO-7")) == []
    assert await _list(client, org["id"], serial="AAAA-OTHER-ORG") == {"devices": [], "next_cursor": None}

    url = f"/emulator/v1/orgs/{org['id']}/devices"
    foreign = await create_server(client, (await create_org(client, name="Third Org"))["id"])
    for params, status, code in [
        ({"server_uuid": "NOPE"}, 404, "not_found"),
        ({"server_uuid": foreign["server_uuid"]}, 404, "not_found"),
        ({"cursor": "A"}, 400, "invalid_cursor"),  # not base64 of any length
        ({"limit": 0}, 422, None),
        ({"limit": 1001}, 422, None),
    ]:
        response = await client.get(url, params=params)
        assert response.status_code == status, (params, response.text)
        if code:
            assert response.json()["error"]["code"] == code
    unknown = await client.get("/emulator/v1/orgs/999999/devices")
    assert unknown.status_code == 404


async def test_times_keep_their_microseconds_in_utc(
    client: httpx.AsyncClient, pg: asyncpg.Connection, org: dict[str, Any]
) -> None:
    """The control API's own times are ISO 8601 in UTC with `Z`, microseconds only when there are any."""
    base = datetime(2001, 2, 3, 4, 5, 6, tzinfo=timezone(timedelta(hours=-5)))
    for n, micro in enumerate([0, 1, 500000, 999999]):
        serial = f"TIME{n:04d}"
        await add(client, org["id"], serial)
        await pg.execute(
            "UPDATE device SET order_date = $1 WHERE serial_number = $2",
            base.replace(microsecond=micro),
            serial,
        )
    listed = {d["serial_number"]: d["order_date"] for d in (await _list(client, org["id"]))["devices"]}
    assert listed == {
        "TIME0000": "2001-02-03T09:05:06Z",
        "TIME0001": "2001-02-03T09:05:06.000001Z",
        "TIME0002": "2001-02-03T09:05:06.500000Z",
        "TIME0003": "2001-02-03T09:05:06.999999Z",
    }


@pytest.mark.parametrize("plan_kind", ["generic", "custom"])
async def test_a_page_is_an_index_scan_stopped_by_its_limit(
    app: FastAPI, client: httpx.AsyncClient, pg: asyncpg.Connection, org: dict[str, Any], plan_kind: str
) -> None:
    """Deep in a large inventory a page and its probe for one more device still read the
    (org_id, serial_number) index from the cursor on, never the org's devices before it; the devices
    released from the org (observed F2) are merged in from their own index the same way."""
    await generate(client, org["id"], 3000, seed=7)
    for row in await pg.fetch("SELECT serial_number FROM device ORDER BY serial_number DESC LIMIT 5"):
        assert (await client.delete(f"/emulator/v1/devices/{row[0]}")).status_code == 200
    await pg.execute("ANALYZE device")
    after = await pg.fetchval(
        "SELECT serial_number FROM device WHERE org_id = $1 ORDER BY serial_number OFFSET 2500 LIMIT 1",
        int(org["id"]),
    )
    plan = await explain(
        app,
        list_page_sql(server=False, order_number=False, serial=False, after=True),
        {"org": int(org["id"]), "after": after, "n": 100, "probe": 101, "released_default": "listed"},
        plan_kind,
    )
    assert_keyset_read(plan, "device")
