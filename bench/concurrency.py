"""Latency under concurrent load: `python bench/concurrency.py [--seconds 30] [--clients 50]`.

The load of tests/robustness/test_concurrency_live.py (dep_emulator.testing.load), longer: an embedded
PostgreSQL (or `--database-url`), two `dep-emulator serve` processes, and `--clients` clients
alternating between them on every request — control-API writers assigning, moving and
editing overlapping devices, MDMs disowning (and re-profiling, once profiles exist) and MDMs
fetching and syncing. Reports p50/p99 per endpoint, throughput, 5xx and transport errors,
what PostgreSQL backends were waiting on (sampled), and checks every reader's view against
the database at the end.
"""

from __future__ import annotations

import sys

# bench/http.py is named like the standard library's `http`, and Python puts this folder first on
# the import path to run a script from it: take it off (httpx and aiohttp import http.client).
sys.path.pop(0)

import argparse
import asyncio
import random
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path
from typing import Any

import asyncpg
import httpx

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from dep_emulator.core import embedded_pg, migrate
from dep_emulator.testing import load
from dep_emulator.testing.replicas import PUBLIC_BASE_URL, AlternatingTransport, replicas

WAITS = (
    "SELECT coalesce(wait_event_type || ':' || wait_event, 'cpu') AS w FROM pg_stat_activity"
    " WHERE state = 'active' AND pid <> pg_backend_pid() AND backend_type = 'client backend'"
)


async def sample_waits(dsn: str, stop: asyncio.Event, into: Counter[str]) -> None:
    conn = await asyncpg.connect(dsn)
    try:
        while not stop.is_set():
            into.update(r["w"] for r in await conn.fetch(WAITS))
            await asyncio.sleep(0.1)
    finally:
        await conn.close()


async def run(urls: list[str], dsn: str, seconds: float, clients: int, devices: int) -> dict[str, Any]:
    def transport() -> httpx.AsyncBaseTransport:
        return AlternatingTransport(urls)

    async with httpx.AsyncClient(base_url=PUBLIC_BASE_URL, transport=transport(), timeout=60) as setup:
        fleet = await load.setup_fleet(setup, servers=3, devices=devices, prefix="BENCH")
        reprofile = await load.profiles_available(setup)
    stats = load.Stats()
    deadline = time.monotonic() + seconds
    done, stop_sampling = asyncio.Event(), asyncio.Event()
    waits: Counter[str] = Counter()
    opened: list[httpx.AsyncClient] = []

    def running() -> bool:
        return time.monotonic() < deadline

    def control() -> httpx.AsyncClient:
        opened.append(httpx.AsyncClient(base_url=PUBLIC_BASE_URL, transport=transport(), timeout=60))
        return opened[-1]

    def mdm(i: int) -> httpx.AsyncClient:
        opened.append(load.mdm_client(fleet.servers[i % len(fleet.servers)], PUBLIC_BASE_URL, transport))
        return opened[-1]

    # the test's proportions: 40% control writers, 12% disowners, 12% re-profilers, 36% readers
    n_control, n_disown, n_profile = clients * 2 // 5, clients * 3 // 25, clients * 3 // 25
    n_read = clients - n_control - n_disown - n_profile
    rng = random.Random(1)
    writers = [
        load.control_writer(control(), fleet, stats, random.Random(rng.random()), running)
        for _ in range(n_control)
    ]
    writers += [
        load.disowner(mdm(i), fleet, stats, random.Random(rng.random()), running) for i in range(n_disown)
    ]
    if reprofile:
        writers += [
            load.reprofiler(mdm(i), fleet, stats, random.Random(rng.random()), running)
            for i in range(n_profile)
        ]
    else:
        writers += [
            load.control_writer(control(), fleet, stats, random.Random(rng.random()), running)
            for _ in range(n_profile)
        ]
    sampler = asyncio.create_task(sample_waits(dsn, stop_sampling, waits))
    started = time.monotonic()
    readers = [asyncio.create_task(load.reader(mdm(i), stats, done, random.Random(i))) for i in range(n_read)]
    await asyncio.gather(*writers)
    done.set()
    views = await asyncio.gather(*readers)
    elapsed = time.monotonic() - started
    stop_sampling.set()
    await sampler
    mismatched = 0
    for i, view in enumerate(views):
        async with load.mdm_client(fleet.servers[i % len(fleet.servers)], PUBLIC_BASE_URL, transport) as c:
            truth, _ = await load.full_fetch(load.Stats(), c, 1000)
        mismatched += view != truth
    for client in opened:
        await client.aclose()
    return {
        "stats": stats, "elapsed": elapsed, "waits": waits, "mismatched": mismatched, "readers": n_read,
        "reprofile": reprofile, "clients": clients,
    }  # fmt: skip


def report(r: dict[str, Any]) -> str:
    stats: load.Stats = r["stats"]
    total_waits = sum(r["waits"].values()) or 1
    not_ok = {f"{name} {status}": n for (name, status), n in stats.statuses.items() if status != 200}
    waits = ", ".join(f"{k} {100 * n / total_waits:.0f}%" for k, n in r["waits"].most_common(6))
    return "\n".join(
        [
            f"{r['clients']} clients on 2 replicas for {r['elapsed']:.1f} s"
            f" (re-profiling: {'yes' if r['reprofile'] else 'not available yet'})",
            stats.table(),
            f"requests: {stats.served} ({stats.served / r['elapsed']:.0f}/s);"
            f" 5xx: {sum(stats.server_errors().values())}; transport errors: {dict(stats.errors) or 0}",
            f"non-200 answers: {not_ok or 0}",
            f"readers whose synced view differs from the database: {r['mismatched']} of {r['readers']}",
            f"active PostgreSQL backends were: {waits}",
        ]
    )


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--seconds", type=float, default=30)
    parser.add_argument("--clients", type=int, default=50)
    parser.add_argument("--devices", type=int, default=60, help="the overlapping device pool")
    parser.add_argument("--database-url", help="a scratch PostgreSQL instead of an embedded one")
    args = parser.parse_args()
    embedded = None
    url = args.database_url
    if not url:
        embedded = embedded_pg.start(Path(tempfile.mkdtemp(prefix="depemu-bench-")), cleanup_mode="delete")
        url = embedded.url
    try:
        migrate.upgrade(url)
        with replicas(url, 2) as pair:
            dsn = url.replace("postgresql+asyncpg://", "postgresql://", 1)
            result = asyncio.run(run([r.url for r in pair], dsn, args.seconds, args.clients, args.devices))
        print(report(result))  # noqa: T201
    finally:
        if embedded is not None:
            embedded.stop()


if __name__ == "__main__":
    main()
