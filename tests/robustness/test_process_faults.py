"""Faults of our own (issue 8 §4): a replica SIGKILLed mid-write, and SIGTERM draining.

A request is one transaction (dep_emulator.core.db.get_db), so a process that dies before COMMIT
leaves nothing: PostgreSQL rolls the transaction back when the connection drops. Feed
sequence numbers are allocated by an UPDATE in that same transaction (dep_emulator.devices.events),
so a rolled-back write leaves no gap for a syncing client. SIGTERM is uvicorn's graceful
shutdown (`serve` gives it 30 s): no new connections, in-flight requests finish.
"""

from __future__ import annotations

import asyncio
import time
from typing import Any

import asyncpg
import httpx
from dep_emulator.testing.dep_client import OAuthCredentials, dep_client
from dep_emulator.testing.replicas import PUBLIC_BASE_URL, AlternatingTransport, Replica, spawn_replica

WRITING = "SELECT count(*) FROM pg_stat_activity WHERE backend_xid IS NOT NULL AND pid <> pg_backend_pid()"


async def _setup(url: str) -> tuple[str, dict[str, Any], OAuthCredentials]:
    async with httpx.AsyncClient(base_url=url, timeout=30) as c:
        org = (await c.post("/emulator/v1/orgs", json={"name": "Killed"})).json()
        server = (
            await c.post(f"/emulator/v1/orgs/{org['id']}/mdm-servers", json={"server_name": "S"})
        ).json()
        creds = (await c.post(f"/emulator/v1/mdm-servers/{server['server_uuid']}/oauth-credentials")).json()
    return org["id"], server, OAuthCredentials.from_json(creds)


def _mdm(creds: OAuthCredentials, replica: Replica) -> httpx.AsyncClient:
    """A DEP client on one replica, signing for the public URL the replicas are configured with."""
    client = dep_client(creds, base_url=PUBLIC_BASE_URL, transport=AlternatingTransport([replica.url]))
    client.timeout = httpx.Timeout(120)
    return client


async def _kill_mid_write(pg: asyncpg.Connection, replica: Replica, path: str, body: dict[str, Any]) -> None:
    """Send the request, wait until its transaction has written something, SIGKILL the replica."""

    async def send() -> None:
        async with httpx.AsyncClient(base_url=replica.url, timeout=120) as c:
            await c.post(path, json=body)

    request = asyncio.create_task(send())
    deadline = time.monotonic() + 60
    while await pg.fetchval(WRITING) == 0:
        assert not request.done(), "the request finished before it could be killed: make it bigger"
        assert time.monotonic() < deadline, "the request never started writing"
        await asyncio.sleep(0.01)
    await asyncio.sleep(0.3)  # well inside the write
    assert not request.done(), "the request finished before it could be killed: make it bigger"
    assert replica.kill() == -9
    try:
        await request
        raise AssertionError("a SIGKILLed replica answered")
    except httpx.HTTPError:
        pass
    while await pg.fetchval(WRITING):  # PostgreSQL notices the dead client and rolls back
        assert time.monotonic() < deadline + 30, "the dead replica's transaction is still open"
        await asyncio.sleep(0.05)


async def _feed(pg: asyncpg.Connection, server_uuid: str) -> tuple[int, list[int]]:
    server_id, feed_seq = await pg.fetchrow(
        "SELECT id, feed_seq FROM mdm_server WHERE server_uuid = $1", server_uuid
    )
    seqs = [
        r["seq"]
        for r in await pg.fetch("SELECT seq FROM device_event WHERE server_id = $1 ORDER BY seq", server_id)
    ]
    return feed_seq, seqs


async def test_sigkill_mid_bulk_write_leaves_nothing_and_no_feed_gap(
    database_url: str, pg: asyncpg.Connection
) -> None:
    victim = spawn_replica(database_url)
    survivor = spawn_replica(database_url)
    try:
        org_id, server, creds = await _setup(survivor.url)
        uuid = server["server_uuid"]
        async with httpx.AsyncClient(base_url=survivor.url, timeout=120) as c:
            small = [{"serial_number": f"KEEP{i:04d}", "model": "iPhone"} for i in range(5)]
            assert (
                await c.post(f"/emulator/v1/orgs/{org_id}/devices", json={"devices": small})
            ).status_code == 201
            kept = {"server_uuid": uuid, "serials": [d["serial_number"] for d in small]}
            assert (await c.post(f"/emulator/v1/orgs/{org_id}/assignments", json=kept)).status_code == 200
        assert await _feed(pg, uuid) == (5, [1, 2, 3, 4, 5])

        # 1. a bulk generate (COPY of 60,000 rows) killed half way: no device of it exists
        generate = {"generate": {"count": 60_000, "order_number": "KILLED-GEN", "seed": 7}}
        await _kill_mid_write(pg, victim, f"/emulator/v1/orgs/{org_id}/devices", generate)
        assert await pg.fetchval("SELECT count(*) FROM device") == 5

        # 2. a bulk assignment (one feed event per device) killed half way: no device moved,
        #    no event written, the server's sequence untouched
        async with httpx.AsyncClient(base_url=survivor.url, timeout=120) as c:
            made = await c.post(
                f"/emulator/v1/orgs/{org_id}/devices",
                json={"generate": {"count": 8_000, "order_number": "BIG", "seed": 8}},
            )
            assert made.status_code == 201, made.text
        victim = spawn_replica(database_url)
        await _kill_mid_write(
            pg,
            victim,
            f"/emulator/v1/orgs/{org_id}/assignments",
            {"server_uuid": uuid, "order_number": "BIG"},
        )
        assert await pg.fetchval("SELECT count(*) FROM device WHERE server_id IS NOT NULL") == 5
        assert await _feed(pg, uuid) == (5, [1, 2, 3, 4, 5])

        # the survivor carries on; a syncing client sees one contiguous feed
        async with _mdm(creds, survivor) as mdm:
            fetched = await mdm.post("/server/devices", json={"limit": 1000})
            assert fetched.status_code == 200, fetched.text
            assert len(fetched.json()["devices"]) == 5
            cursor = fetched.json()["cursor"]
            async with httpx.AsyncClient(base_url=survivor.url, timeout=120) as c:
                assigned = await c.post(
                    f"/emulator/v1/orgs/{org_id}/assignments",
                    json={"server_uuid": uuid, "order_number": "BIG"},
                )
                assert assigned.json()["summary"] == {"assigned": 8_000}, assigned.text
            feed_seq, seqs = await _feed(pg, uuid)
            assert seqs == list(range(1, feed_seq + 1))  # no gap, no duplicate
            synced = await mdm.post("/devices/sync", json={"cursor": cursor, "limit": 1000})
            assert synced.status_code == 200 and synced.json()["more_to_follow"] is True
    finally:
        victim.terminate(timeout=10)
        survivor.terminate()


async def test_sigterm_drains_in_flight_requests(database_url: str, pg: asyncpg.Connection) -> None:
    replica = spawn_replica(database_url)
    try:
        org_id, _, creds = await _setup(replica.url)
        async with httpx.AsyncClient(base_url=replica.url, timeout=60) as c:
            fault = {"endpoint": "GET /account", "responses": [{"delay_ms": 3000}]}
            assert (await c.post("/emulator/v1/faults", json=fault)).status_code == 201
        async with _mdm(creds, replica) as mdm:
            assert (await mdm.post("/server/devices", json={"limit": 1})).status_code == 200  # session open

            slow = asyncio.create_task(mdm.get("/account"))  # held 3 s by the fault
            bulk = asyncio.create_task(
                httpx.AsyncClient(base_url=replica.url, timeout=60).post(
                    f"/emulator/v1/orgs/{org_id}/devices",
                    json={"generate": {"count": 20_000, "order_number": "DRAINED", "seed": 3}},
                )
            )
            deadline = time.monotonic() + 30
            while await pg.fetchval(WRITING) == 0:  # the bulk insert is under way
                assert time.monotonic() < deadline and not bulk.done()
                await asyncio.sleep(0.01)
            await asyncio.sleep(0.2)
            assert not slow.done() and not bulk.done()
            replica.process.terminate()  # SIGTERM
            await asyncio.sleep(0.5)
            refused = None
            try:
                await httpx.AsyncClient(base_url=replica.url, timeout=5).get("/healthz")
            except httpx.HTTPError as exc:
                refused = exc
            assert isinstance(refused, httpx.ConnectError), "a draining replica accepted a new connection"
            response, created = await asyncio.gather(slow, bulk)
        assert response.status_code == 200, response.text
        assert created.status_code == 201, created.text
        assert replica.process.wait(timeout=40) in (0, -15)
        assert await pg.fetchval("SELECT count(*) FROM device WHERE order_number = 'DRAINED'") == 20_000
        # the journal row is written after the response: the drain waited for it too
        rows = await pg.fetch(
            "SELECT status, fault FROM request_journal WHERE method = 'GET' AND path = '/account'"
        )
        assert [(r["status"], r["fault"]) for r in rows] == [(200, "delay 3000ms")]
        assert "Traceback" not in replica.log(), replica.log()
    finally:
        replica.terminate(timeout=10)
