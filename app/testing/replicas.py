"""Real `dep-emulator serve` processes on one database, and a client that alternates between them.

Thread-based servers (dep_emulator.testing.server) share one interpreter, so they cannot show what a
second process, a SIGKILL or a SIGTERM does. These are the same command an operator runs,
as subprocesses. `AlternatingTransport` plays the load balancer: the client talks to one
public base URL (which every replica is told about, as behind the compose proxy, so OAuth
signatures verify anywhere) and each request goes to the next replica in turn.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator, Sequence
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any

import httpx
import psutil

from .server import free_port

ROOT = Path(__file__).resolve().parents[2]
PUBLIC_BASE_URL = "http://dep.replicas.test"


@dataclass
class Replica:
    """One `python -m dep_emulator.cli serve` subprocess; its output goes to a file (`.log()`)."""

    process: subprocess.Popen[bytes]
    url: str
    log_path: Path
    _log: IO[bytes] = field(repr=False)

    @property
    def pid(self) -> int:
        return self.process.pid

    def log(self) -> str:
        self._log.flush()
        return self.log_path.read_text(errors="replace")

    def wait_ready(self, timeout: float = 60) -> None:
        deadline = time.monotonic() + timeout
        while True:
            try:
                if httpx.get(f"{self.url}/readyz", timeout=2).status_code == 200:
                    return
            except httpx.HTTPError:
                pass
            if self.process.poll() is not None:
                raise RuntimeError(f"replica exited with {self.process.returncode}:\n{self.log()}")
            if time.monotonic() > deadline:
                raise RuntimeError(f"replica not ready after {timeout} s:\n{self.log()}")
            time.sleep(0.1)

    def kill(self) -> int:
        """SIGKILL: no shutdown of any kind, as when the OOM killer or a node failure strikes."""
        self.process.send_signal(signal.SIGKILL)
        return self.process.wait(timeout=30)

    def terminate(self, timeout: float = 40) -> int:
        """SIGTERM: uvicorn stops accepting, drains in-flight requests, runs the lifespan shutdown."""
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
        try:
            return self.process.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            self.process.kill()
            return self.process.wait(timeout=10)


def spawn_replica(
    database_url: str, *, env: dict[str, str] | None = None, wait: bool = True, workers: int = 1
) -> Replica:
    """Start `python -m dep_emulator.cli serve` on a free port against `database_url` (already migrated).

    `workers` > 1: one `serve --workers N`, N processes behind the one port (dep_emulator.cli.workers).
    """
    port = free_port()
    environment = {k: v for k, v in os.environ.items() if not k.startswith("DEPEMU_")}
    environment.update(
        {
            "DEPEMU_DATABASE_URL": database_url,
            "DEPEMU_PUBLIC_BASE_URL": PUBLIC_BASE_URL,
            "DEPEMU_LOG_LEVEL": "WARNING",
            "DEPEMU_LOG_FORMAT": "json",
            **(env or {}),
        }
    )
    log_path = Path(tempfile.mkstemp(prefix=f"depemu-replica-{port}-", suffix=".log")[1])
    log = log_path.open("wb")
    process = subprocess.Popen(
        [sys.executable, "-m", "dep_emulator.cli", "serve", "--port", str(port), "--workers", str(workers)],
        cwd=ROOT,
        env=environment,
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    replica = Replica(process, f"http://127.0.0.1:{port}", log_path, log)
    if wait:
        try:
            replica.wait_ready()
        except BaseException:
            replica.terminate(timeout=10)
            raise
    return replica


@contextmanager
def replicas(database_url: str, count: int = 2, **kwargs: Any) -> Iterator[list[Replica]]:
    """`count` replicas started in parallel; terminated (then killed if stuck) on exit."""
    with ExitStack() as stack:
        started = [spawn_replica(database_url, wait=False, **kwargs) for _ in range(count)]
        for replica in started:
            stack.callback(replica._log.close)
            stack.callback(replica.terminate)
        for replica in started:
            replica.wait_ready()
        yield started


class AlternatingTransport(httpx.AsyncBaseTransport):
    """Send each request to the next of `urls` in turn (round robin), keeping the Host header.

    `self.sent` records which replica served each request, so a test can prove it alternated.
    `inners`: one transport per target (default: one shared), e.g. `worker_transports`.
    """

    def __init__(self, urls: Sequence[str], inners: Sequence[httpx.AsyncBaseTransport] = ()) -> None:
        self.targets = [httpx.URL(u) for u in urls]
        self.inners = list(inners) or [httpx.AsyncHTTPTransport()] * len(self.targets)
        self.sent: list[int] = []

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        index = len(self.sent) % len(self.targets)
        self.sent.append(index)
        target = self.targets[index]
        request.url = request.url.copy_with(scheme=target.scheme, host=target.host, port=target.port)
        return await self.inners[index].handle_async_request(request)

    async def aclose(self) -> None:
        for inner in set(self.inners):
            await inner.aclose()


def _client_ports(port: int) -> set[int]:
    """Local ports of this process's TCP connections to 127.0.0.1:`port`."""
    return {
        c.laddr.port
        for c in psutil.Process().net_connections(kind="tcp")
        if c.raddr and c.raddr.port == port and c.status == psutil.CONN_ESTABLISHED
    }


def _serving_process(parent: int, port: int, client_port: int) -> int | None:
    """The pid among `parent`'s descendants holding the server end of the connection from `client_port`."""
    for child in psutil.Process(parent).children(recursive=True):
        for c in child.net_connections(kind="tcp"):
            if c.laddr.port == port and c.raddr and c.raddr.port == client_port:
                return int(child.pid)
    return None


async def worker_transports(
    replica: Replica, count: int, attempts: int = 100
) -> list[httpx.AsyncHTTPTransport]:
    """One keep-alive connection to each of `count` worker processes of one `serve --workers N`.

    The kernel hands each new connection to whichever worker accepts it; connections are opened
    until `count` different workers hold one, each kept in a transport of a single connection, so
    consecutive requests through `AlternatingTransport` land on different processes.
    """
    port = httpx.URL(replica.url).port
    assert port is not None
    pinned: dict[int, httpx.AsyncHTTPTransport] = {}
    for _ in range(attempts):
        transport = httpx.AsyncHTTPTransport(limits=httpx.Limits(max_connections=1))
        before = _client_ports(port)
        response = await transport.handle_async_request(httpx.Request("GET", f"{replica.url}/healthz"))
        await response.aread()
        opened = _client_ports(port) - before
        worker = _serving_process(replica.pid, port, opened.pop()) if len(opened) == 1 else None
        if worker is None or worker in pinned:
            await transport.aclose()
        else:
            pinned[worker] = transport
        if len(pinned) == count:
            return list(pinned.values())
    for transport in pinned.values():
        await transport.aclose()
    raise RuntimeError(f"could not reach {count} different workers in {attempts} connections")
