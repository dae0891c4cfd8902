"""50 concurrent clients on two real replicas (issue 8 §2).

Writers assign, move, unassign and edit overlapping devices through the control API, MDMs
disown them (and re-profile them once profiles exist: dep_emulator.testing.load.reprofiler), while
other MDMs fetch and sync. Every client alternates between the two `serve` processes on
every request. Proved at the end:
- no 5xx and no dropped connection reached any client (deadlocks and serialisation
  failures are retried inside the service: dep_emulator.core.resilience), every write answered 200;
- each server's feed is 1..feed_seq with no gap and no duplicate (nothing lost or doubled);
- each reader's view, built only from its fetch and syncs, equals the database.
`python bench/concurrency.py` runs the same load longer and reports p50/p99 per endpoint.
"""

from __future__ import annotations

import asyncio
import random
import time
from typing import Any

import asyncpg
import httpx
from dep_emulator.testing import load
from dep_emulator.testing.replicas import PUBLIC_BASE_URL, AlternatingTransport, Replica

WRITE_SECONDS = 10  # at least; longer (up to MAX_WRITE_SECONDS) until MIN_WRITES on a slow machine
MAX_WRITE_SECONDS = 40
MIN_WRITES = 60
CONTROL_WRITERS, DISOWNERS, REPROFILERS, READERS = 20, 6, 6, 18  # 50 clients


async def test_fifty_clients_on_two_replicas(pair: list[Replica], pg: asyncpg.Connection) -> None:
    def transport() -> httpx.AsyncBaseTransport:
        return AlternatingTransport([r.url for r in pair])

    async with httpx.AsyncClient(base_url=PUBLIC_BASE_URL, transport=transport(), timeout=60) as setup:
        fleet = await load.setup_fleet(setup, servers=3, devices=60, prefix="RACE")
        reprofile = await load.profiles_available(setup)
    stats = load.Stats()
    started = time.monotonic()

    def writes() -> int:
        return sum(
            n for (name, _), n in stats.statuses.items() if name.startswith(("POST /emulator", "PATCH"))
        )

    def running() -> bool:
        elapsed = time.monotonic() - started
        return elapsed < WRITE_SECONDS or (writes() < MIN_WRITES and elapsed < MAX_WRITE_SECONDS)

    done = asyncio.Event()
    clients: list[httpx.AsyncClient] = []

    def control() -> httpx.AsyncClient:
        clients.append(httpx.AsyncClient(base_url=PUBLIC_BASE_URL, transport=transport(), timeout=60))
        return clients[-1]

    def mdm(i: int) -> httpx.AsyncClient:
        clients.append(load.mdm_client(fleet.servers[i % len(fleet.servers)], PUBLIC_BASE_URL, transport))
        return clients[-1]

    writers = [
        load.control_writer(control(), fleet, stats, random.Random(i), running)
        for i in range(CONTROL_WRITERS)
    ]
    writers += [
        load.disowner(mdm(i), fleet, stats, random.Random(100 + i), running) for i in range(DISOWNERS)
    ]
    if reprofile:
        writers += [
            load.reprofiler(mdm(i), fleet, stats, random.Random(200 + i), running) for i in range(REPROFILERS)
        ]
    else:  # until profiles land, the same number of clients edits and moves devices instead
        writers += [
            load.control_writer(control(), fleet, stats, random.Random(300 + i), running)
            for i in range(REPROFILERS)
        ]
    readers = [
        asyncio.create_task(load.reader(mdm(i), stats, done, random.Random(400 + i))) for i in range(READERS)
    ]
    assert len(writers) + len(readers) == 50
    try:
        await asyncio.gather(*writers)
        done.set()
        views = await asyncio.wait_for(asyncio.gather(*readers), timeout=60)
        for i, view in enumerate(views):
            handle = fleet.servers[i % len(fleet.servers)]
            truth = await _truth(pair, handle)
            in_db = await pg.fetch(
                "SELECT d.serial_number FROM device d JOIN mdm_server s ON s.id = d.server_id"
                " WHERE s.server_uuid = $1",
                handle.server_uuid,
            )
            assert sorted(truth) == sorted(r["serial_number"] for r in in_db)
            assert view == truth, (
                f"reader {i} {_diff(view, truth)} ({handle.server_uuid}) differs from the database"
            )
    finally:
        for task in readers:
            task.cancel()
        for client in clients:
            await client.aclose()

    assert stats.errors == {}, stats.errors
    assert stats.server_errors() == {}, stats.server_errors()
    # a disowned device has left the org for good (spec §6.5), so editing it afterwards is a 404, and
    # assigning it is refused with 409 device_released until it is added back (observed F2)
    expected = {
        ("PATCH /emulator/v1/devices/{serial}", 404),
        ("POST /emulator/v1/orgs/{org}/assignments", 409),
    }
    not_ok = {k: n for k, n in stats.statuses.items() if k[1] != 200 and k not in expected}
    assert not_ok == {}, not_ok
    for handle in fleet.servers:
        feed_seq, seqs = await _feed(pg, handle.server_uuid)
        assert seqs == list(range(1, feed_seq + 1)), "a gap or a duplicate in the feed"
    # the race really happened
    assert writes() >= MIN_WRITES and stats.statuses[("POST /devices/disown", 200)] >= DISOWNERS
    assert await pg.fetchval("SELECT count(*) FROM device_event") > 2 * MIN_WRITES


def _diff(view: dict[str, Any], truth: dict[str, Any]) -> dict[str, Any]:
    """serial → {field: (reader's value, database's value)} where they differ."""
    out = {}
    for serial in set(view) | set(truth):
        a, b = view.get(serial) or {}, truth.get(serial) or {}
        fields = {f: (a.get(f), b.get(f)) for f in set(a) | set(b) if a.get(f) != b.get(f)}
        if fields or (serial in view) != (serial in truth):
            out[serial] = fields or ("present" if serial in view else "missing")
    return out


async def _truth(pair: list[Replica], handle: load.MdmHandle) -> dict[str, Any]:
    transport = lambda: AlternatingTransport([r.url for r in pair])  # noqa: E731
    async with load.mdm_client(handle, PUBLIC_BASE_URL, transport) as mdm:
        view, _ = await load.full_fetch(load.Stats(), mdm, 1000)
    return view


async def _feed(pg: asyncpg.Connection, server_uuid: str) -> tuple[int, list[int]]:
    row = await pg.fetchrow("SELECT id, feed_seq FROM mdm_server WHERE server_uuid = $1", server_uuid)
    rows = await pg.fetch("SELECT seq FROM device_event WHERE server_id = $1 ORDER BY seq", row["id"])
    return row["feed_seq"], [r["seq"] for r in rows]
