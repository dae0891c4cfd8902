"""Console benchmark: `python bench/console.py [--devices 100000]`.

One `dep-emulator serve` process on a throwaway embedded PostgreSQL. Generates N devices, then
assigns all of them to a server three ways and prints each time and the ratios:
- the control API, `POST /emulator/v1/orgs/{id}/assignments` with the serials as JSON (the baseline);
- the console's Manage Devices with "Upload CSV File" (multipart, streamed CSV parse);
- the console's Manage Devices with the serials pasted in the "Serial Number" textarea.
After a first assignment, every timed run moves the devices to the other of two servers (a full
move of N devices each).
While the console's CSV upload runs, a second client times `GET /healthz` (the answer stays fast:
a long upload does not hold other users up). Not part of the test suite.
"""

from __future__ import annotations

import sys

# bench/http.py is named like the standard library's `http`, and Python puts this folder first on
# the import path to run a script from it: take it off (httpx and aiohttp import http.client).
sys.path.pop(0)

import argparse
import asyncio
import re
import statistics
import tempfile
import time
from pathlib import Path

import httpx

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from dep_emulator.core import embedded_pg, migrate
from dep_emulator.core.config import Settings
from dep_emulator.testing.replicas import spawn_replica


async def console_post(client: httpx.AsyncClient, org: str, files: dict, data: dict) -> float:
    page = await client.get(f"/console/orgs/{org}/manage-devices")
    token = re.search(r'name="csrf_token" value="([^"]+)"', page.text)
    assert token is not None
    start = time.perf_counter()
    response = await client.post(
        f"/console/orgs/{org}/manage-devices", data={**data, "csrf_token": token.group(1)}, files=files
    )
    elapsed = time.perf_counter() - start
    assert response.status_code == 303, response.text[:500]
    return elapsed


async def ping_while(task: asyncio.Task[float], client: httpx.AsyncClient) -> list[float]:
    latencies: list[float] = []
    while not task.done():
        start = time.perf_counter()
        await client.get("/healthz")
        latencies.append((time.perf_counter() - start) * 1000)
        await asyncio.sleep(0.05)
    return latencies


async def bench(base: str, count: int) -> None:
    async with (
        httpx.AsyncClient(base_url=base, timeout=900) as client,
        httpx.AsyncClient(base_url=base, timeout=60) as other,
    ):
        org = (await client.post("/emulator/v1/orgs", json={"name": "Bench"})).json()["id"]
        servers = [
            (await client.post(f"/emulator/v1/orgs/{org}/mdm-servers", json={"server_name": n})).json()
            for n in ("bench-a", "bench-b")
        ]
        start = time.perf_counter()
        made = await client.post(f"/emulator/v1/orgs/{org}/devices", json={"generate": {"count": count}})
        assert made.status_code == 201, made.text
        print(f"generate {count:>9,} devices          {time.perf_counter() - start:8.2f} s")  # noqa: T201
        serials: list[str] = []
        cursor = ""
        while True:
            page = (await client.get(f"/emulator/v1/orgs/{org}/devices?limit=1000{cursor}")).json()
            serials += [d["serial_number"] for d in page["devices"]]
            if not page.get("next_cursor"):
                break
            cursor = f"&cursor={page['next_cursor']}"
        target = iter([servers[0], servers[1]] * 3)
        # Warm-up: every timed run below is then the same kind of change, a move of N devices
        # (deleted on the old server, modified on the new one).
        body = {"server_uuid": next(target)["server_uuid"], "serials": serials}
        assert (await client.post(f"/emulator/v1/orgs/{org}/assignments", json=body)).status_code == 200

        start = time.perf_counter()
        body = {"server_uuid": next(target)["server_uuid"], "serials": serials}
        assert (await client.post(f"/emulator/v1/orgs/{org}/assignments", json=body)).status_code == 200
        api = time.perf_counter() - start

        csv_body = ("serial_number\n" + "\n".join(serials) + "\n").encode()
        data = {"choose_by": "csv", "action": "assign", "server_uuid": next(target)["server_uuid"]}
        task = asyncio.create_task(
            console_post(client, org, {"csv_file": ("d.csv", csv_body, "text/csv")}, data)
        )
        pings = await ping_while(task, other)
        csv = await task

        data = {"choose_by": "serial", "action": "assign", "server_uuid": next(target)["server_uuid"],
                "serial_numbers": "\n".join(serials)}  # fmt: skip
        pasted = await console_post(client, org, {}, data)

    print(f"control API assignments (JSON)     {api:8.2f} s   1.00x")  # noqa: T201
    print(f"console Manage Devices, CSV upload {csv:8.2f} s   {csv / api:.2f}x")  # noqa: T201
    print(f"console Manage Devices, textarea   {pasted:8.2f} s   {pasted / api:.2f}x")  # noqa: T201
    if pings:
        p50 = statistics.median(pings)
        worst = max(pings)
        print(f"GET /healthz during the CSV upload: {len(pings)} calls, p50 {p50:.1f} ms, max {worst:.1f} ms")  # noqa: T201


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--devices", type=int, default=100_000)
    args = parser.parse_args()
    embedded = embedded_pg.start(tempfile.mkdtemp(prefix="depemu-bench-console-"), cleanup_mode="delete")
    try:
        url = Settings(database_url=embedded.url).async_database_url
        assert url is not None
        migrate.upgrade(url)
        replica = spawn_replica(
            url, env={"DEPEMU_PUBLIC_BASE_URL": "", "DEPEMU_MAX_BODY_BYTES": str(64 << 20)}
        )
        try:
            asyncio.run(bench(replica.url, args.devices))
        finally:
            replica.terminate()
    finally:
        embedded.stop()


if __name__ == "__main__":
    main()
