"""Per-request overhead of the DEP surface, measured with wrk: `python bench/http.py`.

    apt-get install -y wrk                      # the load generator (Debian package), not installed here
    python bench/http.py [--workers 1,2] [--duration 10] [--warmup 3] [--save a.json] [--compare b.json]
    python bench/http.py --workers 1 --profile /tmp/prof   # py-spy flame graphs (perturbs the figures)
    python bench/http.py --workers 1 --only "orgs/{id}/devices"  # one endpoint (names contain the text)
    python bench/http.py --workers 1 --only sync --floor  # the empty sync's floor (bench/floor_app.py)

Starts an embedded PostgreSQL (or uses `--database-url`, a scratch database), `dep-emulator serve
--workers N` on it for each N, and a bare Starlette app returning the service's own /account JSON
under the same uvicorn (bench/bare_app.py). Seeds an org, an MDM server with 1,000 assigned devices
and a DEP session, then drives each endpoint with wrk (2 threads, 32 connections, `--duration`
seconds each; a Lua script sets the headers and bodies and prints the figures):

- `GET /account` at protocol 3 with a valid session;
- `POST /devices/sync` with the cursor at the end of the feed (an empty page);
- `POST /devices` for 10 serials;
- `GET /emulator/v1/orgs/{id}/devices?limit=100`.

Prints requests/s, p50 and p99 latency, the CPU time the server's processes spent per request
(steadier than requests/s when others share the machine), PostgreSQL's and wrk's CPU per request,
the ratio of /account to the bare endpoint, N workers to one, and each figure against the
`--before-python` checkout run first (or a file an earlier run wrote with `--save`: `--compare`).
Every answer must be a 200: a run whose responses were errors is refused, not reported.

`--floor` also drives the empty sync on bench/floor_app.py, a bare Starlette app on the same
database: the service's own functions and statements without its framework layers, the two
statements alone with a fixed answer, and `SELECT 1` plus the journal row. What the contract's
statements cost on this machine, whatever is built around them.
"""

from __future__ import annotations

import sys

# This file is named like the standard library's `http` package: its own folder, which Python puts
# first on the import path to run it, must not shadow that (httpx imports http.client).
sys.path.pop(0)

import argparse
import asyncio
import json
import os
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import asyncpg
import httpx
import psutil
from sqlalchemy.engine import make_url

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from dep_emulator.core import embedded_pg, migrate
from dep_emulator.testing.dep_client import DepAuth, OAuthCredentials, dep_client
from dep_emulator.testing.server import free_port

ROOT = Path(__file__).resolve().parents[1]
USER_AGENT = "dep-emulator-bench/1"
FLOOR_MODES = ("service", "statements", "roundtrip")
DONE_LUA = """
done = function(summary, latency, requests)
  local e = summary.errors
  io.write(string.format(
    '\\nBENCH {"requests": %d, "duration_us": %d, "p50_us": %d, "p99_us": %d, "bad": %d}\\n',
    summary.requests, summary.duration, latency:percentile(50), latency:percentile(99),
    e.connect + e.read + e.write + e.status + e.timeout))
end
"""


@dataclass(frozen=True, slots=True)
class Endpoint:
    name: str
    method: str
    path: str
    headers: dict[str, str]
    body: str | None = None

    def lua(self) -> str:
        lines = [f"wrk.method = {json.dumps(self.method)}", f"wrk.path = {json.dumps(self.path)}"]
        lines += [f"wrk.headers[{json.dumps(k)}] = {json.dumps(v)}" for k, v in self.headers.items()]
        if self.body is not None:
            lines.append(f"wrk.body = {json.dumps(self.body)}")
        return "\n".join(lines) + "\n" + DONE_LUA


@dataclass(frozen=True, slots=True)
class Figures:
    rps: float
    p50_ms: float
    p99_ms: float
    cpu_ms: float = 0.0  # CPU time of the server's processes per request: steadier than rps on a busy machine
    pg_ms: float = 0.0  # CPU time of PostgreSQL's processes per request (every `postgres` on the machine)
    wrk_ms: float = 0.0  # CPU time of the load generator per request


def tree_cpu(pid: int) -> float:
    """User + system seconds of a process and its children (uvicorn's workers)."""
    total = 0.0
    root = psutil.Process(pid)
    for process in [root, *root.children(recursive=True)]:
        try:
            times = process.cpu_times()
        except psutil.NoSuchProcess:
            continue
        total += times.user + times.system
    return total


def postgres_cpu() -> dict[int, float]:
    """User + system seconds of every `postgres` process (the bench's database and its backends), by pid."""
    seconds = {}
    for process in psutil.process_iter(["name", "cpu_times"]):
        if process.info["name"] == "postgres" and process.info["cpu_times"] is not None:
            seconds[process.pid] = process.info["cpu_times"].user + process.info["cpu_times"].system
    return seconds


def postgres_cpu_since(before: dict[int, float]) -> float:
    """PostgreSQL's CPU seconds since `before`: processes alive at the end (a backend that exited
    meanwhile takes its seconds with it, so this errs low, never negative)."""
    return sum(max(0.0, t - before.get(pid, 0.0)) for pid, t in postgres_cpu().items())


def children_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def warm_up(base_url: str, endpoint: Endpoint, seconds: int) -> None:
    """Load not measured: every worker's first requests build what it caches (the OpenAPI document
    behind /account's `urls`, compiled statements), about a second of CPU each, which a fresh
    `--workers 2` would otherwise pay inside its measured seconds."""
    if seconds > 0:
        wrk(base_url, endpoint, seconds, None)


def wrk(base_url: str, endpoint: Endpoint, duration: int, pid: int | None) -> Figures:
    with tempfile.NamedTemporaryFile("w", suffix=".lua", delete=False) as script:
        script.write(endpoint.lua())
    cpu_before = tree_cpu(pid) if pid is not None else 0.0
    pg_before, children_before = postgres_cpu(), children_cpu()
    try:
        out = subprocess.run(
            ["wrk", "-t2", "-c32", f"-d{duration}s", "--timeout", "10s", "-s", script.name, base_url],
            capture_output=True,
            text=True,
            check=True,
        ).stdout
    finally:
        os.unlink(script.name)
    cpu = tree_cpu(pid) - cpu_before if pid is not None else 0.0
    pg, wrk_cpu = postgres_cpu_since(pg_before), children_cpu() - children_before
    line = next(x for x in out.splitlines() if x.startswith("BENCH "))
    data = json.loads(line[len("BENCH ") :])
    if data["bad"] or not data["requests"]:  # warm-up included: errors there are errors too
        raise SystemExit(f"{endpoint.name}: {data['bad']} failed or non-2xx answers of {data['requests']}")
    return Figures(
        rps=data["requests"] / (data["duration_us"] / 1e6),
        p50_ms=data["p50_us"] / 1000,
        p99_ms=data["p99_us"] / 1000,
        cpu_ms=cpu * 1000 / data["requests"],
        pg_ms=pg * 1000 / data["requests"],
        wrk_ms=wrk_cpu * 1000 / data["requests"],
    )


def wait_ready(url: str, process: subprocess.Popen[bytes], path: str = "/readyz") -> None:
    deadline = time.monotonic() + 120
    while True:
        try:
            if httpx.get(url + path, timeout=2).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        if process.poll() is not None or time.monotonic() > deadline:
            raise SystemExit(f"{url} did not start")
        time.sleep(0.2)


def stop(process: subprocess.Popen[bytes]) -> None:
    process.terminate()
    try:
        process.wait(timeout=40)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait(timeout=10)


def service_env(database_url: str) -> dict[str, str]:
    """The environment of the service (and of the floor app) on `database_url`: none of ours but that,
    and no session rotation during the run, so every request presents the same token."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("DEPEMU_")}
    env.update(
        DEPEMU_DATABASE_URL=database_url,
        DEPEMU_SESSION_TTL_SECONDS="86400",
        DEPEMU_SESSION_ROTATION_SECONDS="86400",
    )
    return env


def serve(
    database_url: str, workers: int, python: str = sys.executable
) -> tuple[subprocess.Popen[bytes], str]:
    """`dep-emulator serve --workers N` with the defaults an operator gets (logs to /dev/null)."""
    port = free_port()
    command = [python, "-m", "dep_emulator.cli", "serve", "--port", str(port)]
    if workers != 1:
        command += ["--workers", str(workers)]
    process = subprocess.Popen(
        command, cwd=ROOT, env=service_env(database_url), stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
    )
    url = f"http://127.0.0.1:{port}"
    wait_ready(url, process)
    return process, url


def bare(account_json: str) -> tuple[subprocess.Popen[bytes], str]:
    """bench/bare_app.py under uvicorn with the options `serve` gives it (httptools, uvloop)."""
    port = free_port()
    env = dict(os.environ, BENCH_BARE_JSON=account_json)
    command = [sys.executable, "-m", "uvicorn", "--app-dir", str(ROOT / "bench"), "bare_app:app"]
    command += ["--port", str(port), "--log-level", "warning", "--no-access-log"]
    process = subprocess.Popen(command, cwd=ROOT, env=env)
    url = f"http://127.0.0.1:{port}"
    wait_ready(url, process, path="/account")
    return process, url


def floor(database_url: str, mode: str) -> tuple[subprocess.Popen[bytes], str]:
    """bench/floor_app.py (BENCH_FLOOR=`mode`) under uvicorn as `bare` runs it, on the service's database."""
    port = free_port()
    env = dict(service_env(database_url), BENCH_FLOOR=mode)
    command = [sys.executable, "-m", "uvicorn", "--app-dir", str(ROOT / "bench"), "floor_app:app"]
    command += ["--port", str(port), "--log-level", "warning", "--no-access-log"]
    process = subprocess.Popen(command, cwd=ROOT, env=env)
    url = f"http://127.0.0.1:{port}"
    wait_ready(url, process)
    return process, url


async def seed(base_url: str) -> tuple[list[Endpoint], str]:
    """An org with 1,000 devices on one MDM server, a session; the endpoints and /account's JSON."""
    async with httpx.AsyncClient(base_url=base_url, timeout=600) as admin:
        org = (await admin.post("/emulator/v1/orgs", json={"name": "Bench Org"})).json()
        server = (
            await admin.post(f"/emulator/v1/orgs/{org['id']}/mdm-servers", json={"server_name": "Bench"})
        ).json()
        creds = (
            await admin.post(f"/emulator/v1/mdm-servers/{server['server_uuid']}/oauth-credentials")
        ).json()
        generate = {"generate": {"count": 1000, "order_number": "BENCH-HTTP", "seed": 15}}
        r = await admin.post(f"/emulator/v1/orgs/{org['id']}/devices", json=generate)
        assert r.status_code == 201, r.text
        r = await admin.post(
            f"/emulator/v1/orgs/{org['id']}/assignments",
            json={"server_uuid": server["server_uuid"], "order_number": "BENCH-HTTP"},
        )
        assert r.status_code == 200, r.text
        listed = (await admin.get(f"/emulator/v1/orgs/{org['id']}/devices", params={"limit": 10})).json()
        serials = [d["serial_number"] for d in listed["devices"]]
    async with dep_client(OAuthCredentials.from_json(creds), base_url=base_url, user_agent=USER_AGENT) as mdm:
        cursor = None
        while True:
            page = (
                await mdm.post(
                    "/server/devices", json={"limit": 1000, **({"cursor": cursor} if cursor else {})}
                )
            ).json()
            cursor = page["cursor"]
            if not page["more_to_follow"]:
                break
        while True:
            page = (await mdm.post("/devices/sync", json={"cursor": cursor})).json()
            cursor = page["cursor"]
            if not page["more_to_follow"]:
                break
        account = await mdm.get("/account", headers={"X-Server-Protocol-Version": "3"})
        assert account.status_code == 200, account.text
        assert isinstance(mdm.auth, DepAuth) and mdm.auth.auth_session is not None
        token = mdm.auth.auth_session
    dep = {"User-Agent": USER_AGENT, "X-ADM-Auth-Session": token, "X-Server-Protocol-Version": "3"}
    posted = {**dep, "Content-Type": "application/json;charset=UTF8"}
    endpoints = [
        Endpoint("GET /account", "GET", "/account", dep),
        Endpoint(
            "POST /devices/sync (empty page)", "POST", "/devices/sync", posted, json.dumps({"cursor": cursor})
        ),
        Endpoint("POST /devices (10 serials)", "POST", "/devices", posted, json.dumps({"devices": serials})),
        Endpoint(
            "GET /emulator/v1/orgs/{id}/devices?limit=100",
            "GET",
            f"/emulator/v1/orgs/{org['id']}/devices?limit=100",
            {"User-Agent": USER_AGENT},
        ),
    ]
    return endpoints, account.text


async def fresh_database(url: str, name: str) -> str:
    """An empty database `name` in the cluster of `url` (dropped first if it exists); its URL."""
    base = make_url(url)
    conn = await asyncpg.connect(base.set(drivername="postgresql").render_as_string(hide_password=False))
    try:
        await conn.execute(f'DROP DATABASE IF EXISTS "{name}"')
        await conn.execute(f'CREATE DATABASE "{name}"')
    finally:
        await conn.close()
    return base.set(database=name).render_as_string(hide_password=False)


def profiled(pid: int, output: Path, duration: int) -> subprocess.Popen[bytes]:
    py_spy = shutil.which("py-spy") or str(Path(sys.executable).parent / "py-spy")
    command = [py_spy, "record", "-p", str(pid), "-o", str(output), "-d", str(duration), "-r", "200"]
    return subprocess.Popen(command + ["-f", "raw"], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)


def report(results: dict[str, dict[str, Figures]], before: dict[str, Any] | None) -> str:
    head = f"{'req/s':>9} {'p50 ms':>8} {'p99 ms':>8} {'CPU ms':>7} {'PG ms':>6} {'wrk ms':>6}"
    lines = [f"{'configuration':<16} {'endpoint':<46} {head}  ratios"]
    bare_rps = results.get("bare", {}).get("GET /account")
    one = results.get("workers=1", {})
    for config, by_endpoint in results.items():
        for name, f in by_endpoint.items():
            ratios = []
            if config != "bare" and name == "GET /account" and bare_rps:
                ratios.append(f"{f.rps / bare_rps.rps:.1%} of bare")
            if config not in ("bare", "before", "workers=1") and name in one:
                ratios.append(f"{f.rps / one[name].rps:.2f}x 1 worker")
            then = (before or {}).get(config, {}).get(name)
            if config not in ("bare", "before") and name in results.get("before", {}):
                then = asdict(results["before"][name])
            if then:
                ratios.append(f"{f.rps / then['rps']:.2f}x before ({then['rps']:.0f}/s)")
                if then.get("cpu_ms"):
                    ratios.append(f"CPU/request {f.cpu_ms / then['cpu_ms']:.2f}x before")
            figures = f"{f.rps:>9.0f} {f.p50_ms:>8.2f} {f.p99_ms:>8.2f} {f.cpu_ms:>7.2f}"
            figures += f" {f.pg_ms:>6.2f} {f.wrk_ms:>6.2f}"
            lines.append(f"{config:<16} {name:<46} {figures}  {', '.join(ratios)}")
    return "\n".join(lines)


def selected(endpoints: list[Endpoint], only: str | None) -> list[Endpoint]:
    """The endpoints whose name contains one of the comma-separated words of `only` (all if None)."""
    if not only:
        return endpoints
    words = [w.strip().lower() for w in only.split(",") if w.strip()]
    return [e for e in endpoints if any(w in e.name.lower() for w in words)]


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--workers", default="1,2", help="worker counts to run, comma-separated")
    parser.add_argument("--duration", type=int, default=10, help="seconds per endpoint")
    parser.add_argument(
        "--warmup", type=int, default=3, help="seconds of unmeasured load per endpoint before each run"
    )
    parser.add_argument(
        "--database-url",
        help="a scratch PostgreSQL instead of an embedded one (--before-python creates bench_before in it)",
    )
    parser.add_argument(
        "--before-python",
        help="also run one worker of another checkout first (its venv's python), for the ratios",
    )
    parser.add_argument("--save", type=Path, help="write the figures as JSON")
    parser.add_argument("--compare", type=Path, help="figures of an earlier run (--save) to compare with")
    parser.add_argument(
        "--profile",
        type=Path,
        help="py-spy raw profiles of the 1-worker runs (DIR/before, DIR/workers1)",
    )
    parser.add_argument(
        "--floor",
        action="store_true",
        help="also run the empty sync on bench/floor_app.py: the service's functions and statements"
        " without its framework layers, then the statements alone",
    )
    parser.add_argument(
        "--only",
        help="endpoints to run, comma-separated words of their names (e.g. account,sync,serials);"
        " the bare one runs with /account",
    )
    args = parser.parse_args()
    if shutil.which("wrk") is None:
        raise SystemExit("bench/http.py needs wrk: apt-get install -y wrk (Debian/Ubuntu), brew install wrk")
    before = json.loads(args.compare.read_text()) if args.compare else None
    embedded = None
    url = args.database_url
    if not url:
        embedded = embedded_pg.start(
            Path(tempfile.mkdtemp(prefix="depemu-bench-http-")), cleanup_mode="delete"
        )
        url = embedded.url
    # (label, interpreter, workers, database): an earlier checkout first, if asked, on a database of
    # its own (its serve migrates it; its migrations stop short of ours), then this one.
    runs: list[tuple[str, str, int, str]] = []
    if args.before_python:
        runs.append(("before", args.before_python, 1, asyncio.run(fresh_database(url, "bench_before"))))
    migrate.upgrade(url)
    runs += [(f"workers={n}", sys.executable, int(n), url) for n in args.workers.split(",")]
    results: dict[str, dict[str, Figures]] = {}
    try:
        seeded: dict[str, list[Endpoint]] = {}  # database -> its endpoints
        for label, python, n, database in runs:
            process, base_url = serve(database, n, python)
            try:
                if database not in seeded:
                    endpoints, account_json = asyncio.run(seed(base_url))
                    account = endpoints[0]
                    endpoints = selected(endpoints, args.only)
                    if not endpoints:
                        raise SystemExit(f"no endpoint's name contains {args.only!r}")
                    seeded[database] = endpoints
                    if account in endpoints and "bare" not in results:
                        bare_process, bare_url = bare(account_json)
                        try:
                            warm_up(bare_url, account, args.warmup)
                            results["bare"] = {
                                "GET /account": wrk(bare_url, account, args.duration, bare_process.pid)
                            }
                        finally:
                            stop(bare_process)
                figures = {}
                for endpoint in seeded[database]:
                    warm_up(base_url, endpoint, args.warmup)
                    spy = None
                    if args.profile and label in ("before", "workers=1"):
                        folder = args.profile / label.replace("=", "")
                        folder.mkdir(parents=True, exist_ok=True)
                        slug = "".join(c if c.isalnum() else "_" for c in endpoint.name).strip("_")
                        spy = profiled(process.pid, folder / f"{slug}.txt", args.duration)
                    figures[endpoint.name] = wrk(base_url, endpoint, args.duration, process.pid)
                    if spy is not None:
                        spy.wait(timeout=60)
                results[label] = figures
            finally:
                stop(process)
        sync = next((e for e in seeded.get(url, []) if e.path == "/devices/sync"), None)
        if args.floor and sync is not None:
            for mode in FLOOR_MODES:
                floor_process, floor_url = floor(url, mode)
                try:
                    warm_up(floor_url, sync, args.warmup)
                    figures = wrk(floor_url, sync, args.duration, floor_process.pid)
                    results[f"floor:{mode}"] = {sync.name: figures}
                finally:
                    stop(floor_process)
    finally:
        if embedded is not None:
            embedded.stop()
    print(report(results, before))  # noqa: T201
    if args.save:
        saved = {config: {name: asdict(f) for name, f in by.items()} for config, by in results.items()}
        args.save.write_text(json.dumps(saved, indent=1))


if __name__ == "__main__":
    main()
