"""Fetch and sync pages built by PostgreSQL say what the Python wire code says (feed.wire_sql).

Also: the rotated session header survives the pre-encoded response, and the `echo_cursor`
fault (micromdm#1016 / nanodep#73, spec §8.4) plays out on POST /devices/sync and is journaled.
"""

from __future__ import annotations

import json
import re
from datetime import UTC, datetime
from typing import Any

import asyncpg
import httpx
import pytest
from dep_emulator.clock.service import isoformat
from dep_emulator.core.config import MAX_PROTOCOL_VERSION
from dep_emulator.devices import wire
from dep_emulator.devices.models import DEVICE_WIRE_ARGUMENTS
from dep_emulator.feed import wire_sql
from dep_emulator.testing.dep_client import OAuthCredentials

from tests.devices.helpers import SERVER_DEVICES, SYNC, add, assign, generate
from tests.traffic.support import add_fault, advance, call, journal, open_session


def test_stored_wire_text_is_built_from_the_wire_columns() -> None:
    """The generated `device.wire` column (migration 0010) takes exactly the columns, in order,
    that the field-by-field SQL builds a device from: neither can gain a field alone."""
    referenced = list(dict.fromkeys(re.findall(r"\bd\.(\w+)", wire_sql.device_text("d"))))
    assert DEVICE_WIRE_ARGUMENTS.split(", ") == referenced


async def _varied_inventory(client: httpx.AsyncClient, org: dict[str, Any], server: dict[str, Any]) -> None:
    """Every family, iPads on iPadOS, empty and full imei/meid, odd characters, set profile times."""
    made = await generate(client, org["id"], 40, seed=5, families=["iPhone", "iPad", "Mac", "AppleTV"])
    await add(client, org["id"], "ODDCHARS0001", description='Ünïcödé "quoted" \\ tab\t✓', imei=[], meid=[])
    await add(client, org["id"], "IPADOS000001", model="iPad Pro", device_family="iPad", os="iPadOS")
    await assign(client, org["id"], server["server_uuid"], *made["serials"], "ODDCHARS0001", "IPADOS000001")


async def _set_profile_fields(client: httpx.AsyncClient, pg: asyncpg.Connection) -> None:
    """Profile fields have no control API here yet: set them in the table, then PATCH (new snapshot)."""
    when = datetime(2024, 5, 6, 7, 8, 9, 987654, tzinfo=UTC)
    await pg.execute(
        "UPDATE device SET profile_uuid = 'ABCDEF0123456789ABCDEF0123456789', profile_status = 'pushed',"
        " profile_assign_time = $1, profile_push_time = $1, mdm_migration_deadline = $1"
        " WHERE serial_number IN ('IPADOS000001', 'ODDCHARS0001')",
        when,
    )
    for serial in ("IPADOS000001", "ODDCHARS0001"):
        response = await client.patch(f"/emulator/v1/devices/{serial}", json={"asset_tag": "A-1"})
        assert response.status_code == 200, response.text


async def test_pages_match_the_python_wire_code_for_every_version(
    client: httpx.AsyncClient,
    org: dict[str, Any],
    server: dict[str, Any],
    mdm: httpx.AsyncClient,
    pg: asyncpg.Connection,
) -> None:
    empty = (await mdm.post(SERVER_DEVICES, json={})).json()
    assert (empty["devices"], empty["more_to_follow"]) == ([], False)  # a sync cursor at the feed's start
    await _varied_inventory(client, org, server)
    await _set_profile_fields(client, pg)
    await client.delete("/emulator/v1/devices/ODDCHARS0001")  # a deleted event
    response = await client.post(f"/emulator/v1/devices/{(await _first_serial(pg))}/replace")
    assert response.status_code == 201  # released_by_replacement, and an added replacement
    snapshots = [
        (json.loads(row["snapshot"]), row["op_type"], row["op_at"])
        for row in await pg.fetch("SELECT snapshot, op_type, op_at FROM device_event ORDER BY seq")
    ]
    assert any(s.get("released_by_replacement") for s, _, _ in snapshots)
    for version in range(1, MAX_PROTOCOL_VERSION + 1):
        headers = {"X-Server-Protocol-Version": str(version)}
        fetched = (await mdm.post(SERVER_DEVICES, json={"limit": 1000}, headers=headers)).json()
        serials = [d["serial_number"] for d in fetched["devices"]]
        details = (await mdm.post("/devices", json={"devices": serials}, headers=headers)).json()["devices"]
        expected = [{k: v for k, v in details[s].items() if k != "response_status"} for s in serials]
        assert fetched["devices"] == expected, version
        assert any(d.get("mdm_migration_deadline") == "2024-05-06T07:08:09Z" for d in expected) == (
            version >= 8
        )
        body = {"cursor": empty["cursor"], "limit": 1000}
        synced = (await mdm.post(SYNC, json=body, headers=headers)).json()
        python_side = [
            wire.gate(s, version) | {"op_type": op, "op_date": isoformat(at)} for s, op, at in snapshots
        ]
        assert synced["devices"] == python_side, version
        ipad = next(d for d in expected if d["serial_number"] == "IPADOS000001")
        assert ipad.get("os") == (None if version < 2 else "iOS" if version < 7 else "iPadOS")


async def _first_serial(pg: asyncpg.Connection) -> str:
    serial: str = await pg.fetchval(
        "SELECT serial_number FROM device WHERE server_id IS NOT NULL AND serial_number <> 'IPADOS000001'"
        " ORDER BY id LIMIT 1"
    )
    return serial


@pytest.mark.parametrize(
    "settings_overrides",
    [{"session_rotation_seconds": 60, "session_rotation_grace_seconds": 30, "session_ttl_seconds": 3600}],
)
async def test_pre_encoded_pages_carry_the_rotated_session_header(
    client: httpx.AsyncClient, credentials: OAuthCredentials
) -> None:
    token = await open_session(client, credentials)
    first = await call(client, "POST", SERVER_DEVICES, token, {})
    assert first.status_code == 200
    assert first.headers["x-adm-auth-session"] == token
    assert first.headers["content-type"] == "application/json;charset=UTF8"
    await advance(client, 61)
    rotated = await call(client, "POST", SYNC, token, {"cursor": first.json()["cursor"]})
    assert rotated.status_code == 200
    new = rotated.headers["x-adm-auth-session"]
    assert new != token
    fetched = await call(client, "POST", SERVER_DEVICES, new, {})
    assert (fetched.status_code, fetched.headers["x-adm-auth-session"]) == (200, new)


async def test_echo_cursor_fault_fires_exactly_count_times_and_is_journaled(
    client: httpx.AsyncClient, org: dict[str, Any], server: dict[str, Any], credentials: OAuthCredentials
) -> None:
    token = await open_session(client, credentials)
    start = (await call(client, "POST", SERVER_DEVICES, token, {})).json()["cursor"]
    serials = await add(client, org["id"], "ECHO00000001", "ECHO00000002", "ECHO00000003")
    await assign(client, org["id"], server["server_uuid"], *serials)
    fault = await add_fault(
        client, {"endpoint": "POST /devices/sync", "responses": [{"count": 2, "echo_cursor": True}]}
    )
    bad = await call(client, "POST", SYNC, token, {"cursor": "garbage"})
    assert (bad.status_code, bad.text) == (400, "INVALID_CURSOR")  # refused before the hook: no unit used
    pages = [await call(client, "POST", SYNC, token, {"cursor": start}) for _ in range(3)]
    assert [p.status_code for p in pages] == [200, 200, 200]
    echoed = pages[0].json()
    assert (echoed["cursor"], echoed["more_to_follow"], echoed["devices"]) == (start, True, [])
    assert pages[1].json() == echoed
    real = pages[2].json()
    assert ([d["serial_number"] for d in real["devices"]], real["more_to_follow"]) == (serials, False)
    assert real["cursor"] != start
    state = (await client.get(f"/emulator/v1/faults/{fault['id']}")).json()
    assert (state["fired"], state["remaining"], state["exhausted"]) == (2, 0, True)
    entries = await journal(client, endpoint="POST /devices/sync")
    assert [(e["status"], e["fault_id"], e["fault"], e["more_to_follow"]) for e in entries] == [
        (400, None, None, None),
        (200, fault["id"], "echo_cursor", True),
        (200, fault["id"], "echo_cursor", True),
        (200, None, None, False),
    ]
    assert [e["response_cursor"] for e in entries[1:3]] == [start, start]


async def test_the_journal_reads_cursor_and_more_to_follow_of_full_pages(
    client: httpx.AsyncClient, org: dict[str, Any], server: dict[str, Any], credentials: OAuthCredentials
) -> None:
    """The journal keeps only a page's head (dep_emulator.traffic.middleware.FEED_HEAD), which holds both."""
    await generate(client, org["id"], 1100, seed=9, order_number="FULL-PAGES")
    assigned = await client.post(
        f"/emulator/v1/orgs/{org['id']}/assignments",
        json={"server_uuid": server["server_uuid"], "order_number": "FULL-PAGES"},
    )
    assert assigned.status_code == 200, assigned.text
    token = await open_session(client, credentials)
    first = (await call(client, "POST", SERVER_DEVICES, token, {"limit": 1000})).json()
    last = (
        await call(client, "POST", SERVER_DEVICES, token, {"limit": 1000, "cursor": first["cursor"]})
    ).json()
    assert (len(first["devices"]), len(last["devices"]), first["more_to_follow"]) == (1000, 100, True)
    entries = await journal(client, endpoint="POST /server/devices")
    assert [(e["response_cursor"], e["more_to_follow"]) for e in entries] == [
        (first["cursor"], True),
        (last["cursor"], False),
    ]
