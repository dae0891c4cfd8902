"""Running scepserver and NanoMDM on loopback ports for a test, and NanoMDM's command API."""

from __future__ import annotations

import plistlib
import socket
import subprocess
import tempfile
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
from dep_emulator.testing.server import free_port

from tests.device_setup import go_tools


def _binary(name: str) -> Path:
    try:
        return go_tools.tool(name)
    except go_tools.GoMissing as exc:
        go_tools.unavailable(str(exc))


def _wait_for_port(port: int, process: subprocess.Popen[bytes], log: Path) -> None:
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"server exited: {log.read_text()}")
        with socket.socket() as probe:
            if probe.connect_ex(("127.0.0.1", port)) == 0:
                return
        time.sleep(0.05)
    raise RuntimeError(f"server did not listen on {port}: {log.read_text()}")


@contextmanager
def _process(argv: list[str], port: int, workdir: Path) -> Iterator[Path]:
    log = workdir / "server.log"
    with log.open("wb") as out:
        process = subprocess.Popen(argv, stdout=out, stderr=subprocess.STDOUT, cwd=workdir)
    try:
        _wait_for_port(port, process, log)
        yield log
    finally:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


@dataclass
class ScepServer:
    url: str
    challenge: str
    ca_pem: bytes


@contextmanager
def scep_server(challenge: str = "enroll-secret") -> Iterator[ScepServer]:
    """micromdm/scep's scepserver with a fresh CA, enforcing `challenge`."""
    binary = _binary("scepserver")
    with tempfile.TemporaryDirectory(prefix="scep-") as tmp:
        workdir = Path(tmp)
        subprocess.run(
            [str(binary), "ca", "-init", "-depot", "depot", "-keySize", "2048"],
            cwd=workdir,
            check=True,
            capture_output=True,
            timeout=60,
        )
        port = free_port()
        argv = [str(binary), "-depot", "depot", "-port", str(port), "-challenge", challenge]
        with _process(argv, port, workdir):
            ca_pem = (workdir / "depot" / "ca.pem").read_bytes()
            yield ScepServer(f"http://127.0.0.1:{port}/scep", challenge, ca_pem)


@dataclass
class NanoMdm:
    base_url: str
    api_key: str
    log: Path

    @property
    def mdm_url(self) -> str:
        return self.base_url + "/mdm"

    def enqueue(self, udid: str, request_type: str, **fields: Any) -> str:
        """Queue a command for the device (no APNs push); its CommandUUID."""
        command_uuid = str(uuid.uuid4()).upper()
        body = {"CommandUUID": command_uuid, "Command": {"RequestType": request_type, **fields}}
        self.enqueue_raw(udid, plistlib.dumps(body))
        return command_uuid

    def enqueue_raw(self, udid: str, plist: bytes) -> httpx.Response:
        response = httpx.put(
            f"{self.base_url}/v1/enqueue/{udid}",
            params={"nopush": "1"},
            content=plist,
            auth=("nanomdm", self.api_key),
            timeout=10,
        )
        assert response.status_code == 200, response.text
        return response


@contextmanager
def nanomdm(ca_pem: bytes, *, webhook_url: str | None = None) -> Iterator[NanoMdm]:
    """NanoMDM trusting identities issued by `ca_pem`, verifying Mdm-Signature, in-memory storage;
    what it received goes to `webhook_url` as its webhook events."""
    binary = _binary("nanomdm")
    with tempfile.TemporaryDirectory(prefix="nanomdm-") as tmp:
        workdir = Path(tmp)
        (workdir / "ca.pem").write_bytes(ca_pem)
        port = free_port()
        api_key = "nanomdm-api-key"
        argv = [
            str(binary),
            "-ca",
            "ca.pem",
            "-api",
            api_key,
            "-listen",
            f"127.0.0.1:{port}",
            "-storage",
            "inmem",
            "-storage-dsn",
            "",
            "-debug",
        ]
        if webhook_url:
            argv += ["-webhook-url", webhook_url]
        with _process(argv, port, workdir) as log:
            yield NanoMdm(f"http://127.0.0.1:{port}", api_key, log)
