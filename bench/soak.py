"""Soak: `python bench/soak.py [--minutes 10] [--clients 8] [--replicas 1]`.

Bounded mixed traffic with faults, to show the service keeps answering and does not grow:
an embedded PostgreSQL (or `--database-url`, a scratch database), `--replicas` real
`dep-emulator serve` processes, and `--clients` clients alternating between them — MDMs that
fetch and then sync (starting over when a cursor goes bad), ask for /account and device
details, disown now and then; control-API writers assigning, moving and editing devices.
Every Apple endpoint used carries a probability-mode fault script (`/emulator/v1/faults`,
`probability` 0.05): 503 with Retry-After, a 2 s delay, a dropped connection, a 500, in turn.

Reported: requests served, answers and errors by kind, faults fired, and each service
process's RSS sampled every few seconds with the least-squares slope after a warm-up
(MiB per minute). Exit status 1 when a slope exceeds `--max-slope` (default 1 MiB/min).
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
import threading
import time
from collections import Counter
from pathlib import Path
from typing import Any

import httpx
import psutil

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from dep_emulator.core import embedded_pg, migrate
from dep_emulator.testing import load
from dep_emulator.testing.replicas import PUBLIC_BASE_URL, AlternatingTransport, replicas

FAULTED = [
    "GET /account",
    "POST /server/devices",
    "POST /devices/sync",
    "POST /devices",
    "POST /devices/disown",
]
FAULT_MIX = [
    {"status": 503, "retry_after": 1},
    {"delay_ms": 2000},
    {"drop_connection": True},
    {"status": 500},
]
CURSOR_ERRORS = ("EXPIRED_CURSOR", "INVALID_CURSOR", "EXHAUSTED_CURSOR")


class RssSampler(threading.Thread):
    def __init__(self, pids: list[int], every: float) -> None:
        super().__init__(daemon=True)
        self.processes = [psutil.Process(pid) for pid in pids]
        self.every = every
        self.samples: list[tuple[float, list[int]]] = []
        self.stop = threading.Event()

    def run(self) -> None:
        started = time.monotonic()
        while not self.stop.is_set():
            self.samples.append((time.monotonic() - started, [p.memory_info().rss for p in self.processes]))
            self.stop.wait(self.every)


def slope_mib_per_min(points: list[tuple[float, int]]) -> float:
    """Least-squares slope of RSS over time."""
    n = len(points)
    if n < 2:
        return 0.0
    mean_t = sum(t for t, _ in points) / n
    mean_r = sum(r for _, r in points) / n
    var = sum((t - mean_t) ** 2 for t, _ in points)
    cov = sum((t - mean_t) * (r - mean_r) for t, r in points)
    return (cov / var) * 60 / 2**20 if var else 0.0


async def mdm_loop(
    mdm: httpx.AsyncClient, fleet: load.Fleet, stats: load.Stats, rng: random.Random, running: Any
) -> None:
    cursor: str | None = None
    fetching = True
    while running():
        roll = rng.random()
        if roll < 0.1:
            await stats.call(mdm, "GET", "/account")
        elif roll < 0.2:
            await stats.call(mdm, "POST", "/devices", json={"devices": rng.sample(fleet.serials, 5)})
        elif roll < 0.23:
            await stats.call(mdm, "POST", load.DISOWN, json={"devices": rng.sample(fleet.serials, 1)})
        else:
            path = load.SERVER_DEVICES if fetching else load.SYNC
            body: dict[str, Any] = {"limit": rng.choice([5, 20, 100])}
            if cursor:
                body["cursor"] = cursor
            response = await stats.call(mdm, "POST", path, json=body)
            if response is not None and response.status_code == 200:
                page = response.json()
                cursor = page["cursor"]
                fetching = fetching and page["more_to_follow"]
            elif response is not None and response.text.strip('"') in CURSOR_ERRORS:
                cursor, fetching = None, True  # what nanodep does: start over with a fetch
        await asyncio.sleep(rng.uniform(0, 0.05))


async def run(urls: list[str], minutes: float, clients: int) -> dict[str, Any]:
    def transport() -> httpx.AsyncBaseTransport:
        return AlternatingTransport(urls)

    async with httpx.AsyncClient(base_url=PUBLIC_BASE_URL, transport=transport(), timeout=60) as control:
        fleet = await load.setup_fleet(control, servers=3, devices=300, prefix="SOAK")
        for endpoint in FAULTED:
            made = await control.post(
                "/emulator/v1/faults",
                json={"endpoint": endpoint, "probability": 0.05, "responses": FAULT_MIX},
            )
            assert made.status_code == 201, made.text
        stats = load.Stats()
        deadline = time.monotonic() + minutes * 60
        opened: list[httpx.AsyncClient] = []

        def running() -> bool:
            return time.monotonic() < deadline

        rng = random.Random(42)
        tasks = []
        for i in range(clients):
            if i % 4 == 3:
                opened.append(httpx.AsyncClient(base_url=PUBLIC_BASE_URL, transport=transport(), timeout=60))
                tasks.append(
                    load.control_writer(opened[-1], fleet, stats, random.Random(rng.random()), running)
                )
            else:
                opened.append(load.mdm_client(fleet.servers[i % 3], PUBLIC_BASE_URL, transport))
                tasks.append(mdm_loop(opened[-1], fleet, stats, random.Random(rng.random()), running))
        started = time.monotonic()
        await asyncio.gather(*tasks)
        elapsed = time.monotonic() - started
        for client in opened:
            await client.aclose()
        faults = (await control.get("/emulator/v1/faults")).json()["faults"]
        await control.delete("/emulator/v1/faults")
    return {"stats": stats, "elapsed": elapsed, "fired": sum(f["fired"] for f in faults)}


def report(result: dict[str, Any], sampler: RssSampler, warmup: float) -> tuple[str, list[float]]:
    stats: load.Stats = result["stats"]
    by_kind: Counter[str] = Counter()
    for (_, status), n in stats.statuses.items():
        by_kind[f"HTTP {status}"] += n
    for kind, n in stats.errors.items():
        by_kind[f"transport: {kind}"] += n
    lines = [
        f"soak: {result['elapsed'] / 60:.1f} min, {stats.served} requests answered"
        f" ({stats.served / result['elapsed']:.1f}/s), {sum(stats.errors.values())} transport errors,"
        f" faults fired: {result['fired']}",
        "answers by kind: " + ", ".join(f"{k} {n}" for k, n in sorted(by_kind.items())),
        stats.table(),
    ]
    slopes = []
    for i in range(len(sampler.processes)):
        points = [(t, rss[i]) for t, rss in sampler.samples]
        steady = [(t, r) for t, r in points if t >= warmup] or points
        slope = slope_mib_per_min(steady)
        slopes.append(slope)
        mib = [r / 2**20 for _, r in points]
        lines.append(
            f"replica {i}: RSS start {mib[0]:.1f} MiB, after warm-up {steady[0][1] / 2**20:.1f} MiB,"
            f" end {mib[-1]:.1f} MiB, peak {max(mib):.1f} MiB; slope after {warmup:.0f} s warm-up:"
            f" {slope:+.3f} MiB/min ({len(steady)} samples)"
        )
    return "\n".join(lines), slopes


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--minutes", type=float, default=10)
    parser.add_argument("--clients", type=int, default=8)
    parser.add_argument("--replicas", type=int, default=1)
    parser.add_argument("--max-slope", type=float, default=1.0, help="MiB per minute, per replica")
    parser.add_argument("--database-url", help="a scratch PostgreSQL instead of an embedded one")
    args = parser.parse_args()
    embedded = None
    url = args.database_url
    if not url:
        embedded = embedded_pg.start(Path(tempfile.mkdtemp(prefix="depemu-soak-")), cleanup_mode="delete")
        url = embedded.url
    try:
        migrate.upgrade(url)
        with replicas(url, args.replicas) as started:
            sampler = RssSampler([r.pid for r in started], every=max(1.0, args.minutes * 60 / 300))
            sampler.start()
            result = asyncio.run(run([r.url for r in started], args.minutes, args.clients))
            sampler.stop.set()
            sampler.join()
        text, slopes = report(result, sampler, warmup=min(60.0, args.minutes * 60 / 4))
        print(text)  # noqa: T201
        if any(s > args.max_slope for s in slopes):
            print(f"FAIL: memory grows faster than {args.max_slope} MiB/min")  # noqa: T201
            raise SystemExit(1)
    finally:
        if embedded is not None:
            embedded.stop()


if __name__ == "__main__":
    main()
