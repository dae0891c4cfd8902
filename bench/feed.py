"""Device-feed benchmark: `python bench/feed.py [--devices 1000000] [--sync-events 100000]`.

Starts an embedded PostgreSQL and the service under uvicorn in a subprocess (a real HTTP
server on a loopback port), then measures through HTTP what issue 3 asks for:
- time to generate N devices into one org and assign them all to one MDM server;
- median latency of fetch pages (limit 1000) at the start and at the end of a full fetch,
  and end/start (target ≤ 1.3);
- HTTP page latency / the raw asyncpg query reading the same page (target ≤ 2.0), the sampled
  pages re-requested with the cursors they were first requested with, each timed right next
  to the raw query of the same page (so both see the same machine);
- the same two figures for sync over `--sync-events` events;
- peak RSS of the service process during the full fetch.

Pages are timed with aiohttp, a client whose HTTP parser is C: httpx parses in Python and
spends about 1.5 ms more per 500 KB page on this machine, time of the client, not of the service
(measured against a static 550 KB response: ~1.4 ms with aiohttp, ~3 ms with httpx). The OAuth
session is opened with the tests' httpx client (dep_emulator.testing.dep_client).
"""

from __future__ import annotations

import sys

# bench/http.py is named like the standard library's `http`, and Python puts this folder first on
# the import path to run a script from it: take it off (httpx and aiohttp import http.client).
sys.path.pop(0)

import argparse
import asyncio
import base64
import json
import os
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

import aiohttp
import asyncpg
import httpx
import psutil

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from dep_emulator.core import embedded_pg, migrate
from dep_emulator.devices.models import DEVICE_WIRE_ARGUMENTS
from dep_emulator.testing.dep_client import DepAuth, OAuthCredentials, dep_client
from dep_emulator.testing.server import free_port

SAMPLE = 10  # pages at each end
# The raw read of a fetch page: the device columns Apple's Device object is made of (not the
# `wire` text the service keeps for itself, which would make this read heavier).
FETCH_SQL = (
    f"SELECT feed_seq, {DEVICE_WIRE_ARGUMENTS} FROM device "
    "WHERE server_id = $1 AND feed_seq > $2 AND feed_seq <= $3 ORDER BY feed_seq LIMIT $4"
)
SYNC_SQL = (
    "SELECT seq, op_type, op_at, snapshot FROM device_event WHERE server_id = $1 AND seq > $2 "
    "ORDER BY seq LIMIT $3"
)


def cursor_fields(cursor: str) -> list[str]:
    """The bench may look inside our own cursors (clients must not): position and horizon."""
    return base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)).decode().split(":")


class RssSampler(threading.Thread):
    def __init__(self, pid: int) -> None:
        super().__init__(daemon=True)
        self.process = psutil.Process(pid)
        self.peak = 0
        self.running = True

    def run(self) -> None:
        while self.running:
            rss = sum(p.memory_info().rss for p in [self.process, *self.process.children(recursive=True)])
            self.peak = max(self.peak, rss)
            time.sleep(0.02)


async def timed(coro: Any) -> tuple[float, Any]:
    start = time.perf_counter()
    result = await coro
    return time.perf_counter() - start, result


async def settle(conn: asyncpg.Connection) -> None:
    """After a bulk load: every table it touched vacuumed and analysed (so autovacuum does not
    start on them while pages are timed), and its dirty pages written out (CHECKPOINT)."""
    await conn.execute("VACUUM ANALYZE")
    await conn.execute("CHECKPOINT")


class PageClient:
    """Times DEP page requests on one keep-alive connection, adopting rotated session tokens."""

    def __init__(self, base_url: str, session_token: str) -> None:
        self.http = aiohttp.ClientSession(base_url, timeout=aiohttp.ClientTimeout(total=3600))
        self.token = session_token

    async def post(self, path: str, body: dict[str, Any]) -> tuple[float, dict[str, Any]]:
        """(seconds until the whole response was read, the parsed page)."""
        headers = {
            "X-ADM-Auth-Session": self.token,
            "User-Agent": "dep-emulator-bench/1",
            "X-Server-Protocol-Version": "10",
            "Content-Type": "application/json;charset=UTF8",
        }
        start = time.perf_counter()
        async with self.http.post(path, json=body, headers=headers) as response:
            content = await response.read()
        elapsed = time.perf_counter() - start
        assert response.status == 200, content[:300]
        self.token = response.headers.get("X-ADM-Auth-Session", self.token)
        page: dict[str, Any] = json.loads(content)
        return elapsed, page

    async def close(self) -> None:
        await self.http.close()


async def paired_medians(
    pages: PageClient,
    path: str,
    requested: list[str | None],
    conn: asyncpg.Connection,
    sql: str,
    params: list[tuple[Any, ...]],
    rounds: int = 3,
) -> tuple[float, float]:
    """Median HTTP and raw latency of the same pages, each HTTP request timed right next to its query.

    The shared machine's speed drifts by 2x from one minute to the next; timing the two side by
    side, page by page, makes their ratio compare like with like. Re-requesting a fetch or sync
    page with its cursor is allowed (cursors are stateless) and changes nothing.
    """
    http_times, raw_times = [], []
    for _ in range(rounds):
        for cursor, args in zip(requested, params, strict=True):
            body: dict[str, Any] = {"limit": 1000}
            if cursor:
                body["cursor"] = cursor
            elapsed, _ = await pages.post(path, body)
            http_times.append(elapsed)
            start = time.perf_counter()
            await conn.fetch(sql, *args)
            raw_times.append(time.perf_counter() - start)
    return statistics.median(http_times), statistics.median(raw_times)


async def page_through(
    pages: PageClient, path: str, cursor: str | None
) -> tuple[list[float], list[str | None], str]:
    """Every page of a fetch or sync: latencies, the cursor each page was requested with, last cursor."""
    latencies: list[float] = []
    requested: list[str | None] = []
    while True:
        body: dict[str, Any] = {"limit": 1000}
        if cursor:
            body["cursor"] = cursor
        elapsed, page = await pages.post(path, body)
        latencies.append(elapsed)
        requested.append(cursor)
        cursor = page["cursor"]
        if not page["more_to_follow"]:
            assert cursor is not None
            return latencies, requested, cursor


async def run(args: argparse.Namespace, base_url: str, dsn: str, service_pid: int) -> dict[str, Any]:
    out: dict[str, Any] = {"devices": args.devices, "sync_events": args.sync_events}
    timeout = httpx.Timeout(3600.0)
    async with httpx.AsyncClient(base_url=base_url, timeout=timeout) as admin:
        org = (await admin.post("/emulator/v1/orgs", json={"name": "Bench Org"})).json()
        server = (
            await admin.post(f"/emulator/v1/orgs/{org['id']}/mdm-servers", json={"server_name": "Bench"})
        ).json()
        creds = (
            await admin.post(f"/emulator/v1/mdm-servers/{server['server_uuid']}/oauth-credentials")
        ).json()

        async def add_and_assign(count: int, order: str, seed: int) -> tuple[float, float]:
            t_gen, r = await timed(
                admin.post(
                    f"/emulator/v1/orgs/{org['id']}/devices",
                    json={"generate": {"count": count, "order_number": order, "seed": seed}},
                )
            )
            assert r.status_code == 201, r.text
            t_assign, r = await timed(
                admin.post(
                    f"/emulator/v1/orgs/{org['id']}/assignments",
                    json={"server_uuid": server["server_uuid"], "order_number": order},
                )
            )
            assert r.status_code == 200 and r.json()["summary"] == {"assigned": count}, r.text
            return t_gen, t_assign

        t_gen, t_assign = await add_and_assign(args.devices, "BENCH-FETCH", 1)
        out.update(generate_s=t_gen, assign_s=t_assign)

        conn = await asyncpg.connect(dsn)
        server_id = await conn.fetchval(
            "SELECT id FROM mdm_server WHERE server_uuid = $1", server["server_uuid"]
        )
        await settle(conn)
        async with dep_client(OAuthCredentials.from_json(creds), base_url=base_url) as mdm:
            await mdm.post("/server/devices", json={"limit": 1})  # session + warm-up
            assert isinstance(mdm.auth, DepAuth) and mdm.auth.auth_session is not None
            pages = PageClient(base_url, mdm.auth.auth_session)
            await pages.post("/server/devices", {"limit": 1})  # the timed client's connection
            sampler = RssSampler(service_pid)
            sampler.start()
            started = time.perf_counter()
            latencies, requested, last = await page_through(pages, "/server/devices", None)
            out["fetch_total_s"] = time.perf_counter() - started
            sampler.running = False
            sampler.join()
            out["fetch_pages"] = len(latencies)
            out["peak_rss_mb"] = sampler.peak / 2**20
            horizon = int(cursor_fields(last)[7])

            def fetch_params(cursors: list[str | None]) -> list[tuple[Any, ...]]:
                return [(server_id, int(cursor_fields(c)[1]) if c else 0, horizon, 1001) for c in cursors]

            out["fetch_start_ms"] = statistics.median(latencies[:SAMPLE]) * 1000
            out["fetch_end_ms"] = statistics.median(latencies[-SAMPLE:]) * 1000
            for end, sampled in (("start", requested[:SAMPLE]), ("end", requested[-SAMPLE:])):
                http, raw = await paired_medians(
                    pages, "/server/devices", sampled, conn, FETCH_SQL, fetch_params(sampled)
                )
                out[f"fetch_paired_{end}_ms"], out[f"fetch_raw_{end}_ms"] = http * 1000, raw * 1000

            t_gen2, t_assign2 = await add_and_assign(args.sync_events, "BENCH-SYNC", 2)
            out.update(sync_generate_s=t_gen2, sync_assign_s=t_assign2)
            await settle(conn)
            latencies, requested, _ = await page_through(pages, "/devices/sync", last)
            if os.environ.get("BENCH_TRACE"):
                print("sync page ms:", " ".join(f"{x * 1000:.0f}" for x in latencies))  # noqa: T201
            out["sync_pages"] = len(latencies)
            out["sync_start_ms"] = statistics.median(latencies[:SAMPLE]) * 1000
            out["sync_end_ms"] = statistics.median(latencies[-SAMPLE:]) * 1000
            for end, sampled in (("start", requested[:SAMPLE]), ("end", requested[-SAMPLE:])):
                params = [(server_id, int(cursor_fields(c)[1]), 1001) for c in sampled if c]
                http, raw = await paired_medians(pages, "/devices/sync", sampled, conn, SYNC_SQL, params)
                out[f"sync_paired_{end}_ms"], out[f"sync_raw_{end}_ms"] = http * 1000, raw * 1000
            await pages.close()
        await conn.close()
    return out


def report(r: dict[str, Any]) -> str:
    def ratio(a: str, b: str) -> float:
        return float(r[a]) / float(r[b])

    lines = [
        f"devices: {r['devices']:,}   sync events: {r['sync_events']:,}",
        f"generate {r['devices']:,} devices: {r['generate_s']:.1f} s;"
        f" assign them to one server: {r['assign_s']:.1f} s (total {r['generate_s'] + r['assign_s']:.1f} s)",
        f"full fetch: {r['fetch_pages']} pages of 1000 in {r['fetch_total_s']:.1f} s",
        f"fetch page median: start {r['fetch_start_ms']:.1f} ms, end {r['fetch_end_ms']:.1f} ms,"
        f" end/start {ratio('fetch_end_ms', 'fetch_start_ms'):.2f} (target ≤ 1.3)",
        f"fetch pages re-read in pairs: HTTP {r['fetch_paired_start_ms']:.1f}"
        f" / {r['fetch_paired_end_ms']:.1f} ms,"
        f" raw asyncpg {r['fetch_raw_start_ms']:.1f} / {r['fetch_raw_end_ms']:.1f} ms (start / end);"
        f" HTTP/raw start {ratio('fetch_paired_start_ms', 'fetch_raw_start_ms'):.2f},"
        f" end {ratio('fetch_paired_end_ms', 'fetch_raw_end_ms'):.2f} (target ≤ 2.0)",
        f"sync over {r['sync_events']:,} events: {r['sync_pages']} pages;"
        f" median start {r['sync_start_ms']:.1f} ms, end {r['sync_end_ms']:.1f} ms,"
        f" end/start {ratio('sync_end_ms', 'sync_start_ms'):.2f} (target ≤ 1.3)",
        f"sync pages re-read in pairs: HTTP {r['sync_paired_start_ms']:.1f}"
        f" / {r['sync_paired_end_ms']:.1f} ms,"
        f" raw asyncpg {r['sync_raw_start_ms']:.1f} / {r['sync_raw_end_ms']:.1f} ms (start / end);"
        f" HTTP/raw start {ratio('sync_paired_start_ms', 'sync_raw_start_ms'):.2f},"
        f" end {ratio('sync_paired_end_ms', 'sync_raw_end_ms'):.2f} (target ≤ 2.0)",
        f"service peak RSS during the full fetch: {r['peak_rss_mb']:.0f} MiB",
    ]
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--devices", type=int, default=1_000_000)
    parser.add_argument("--sync-events", type=int, default=100_000)
    parser.add_argument(
        "--database-url", help="use this PostgreSQL (a scratch database!) instead of an embedded one"
    )
    args = parser.parse_args()
    embedded = None
    url = args.database_url
    if not url:
        embedded = embedded_pg.start(Path(tempfile.mkdtemp(prefix="depemu-bench-")), cleanup_mode="delete")
        url = embedded.url
    migrate.upgrade(url)
    port = free_port()
    env = dict(os.environ, DEPEMU_DATABASE_URL=url, DEPEMU_LOG_LEVEL="WARNING", DEPEMU_LOG_FORMAT="text")
    service = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "uvicorn",
            "--factory",
            "dep_emulator.main:create_app",
            "--port",
            str(port),
            "--log-level",
            "warning",
            "--no-access-log",
        ],
        cwd=Path(__file__).resolve().parents[1],
        env=env,
    )
    try:
        base_url = f"http://127.0.0.1:{port}"
        deadline = time.monotonic() + 60
        while True:
            try:
                if httpx.get(f"{base_url}/healthz", timeout=1).status_code < 500:
                    break
            except httpx.HTTPError:
                pass
            if time.monotonic() > deadline or service.poll() is not None:
                raise SystemExit("the service did not start")
            time.sleep(0.2)
        dsn = url.replace("postgresql+asyncpg://", "postgresql://", 1)
        result = asyncio.run(run(args, base_url, dsn, service.pid))
        print(report(result))  # noqa: T201
    finally:
        service.terminate()
        service.wait(timeout=30)
        if embedded is not None:
            embedded.stop()


if __name__ == "__main__":
    main()
