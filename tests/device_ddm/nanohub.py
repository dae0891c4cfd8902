"""NanoHub v0.2.0 (NanoMDM + NanoCMD + KMFDDM in one process) on a loopback port, and its DDM API.

Device identities must chain to `-ca`; they come from `Mdm-Signature` (no `-cert-header`), so
the enrollment profile sets SignMessage. Storage is in memory. Without an APNs certificate every
push fails after the command is stored, so API calls that notify answer an error while the
`DeclarativeManagement` command is queued all the same: tests poll the device.
"""

from __future__ import annotations

import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
from dep_emulator.testing.server import free_port

from tests.device_setup.real_servers import _binary, _process

API_KEY = "nanohub-api-key"


@dataclass
class NanoHub:
    base_url: str
    log: Path

    @property
    def mdm_url(self) -> str:
        return self.base_url + "/mdm"

    def api(self, method: str, path: str, **kwargs: Any) -> httpx.Response:
        return httpx.request(
            method, f"{self.base_url}/api/v1/ddm{path}", auth=("nanohub", API_KEY), timeout=20, **kwargs
        )

    def put_declaration(self, declaration: dict[str, Any]) -> None:
        response = self.api("PUT", "/declarations", json=declaration)
        assert response.status_code in (204, 304, 500), response.text  # 500: the push failed (no APNs)

    def set_declaration(self, set_name: str, identifier: str, *, remove: bool = False) -> None:
        response = self.api(
            "DELETE" if remove else "PUT", f"/set-declarations/{set_name}", params={"declaration": identifier}
        )
        assert response.status_code in (204, 304, 500), response.text

    def enroll_set(self, enrollment_id: str, set_name: str) -> None:
        response = self.api("PUT", f"/enrollment-sets/{enrollment_id}", params={"set": set_name})
        assert response.status_code in (204, 304, 500), response.text

    def declaration_status(self, enrollment_id: str) -> dict[str, dict[str, Any]]:
        """What the device reported, as NanoHub stored it, by declaration identifier."""
        response = self.api("GET", f"/declaration-status/{enrollment_id}")
        assert response.status_code == 200, response.text
        return {s["identifier"]: s for s in response.json().get(enrollment_id) or []}


@contextmanager
def nanohub(ca_pem: bytes) -> Iterator[NanoHub]:
    binary = _binary("nanohub")
    with tempfile.TemporaryDirectory(prefix="nanohub-") as tmp:
        workdir = Path(tmp)
        (workdir / "ca.pem").write_bytes(ca_pem)
        port = free_port()
        argv = [
            str(binary),
            "-ca",
            "ca.pem",
            "-api-key",
            API_KEY,
            "-listen",
            f"127.0.0.1:{port}",
            "-storage",
            "inmem",
            "-debug",
        ]
        with _process(argv, port, workdir) as log:
            yield NanoHub(f"http://127.0.0.1:{port}", log)
