"""Bulk-write benchmark (issue 14): `python bench/bulk.py [--devices 1000000] [--csv-rows 100000]`.

One run, one machine, one embedded PostgreSQL, the service under uvicorn in a subprocess, every
service call over HTTP. It prints the rate (devices/s) of each bulk path next to raw asyncpg COPY
of the same rows (generated before the clock starts) into a bare table with the device columns
and into a copy of the service's own `device` table (its indexes, its stored columns), as ratios
to the bare COPY: the target is ≥ 0.5 for generate + assign, ≥ 0.25 (within 2×) for the others.
`--floor` also times the least rows a generated and assigned device could be written as in any
design (`FLOOR_DESIGNS`), against the same bare COPY.

While the `--devices` generate + assign runs, another org's MDM calls `GET /account` and a sync
page every 50 ms; their p99 is printed (target < 200 ms), and the service's peak RSS is sampled
during every path (the CSV upload's is printed separately: target < 300 MB at 1,000,000 rows).
"""

from __future__ import annotations

import sys

# bench/http.py is named like the standard library's `http`, and Python puts this folder first on
# the import path to run a script from it: take it off (httpx and aiohttp import http.client).
sys.path.pop(0)

import argparse
import asyncio
import csv
import io
import os
import subprocess
import tempfile
import threading
import time
import uuid
from collections import Counter
from collections.abc import AsyncIterator, Awaitable, Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import asyncpg
import httpx
import jwt
import psutil

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from dep_emulator.core import embedded_pg, migrate
from dep_emulator.devices.generator import generate_devices
from dep_emulator.testing.dep_client import OAuthCredentials, dep_client
from dep_emulator.testing.server import free_port

ROOT = Path(__file__).resolve().parents[1]
COLUMNS = (
    "serial_number", "org_id", "feed_seq", "model", "description", "color", "device_family", "os",
    "asset_tag", "order_number", "order_date", "wifi_mac_address", "bluetooth_mac_address",
    "ethernet_mac_address", "imei", "meid", "eid", "is_replacement_device", "profile_status",
    "created_at", "updated_at",
)  # fmt: skip
BARE_TABLE = """
CREATE TABLE bench_bare (
    id bigserial, serial_number varchar(64), org_id bigint, feed_seq bigint, model varchar(120),
    description varchar(200), color varchar(60), device_family varchar(20), os varchar(20),
    asset_tag varchar(120), order_number varchar(64), order_date timestamptz,
    wifi_mac_address varchar(17), bluetooth_mac_address varchar(17), ethernet_mac_address varchar(17),
    imei varchar(32)[], meid varchar(32)[], eid varchar(40), is_replacement_device boolean,
    profile_status varchar(16), created_at timestamptz, updated_at timestamptz
)"""
CSV_FIELDS = ("serial_number", "model", "color", "order_number", "imei", "wifi_mac_address")
ASSERTION_AUDIENCE = "https://account.apple.com/auth/oauth2/v2/token"


class RssSampler(threading.Thread):
    """Peak RSS of the service process (and its children), sampled every 20 ms; `reset` per path."""

    def __init__(self, pid: int) -> None:
        super().__init__(daemon=True)
        self.process = psutil.Process(pid)
        self.peak = 0
        self.running = True

    def reset(self) -> int:
        peak, self.peak = self.peak, 0
        return peak

    def run(self) -> None:
        while self.running:
            try:
                procs = [self.process, *self.process.children(recursive=True)]
                self.peak = max(self.peak, sum(p.memory_info().rss for p in procs))
            except psutil.Error:
                pass
            time.sleep(0.02)


def records(count: int, seed: int, org_id: int) -> list[tuple[Any, ...]]:
    now = datetime.now(UTC)
    return [
        (d.serial_number, org_id, 0, d.model, d.description, d.color, d.device_family, d.os, d.asset_tag,
         d.order_number, d.order_date, d.wifi_mac_address, d.bluetooth_mac_address, d.ethernet_mac_address,
         list(d.imei), list(d.meid), d.eid, False, "empty", now, now)
        for d in generate_devices(count, seed=seed, order_number="RAW", now=now)
    ]  # fmt: skip


async def raw_copy_rates(
    dsn: str, count: int, org_id: int, floor: bool = False
) -> tuple[float, float, list[tuple[str, float]]]:
    """devices/s of asyncpg COPY into a bare table, and into a copy of `device` (LIKE ... INCLUDING ALL);
    with `floor`, also (label, devices/s) of the least a device could cost (`FLOOR_DESIGNS`)."""
    rows = records(count, 99, org_id)
    conn = await asyncpg.connect(dsn)
    try:
        await conn.execute(BARE_TABLE)
        await conn.execute("CREATE TABLE bench_device (LIKE device INCLUDING ALL)")
        rates = []
        for table in ("bench_bare", "bench_device"):
            start = time.perf_counter()
            async with conn.transaction():
                for i in range(0, len(rows), 20_000):
                    await conn.copy_records_to_table(table, records=rows[i : i + 20_000], columns=COLUMNS)
            rates.append(count / (time.perf_counter() - start))
        await conn.execute("DROP TABLE bench_bare; DROP TABLE bench_device")
        floors = (
            [(label, await floor_rate(conn, rows, *design)) for label, *design in FLOOR_DESIGNS]
            if floor
            else []
        )
    finally:
        await conn.close()
    return rates[0], rates[1], floors


# `--floor`: the least a generated and assigned device could cost the database in any design, as raw
# writes in one transaction (no generation, no request, no other statement): a device row with
# only its key and unique serial and no stored wire; then one slim feed event each (no snapshot);
# then also the indexes its reads need (fetch by server and feed position, assignment by order;
# `org_id` stands in for `server_id`, same shape). Where even these are under 0.5 of the bare COPY,
# the 0.5x cannot be met by writing those rows.
FLOOR_DEVICE = (
    BARE_TABLE.replace("bench_bare", "bench_floor"),
    "ALTER TABLE bench_floor ADD PRIMARY KEY (id), ADD UNIQUE (serial_number)",
)
FLOOR_EVENT = (
    "CREATE TABLE bench_floor_event (server_id bigint, seq bigint, device_id bigint,"
    " op_type varchar(16), op_at timestamptz, PRIMARY KEY (server_id, seq))"
)
FLOOR_INDEXES = (
    "CREATE INDEX ON bench_floor (org_id, feed_seq)",
    "CREATE INDEX ON bench_floor (org_id, order_number)",
)
FLOOR_DESIGNS: tuple[tuple[str, tuple[str, ...], bool], ...] = (
    ("device row: key + unique serial, no wire", (), False),
    ("  + a slim event row each", (), True),
    ("  + the feed's and the order's indexes", FLOOR_INDEXES, True),
)


async def floor_rate(
    conn: asyncpg.Connection, rows: list[tuple[Any, ...]], indexes: tuple[str, ...], events: bool
) -> float:
    """devices/s of one `FLOOR_DESIGNS` entry: the device rows by COPY, their events by INSERT ... SELECT."""
    for statement in (*FLOOR_DEVICE, FLOOR_EVENT, *indexes):
        await conn.execute(statement)
    try:
        start = time.perf_counter()
        async with conn.transaction():
            for i in range(0, len(rows), 20_000):
                await conn.copy_records_to_table("bench_floor", records=rows[i : i + 20_000], columns=COLUMNS)
            if events:
                await conn.execute(
                    "INSERT INTO bench_floor_event"
                    " SELECT 1, row_number() OVER (ORDER BY id), id, 'added', now() FROM bench_floor"
                )
        return len(rows) / (time.perf_counter() - start)
    finally:
        await conn.execute("DROP TABLE bench_floor; DROP TABLE bench_floor_event")


class Probe:
    """Another org's MDM: `GET /account` and a sync page every 50 ms, latencies kept."""

    def __init__(self, mdm: httpx.AsyncClient, cursor: str) -> None:
        self.mdm, self.cursor = mdm, cursor
        self.account: list[float] = []
        self.sync: list[float] = []
        self.running = True

    async def run(self) -> None:
        while self.running:
            start = time.perf_counter()
            response = await self.mdm.get("/account")
            assert response.status_code == 200, response.text
            self.account.append(time.perf_counter() - start)
            start = time.perf_counter()
            response = await self.mdm.post("/devices/sync", json={"cursor": self.cursor, "limit": 1000})
            assert response.status_code == 200, response.text
            self.sync.append(time.perf_counter() - start)
            await asyncio.sleep(0.05)


async def pg_samples(dsn: str) -> Counter[str]:
    """What the service's PostgreSQL backends are running, sampled every 20 ms until cancelled
    (`--pg-profile`: a sampling profile of the database side of each path)."""
    counts: Counter[str] = Counter()
    conn = await asyncpg.connect(dsn)
    try:
        while True:
            rows = await conn.fetch(
                "SELECT query FROM pg_stat_activity WHERE state = 'active' AND pid <> pg_backend_pid()"
                " AND datname = current_database()"
            )
            counts.update(" ".join(r[0].split())[:100] for r in rows)
            await asyncio.sleep(0.02)
    except asyncio.CancelledError:
        return counts
    finally:
        await conn.close()


def p99(values: list[float]) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(len(ordered) * 0.99))] * 1000


async def csv_body(count: int, seed: int, chunk_rows: int = 20_000) -> AsyncIterator[bytes]:
    """A portal-style CSV, streamed in chunks (the client never holds it whole)."""
    now = datetime.now(UTC)
    head = io.StringIO()
    csv.writer(head).writerow(CSV_FIELDS)
    yield head.getvalue().encode()
    devices = generate_devices(count, seed=seed, order_number=f"CSV-{seed}", now=now)
    while True:
        out = io.StringIO()
        writer = csv.writer(out)
        n = 0
        for d in devices:
            writer.writerow(
                (d.serial_number, d.model, d.color, d.order_number, ";".join(d.imei), d.wifi_mac_address)
            )
            n += 1
            if n == chunk_rows:
                break
        if n == 0:
            return
        yield out.getvalue().encode()
        await asyncio.sleep(0)


def abm_assertion(account: dict[str, Any]) -> str:
    now = int(time.time())
    claims = {"sub": account["client_id"], "iss": account["client_id"], "aud": ASSERTION_AUDIENCE,
              "iat": now, "exp": now + 300, "jti": str(uuid.uuid4())}  # fmt: skip
    return jwt.encode(
        claims, account["private_key_pem"], algorithm="ES256", headers={"kid": account["key_id"]}
    )


async def run(
    args: argparse.Namespace, base_url: str, dsn: str, rss: RssSampler
) -> list[tuple[str, int, float, float]]:
    """Rows of (path, devices, seconds, peak RSS MiB)."""
    results: list[tuple[str, int, float, float]] = []
    n, m = args.devices, args.csv_rows
    async with httpx.AsyncClient(base_url=f"{base_url}/emulator/v1", timeout=3600) as c:

        async def call(method: str, path: str, expect: int = 200, **kw: Any) -> Any:
            response = await c.request(method, path, **kw)
            assert response.status_code == expect, (
                f"{method} {path}: {response.status_code} {response.text[:500]}"
            )
            return response.json()

        async def timed(name: str, count: int, work: Callable[[], Awaitable[Any]]) -> Any:
            if args.paths and not any(name.startswith(p) for p in args.paths.split(",")):
                return None
            rss.reset()
            sampler = asyncio.create_task(pg_samples(dsn)) if args.pg_profile else None
            start = time.perf_counter()
            out = await work()
            results.append((name, count, time.perf_counter() - start, rss.reset() / 2**20))
            print(f"  {name}: {count:,} in {results[-1][2]:.1f} s", file=sys.stderr)  # noqa: T201
            if sampler is not None:
                sampler.cancel()
                counts = await sampler
                total = sum(counts.values()) or 1
                for query, n in counts.most_common(6):
                    print(f"    {n / total:5.0%}  {query}", file=sys.stderr)  # noqa: T201
            return out

        org = await call("POST", "/orgs", 201, json={"name": "Bulk Org"})
        oid = org["id"]
        srv_a = await call("POST", f"/orgs/{oid}/mdm-servers", 201, json={"server_name": "A"})
        srv_b = await call("POST", f"/orgs/{oid}/mdm-servers", 201, json={"server_name": "B"})
        other = await call("POST", "/orgs", 201, json={"name": "Other Org"})
        srv_o = await call("POST", f"/orgs/{other['id']}/mdm-servers", 201, json={"server_name": "O"})
        made = await call(
            "POST", f"/orgs/{other['id']}/devices", 201, json={"generate": {"count": 1000, "seed": 5}}
        )
        await call("POST", f"/orgs/{other['id']}/assignments",
                   json={"server_uuid": srv_o["server_uuid"], "serials": made["serials"]})  # fmt: skip
        creds = await call("POST", f"/mdm-servers/{srv_o['server_uuid']}/oauth-credentials")

        bare, table, floors = await raw_copy_rates(dsn, n, int(oid), floor=args.floor)
        print(f"  raw COPY: bare {bare:,.0f}/s, device copy {table:,.0f}/s", file=sys.stderr)  # noqa: T201

        async with dep_client(OAuthCredentials.from_json(creds), base_url=base_url) as mdm:
            page = (await mdm.post("/server/devices", json={"limit": 1000})).json()
            probe = Probe(mdm, page["cursor"])
            task = asyncio.create_task(probe.run())
            await asyncio.sleep(1)
            probe.account.clear()
            probe.sync.clear()

            async def generate_and_assign() -> None:
                spec = {"count": n, "seed": 1, "order_number": "GA", "server_uuid": srv_a["server_uuid"]}
                response = await c.post(f"/orgs/{oid}/devices", json={"generate": spec})
                if response.status_code == 422:  # a service without generate-into-a-server: two requests
                    del spec["server_uuid"]
                    await call("POST", f"/orgs/{oid}/devices", 201, json={"generate": spec})
                    await call("POST", f"/orgs/{oid}/assignments",
                               json={"server_uuid": srv_a["server_uuid"], "order_number": "GA"})  # fmt: skip
                else:
                    assert response.status_code == 201, response.text[:500]

            await timed("generate + assign", n, generate_and_assign)
            probe.running = False
            await task
            account_p99, sync_p99, probes = p99(probe.account), p99(probe.sync), len(probe.account)

        def assign(server: str | None, order: str) -> Callable[[], Awaitable[Any]]:
            body = {"server_uuid": server, "order_number": order}
            return lambda: call("POST", f"/orgs/{oid}/assignments", json=body)

        body = {"generate": {"count": n, "seed": 2, "order_number": "G2"}}
        await timed("generate (unassigned)", n, lambda: call("POST", f"/orgs/{oid}/devices", 201, json=body))
        await timed("assign by order number", n, assign(srv_a["server_uuid"], "G2"))
        await timed("move A → B (order number)", n, assign(srv_b["server_uuid"], "GA"))
        await timed("unassign (order number)", n, assign(None, "GA"))

        await timed("CSV upload (streamed)", m, lambda: call(
            "POST", f"/orgs/{oid}/devices", 201, content=csv_body(m, 3), headers={"Content-Type": "text/csv"}
        ))  # fmt: skip
        now = datetime.now(UTC)
        listed = [
            {"serial_number": d.serial_number, "model": d.model, "color": d.color, "order_number": "JSON"}
            for d in generate_devices(min(m, 100_000), seed=4, now=now)
        ]
        await timed("JSON device list", len(listed), lambda: call(
            "POST", f"/orgs/{oid}/devices", 201, json={"devices": listed}
        ))  # fmt: skip
        serials = [d["serial_number"] for d in listed]
        await timed("assign by serial list", len(serials), lambda: call(
            "POST", f"/orgs/{oid}/assignments", json={"server_uuid": srv_b["server_uuid"], "serials": serials}
        ))  # fmt: skip

        account = await call("POST", f"/orgs/{oid}/api-accounts", 201, json={"private_key_format": "pkcs8"})
        async with httpx.AsyncClient(base_url=base_url, timeout=3600) as plain:
            token = (await plain.post("/auth/oauth2/token", data={
                "grant_type": "client_credentials", "client_id": account["client_id"],
                "client_assertion_type": "urn:ietf:params:oauth:client-assertion-type:jwt-bearer",
                "client_assertion": abm_assertion(account), "scope": account["scope"],
            })).json()["access_token"]  # fmt: skip
            abm = {"Authorization": f"Bearer {token}"}
            few = serials[: args.activity]

            def activity(kind: str, server: str | None, **attributes: Any) -> Callable[[], Awaitable[Any]]:
                rel: dict[str, Any] = {"devices": {"data": [{"type": "orgDevices", "id": s} for s in few]}}
                if server:
                    rel["mdmServer"] = {"data": {"type": "mdmServers", "id": server}}
                attrs = {"activityType": kind, **attributes}
                body = {"data": {"type": "orgDeviceActivities", "attributes": attrs, "relationships": rel}}

                async def go() -> None:
                    r = await plain.post("/v1/orgDeviceActivities", json=body, headers=abm)
                    assert r.status_code == 201, r.text[:500]

                return go

            await timed("ABM activity: assign", len(few), activity("ASSIGN_DEVICES", srv_a["server_uuid"]))
            deadline = (datetime.now(UTC) + timedelta(days=30)).isoformat()
            await timed("ABM activity: assign with deadline", len(few), activity(
                "ASSIGN_DEVICES_WITH_MDM_MIGRATION_DEADLINE", srv_b["server_uuid"],
                activityTypeMetadata={"mdmMigrationDeadlineDateTime": deadline},
            ))  # fmt: skip
            await timed("ABM activity: release", len(few), activity("RELEASE_DEVICES", None))

        # The next devices of the list are still on B: its MDM disowns them (DEP /devices/disown).
        disowned = serials[args.activity : 2 * args.activity]
        b_creds = await call("POST", f"/mdm-servers/{srv_b['server_uuid']}/oauth-credentials")
        async with dep_client(OAuthCredentials.from_json(b_creds), base_url=base_url) as mdm_b:

            async def disown() -> None:
                r = await mdm_b.post("/devices/disown", json={"devices": disowned}, timeout=3600)
                assert r.status_code == 200 and set(r.json()["devices"].values()) == {"SUCCESS"}, r.text[:500]

            await timed("DEP disown", len(disowned), disown)

        churn = await call("POST", f"/orgs/{oid}/churn", 201, json={
            "name": "bench", "kind": "insert", "devices_per_event": 1000, "interval_in_seconds": 3600,
            "server_uuid": srv_a["server_uuid"],
        })  # fmt: skip

        async def churn_events() -> None:
            for _ in range(10):
                await call("POST", f"/churn/{churn['id']}/run")

        await timed("churn: 10 insert events of 1000", 10_000, churn_events)
        seed_yaml = (ROOT / "examples" / "staging-100k.yaml").read_bytes()
        await timed("seed file staging-100k.yaml", 100_000, lambda: call(
            "POST", "/seed", content=seed_yaml, headers={"Content-Type": "application/yaml"}
        ))  # fmt: skip

    print(f"raw COPY, {n:,} rows: bare table {bare:,.0f}/s; copy of `device` {table:,.0f}/s"  # noqa: T201
          f" ({table / bare:.2f} of bare)")  # fmt: skip
    for label, rate in floors:
        print(f"floor, {label:<44} {rate:>8,.0f}/s {rate / bare:>6.2f} of bare")  # noqa: T201
    print(f"{'path':<34} {'devices':>9} {'s':>7} {'dev/s':>8} {'/bare':>6} {'/device':>7} {'RSS MiB':>8}")  # noqa: T201
    for name, count, seconds, peak in results:
        rate = count / seconds
        print(f"{name:<34} {count:>9,} {seconds:>7.1f} {rate:>8,.0f} {rate / bare:>6.2f}"  # noqa: T201
              f" {rate / table:>7.2f} {peak:>8.0f}")  # fmt: skip
    print(f"during generate + assign: GET /account p99 {account_p99:.0f} ms, sync page p99 {sync_p99:.0f} ms"  # noqa: T201
          f" ({probes} probes; target < 200 ms)")  # fmt: skip
    return results


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--devices", type=int, default=1_000_000)
    parser.add_argument("--csv-rows", type=int, default=100_000)
    parser.add_argument("--activity", type=int, default=10_000, help="devices per Business Manager activity")
    parser.add_argument(
        "--paths", help='only these paths (comma-separated name prefixes, e.g. "generate + assign,CSV")'
    )
    parser.add_argument(
        "--floor",
        action="store_true",
        help="also time the least a device could cost (raw writes, FLOOR_DESIGNS)",
    )
    parser.add_argument("--pg-profile", action="store_true", help="sample the statements each path runs")
    args = parser.parse_args()
    embedded = embedded_pg.start(Path(tempfile.mkdtemp(prefix="depemu-bulk-")), cleanup_mode="delete")
    url = embedded.url
    migrate.upgrade(url)
    port = free_port()
    env = dict(os.environ, DEPEMU_DATABASE_URL=url, DEPEMU_LOG_LEVEL="WARNING", DEPEMU_LOG_FORMAT="text",
               DEPEMU_ABM_ACTIVITY_DELAY_SECONDS="0")  # fmt: skip
    service = subprocess.Popen(
        [sys.executable, "-m", "uvicorn", "--factory", "dep_emulator.main:create_app", "--port", str(port),
         "--log-level", "warning", "--no-access-log"],
        cwd=ROOT, env=env,
    )  # fmt: skip
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
        rss = RssSampler(service.pid)
        rss.start()
        dsn = url.replace("postgresql+asyncpg://", "postgresql://", 1)
        asyncio.run(run(args, base_url, dsn, rss))
        rss.running = False
    finally:
        service.terminate()
        service.wait(timeout=30)
        embedded.stop()


if __name__ == "__main__":
    main()
