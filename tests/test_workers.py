"""`DEPEMU_WORKERS=2 dep-emulator serve` with no database configured (issue 15).

The parent starts the one embedded PostgreSQL and migrates; both workers use it; it stops with
the parent. (The replica checks against `serve --workers 2` on a configured database are in
tests/robustness/test_replica_processes.py.)
"""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
import time
from pathlib import Path

import httpx
from dep_emulator.testing.replicas import ROOT, AlternatingTransport, Replica, worker_transports
from dep_emulator.testing.server import free_port


async def _one_state_on_both_workers(served: Replica) -> None:
    transport = AlternatingTransport([served.url] * 2, await worker_transports(served, 2))
    async with httpx.AsyncClient(base_url=served.url, transport=transport) as both:
        created = (await both.post("/emulator/v1/orgs", json={"name": "Shared"})).json()  # worker 1
        listed = (await both.get("/emulator/v1/orgs")).json()  # worker 2
    assert transport.sent == [0, 1]
    assert created["id"] in [o["id"] for o in listed["orgs"]]


def test_workers_from_the_environment_share_the_parents_embedded_database(tmp_path: Path) -> None:
    port = free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("DEPEMU_")}
    env.update(DEPEMU_WORKERS="2", DEPEMU_DATA_DIR=str(tmp_path), DEPEMU_LOG_LEVEL="WARNING")
    log_path = tmp_path / "serve.log"
    log = log_path.open("wb")
    process = subprocess.Popen(
        [sys.executable, "-m", "dep_emulator.cli", "serve", "--port", str(port)],
        cwd=ROOT,
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    served = Replica(process, f"http://127.0.0.1:{port}", log_path, log)
    try:
        served.wait_ready(timeout=120)
        assert (tmp_path / "pgdata" / "postmaster.pid").exists()
        asyncio.run(_one_state_on_both_workers(served))
    finally:
        assert served.terminate() == 0, served.log()
        log.close()
    deadline = time.monotonic() + 30  # the parent stopped the embedded server on its way out
    while (tmp_path / "pgdata" / "postmaster.pid").exists() and time.monotonic() < deadline:
        time.sleep(0.2)
    assert not (tmp_path / "pgdata" / "postmaster.pid").exists()
