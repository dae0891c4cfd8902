"""Bulk writes (issue 14): generate into a server in one request, chunked COPY, all or nothing."""

from __future__ import annotations

from typing import Any

import asyncpg
import httpx
import pytest
from dep_emulator.bulk import generation as bulk

from tests.conftest import create_org, create_server, snapshot
from tests.devices.conftest import OtherServer
from tests.devices.helpers import fetch_all, generate, ops, sync_all


def _audit_rows(rows: list[asyncpg.Record]) -> list[tuple[str, str, str | None]]:
    return [(r["event_type"], r["serial_number"], r["server_uuid"]) for r in rows]


async def test_generate_into_a_server_writes_what_generate_then_assign_writes(
    client: httpx.AsyncClient,
    org: dict[str, Any],
    server: dict[str, Any],
    mdm: httpx.AsyncClient,
    other: OtherServer,
    pg: asyncpg.Connection,
) -> None:
    """One request (devices COPYed assigned) and two (generate, then the set-based assignment):
    the same feed events, device fields, history and audit trail, device for device."""
    _, cursor_a = await fetch_all(mdm)
    _, cursor_b = await fetch_all(other.mdm)
    one = await generate(client, org["id"], 40, seed=7, order_number="ONE", server_uuid=server["server_uuid"])
    two = await generate(client, org["id"], 40, seed=7, order_number="TWO")
    response = await client.post(
        f"/emulator/v1/orgs/{org['id']}/assignments",
        json={"server_uuid": other.server["server_uuid"], "order_number": "TWO"},
    )
    assert response.json()["summary"] == {"assigned": 40}
    events_a, _ = await sync_all(mdm, cursor_a)
    events_b, _ = await sync_all(other.mdm, cursor_b)
    assert ops(events_a) == [(s, "added") for s in one["serials"]]
    assert [e["serial_number"] for e in events_b] == two["serials"]
    assert len(set(one["serials"]) | set(two["serials"])) == 80

    def shape(event: dict[str, Any]) -> dict[str, Any]:
        """What must not differ between the two ways (identity and order fields aside, and the
        times: the two ways run one after the other, possibly on either side of a second)."""
        dropped = ("serial_number", "description", "color", "asset_tag", "model", "os", "device_family",
                   "op_date", "device_assigned_date")  # fmt: skip
        return {k: v for k, v in event.items() if k not in dropped and not k.endswith("mac_address")
                and k not in ("imei", "meid", "eid")}  # fmt: skip

    assert {repr(sorted(shape(e).items())) for e in events_a} == {
        repr(sorted(shape(e).items())) for e in events_b
    }
    assert all(e["op_date"] == e["device_assigned_date"] for e in events_a + events_b)
    for event in events_a[:3]:
        assert event["profile_status"] == "empty" and event["device_assigned_by"] == org["email"]
        device = (await client.get(f"/emulator/v1/devices/{event['serial_number']}")).json()
        assert device["server_uuid"] == server["server_uuid"]
        assert {k: v for k, v in event.items() if k not in ("op_type", "op_date")} == device["fields"]
        assert [h["action"] for h in device["history"]] == ["assigned"]
    devices, _ = await fetch_all(mdm)
    assert [d["serial_number"] for d in devices] == one["serials"]
    trail = await pg.fetch(
        "SELECT event_type, serial_number, server_uuid FROM audit_event"
        " WHERE serial_number = ANY($1) ORDER BY id",
        one["serials"][:2],
    )
    assert sorted(_audit_rows(trail)) == sorted(
        [(kind, s, uuid) for s in one["serials"][:2] for kind, uuid in
         (("DEVICE_ADDED_TO_ORG", None), ("DEVICE_ASSIGNED_TO_SERVER", server["server_uuid"]))]
    )  # fmt: skip


@pytest.mark.parametrize("workers", ["thread", "process"])
async def test_chunks_make_one_gapless_feed(
    client: httpx.AsyncClient,
    org: dict[str, Any],
    server: dict[str, Any],
    mdm: httpx.AsyncClient,
    monkeypatch: pytest.MonkeyPatch,
    workers: str,
) -> None:
    """Chunks generated in a thread or in worker processes: every device once, feed in order."""
    monkeypatch.setattr(bulk, "FIRST_CHUNK", 3)  # chunks of 3, 7, 7, ...
    monkeypatch.setattr(bulk, "COPY_CHUNK", 7)
    if workers == "process":
        monkeypatch.setattr(bulk, "PROCESS_POOL_FROM", 1)
    _, cursor = await fetch_all(mdm)
    made = await generate(client, org["id"], 45, seed=3, server_uuid=server["server_uuid"])
    alone = await generate(client, org["id"], 45, seed=4)
    assert len(made["serials"]) == len(alone["serials"]) == 45
    events, _ = await sync_all(mdm, cursor, limit=10)
    assert ops(events) == [(s, "added") for s in made["serials"]]
    devices, _ = await fetch_all(mdm, limit=10)
    assert [d["serial_number"] for d in devices] == made["serials"]


async def test_a_duplicate_in_any_chunk_writes_nothing_and_all_are_named(
    client: httpx.AsyncClient,
    org: dict[str, Any],
    server: dict[str, Any],
    pg: asyncpg.Connection,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(bulk, "FIRST_CHUNK", 10)
    monkeypatch.setattr(bulk, "COPY_CHUNK", 10)
    # Devices 25..34 and 50..52 of the sequence exist: the third chunk clashes, and the sixth.
    early = await generate(client, org["id"], 10, seed=9, order_number="O", start=25)
    late = await generate(client, org["id"], 3, seed=9, order_number="O", start=50)
    before = await snapshot(pg)
    feed_seq = await pg.fetchval("SELECT feed_seq FROM mdm_server")
    response = await client.post(
        f"/emulator/v1/orgs/{org['id']}/devices",
        json={
            "generate": {"count": 60, "seed": 9, "order_number": "O", "server_uuid": server["server_uuid"]}
        },
    )
    assert response.status_code == 409, response.text
    error = response.json()["error"]
    assert error["code"] == "duplicate_serials"
    assert sorted(error["details"]["serials"]) == sorted(early["serials"] + late["serials"])
    assert error["message"].startswith("13 serial number(s) already exist")
    assert await snapshot(pg) == before
    assert await pg.fetchval("SELECT feed_seq FROM mdm_server") == feed_seq


async def test_generate_into_an_unknown_or_foreign_server_is_refused(
    client: httpx.AsyncClient, org: dict[str, Any], pg: asyncpg.Connection
) -> None:
    stranger = await create_org(client, name="Stranger Org")
    foreign = await create_server(client, stranger["id"], server_name="Theirs")
    before = await snapshot(pg)
    for uuid, status in ((foreign["server_uuid"], 409), ("0" * 32, 404)):
        response = await client.post(
            f"/emulator/v1/orgs/{org['id']}/devices", json={"generate": {"count": 5, "server_uuid": uuid}}
        )
        assert response.status_code == status, response.text
    assert await snapshot(pg) == before


@pytest.mark.parametrize("order_number", ["PO\\2026\\N", "PO\t1\nx\r", 'ПЗ-№7 "q"'])
async def test_generated_devices_keep_an_order_number_that_copy_text_must_escape(
    client: httpx.AsyncClient,
    org: dict[str, Any],
    server: dict[str, Any],
    mdm: httpx.AsyncClient,
    pg: asyncpg.Connection,
    order_number: str,
) -> None:
    """Generated values are written to COPY unescaped (they never need it); a caller's order
    number is escaped, and every device, its event and its audit row keep it exactly."""
    made = await generate(
        client, org["id"], 30, seed=5, order_number=order_number, server_uuid=server["server_uuid"]
    )
    for serial in made["serials"][:3] + made["serials"][-3:]:
        device = (await client.get(f"/emulator/v1/devices/{serial}")).json()
        assert device["order_number"] == order_number
    assert await pg.fetchval("SELECT count(*) FROM device WHERE order_number = $1", order_number) == 30
    details = await pg.fetch(
        "SELECT details->>'orderNumber' AS n FROM audit_event WHERE event_type = 'DEVICE_ADDED_TO_ORG'"
    )
    assert [r["n"] for r in details] == [order_number] * 30
    devices, _ = await fetch_all(mdm, limit=100)
    assert sorted(d["serial_number"] for d in devices) == sorted(made["serials"])
