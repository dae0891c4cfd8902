"""smallstep's step-ca v0.30.2 on a loopback port with one ACME provisioner for `device-attest-01`
trusting the emulator's attestation root (device-2026.md §6.4): its own root and intermediate
(written here, no `step` CLI), TLS for 127.0.0.1, a bbolt database in a temporary folder."""

from __future__ import annotations

import base64
import json
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from dep_emulator.testing.server import free_port

from tests.device_setup import pki
from tests.device_setup.real_servers import _binary, _process


@dataclass
class StepCa:
    base_url: str
    root: pki.Issued
    intermediate: pki.Issued
    log: Path

    @property
    def directory_url(self) -> str:
        return f"{self.base_url}/acme/attest/directory"


@contextmanager
def step_ca(attestation_root_pem: bytes) -> Iterator[StepCa]:
    binary = _binary("step-ca")
    root = pki.ca("step-ca test root")
    intermediate = pki.intermediate(root, "step-ca test intermediate")
    with tempfile.TemporaryDirectory(prefix="step-ca-") as tmp:
        workdir = Path(tmp)
        root_file, _ = root.write(workdir, "root")
        crt_file, key_file = intermediate.write(workdir, "intermediate")
        port = free_port()
        config = {
            "root": root_file,
            "crt": crt_file,
            "key": key_file,
            "address": f"127.0.0.1:{port}",
            "dnsNames": ["127.0.0.1"],
            "logger": {"format": "text"},
            "db": {"type": "bbolt", "dataSource": str(workdir / "db.bolt")},
            "authority": {
                "provisioners": [
                    {
                        "type": "ACME",
                        "name": "attest",
                        "challenges": ["device-attest-01"],
                        "attestationFormats": ["apple"],
                        "attestationRoots": base64.b64encode(attestation_root_pem).decode(),
                    }
                ]
            },
            "tls": {"minVersion": 1.2, "maxVersion": 1.3, "renegotiation": False},
        }
        (workdir / "ca.json").write_text(json.dumps(config))
        with _process([str(binary), str(workdir / "ca.json")], port, workdir) as log:
            yield StepCa(f"https://127.0.0.1:{port}", root, intermediate, log)
