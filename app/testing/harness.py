"""Run an emulator for a test session and drive its control API: the plugin's engine.

Usable without pytest too: `with running_emulator() as emulator: ...`.
"""

from __future__ import annotations

import os
import subprocess
import tempfile
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx

from ..core import embedded_pg, migrate
from ..core.config import Settings
from .dep_client import OAuthCredentials
from .server import live_server


class ControlClient:
    """A thin, synchronous client for `/emulator/v1` that raises on any error answer."""

    def __init__(self, base_url: str, admin_token: str | None = None) -> None:
        headers = {"Authorization": f"Bearer {admin_token}"} if admin_token else {}
        self.http = httpx.Client(base_url=f"{base_url}/emulator/v1", headers=headers, timeout=30)

    def request(self, method: str, path: str, **kwargs: Any) -> httpx.Response:
        response = self.http.request(method, path, **kwargs)
        if response.status_code >= 400:
            raise AssertionError(f"{method} {path} → {response.status_code}: {response.text}")
        return response

    def get(self, path: str, **kwargs: Any) -> Any:
        return self.request("GET", path, **kwargs).json()

    def post(self, path: str, json: Any = None, **kwargs: Any) -> Any:
        return self.request("POST", path, json=json, **kwargs).json()

    def put(self, path: str, json: Any = None, **kwargs: Any) -> Any:
        return self.request("PUT", path, json=json, **kwargs).json()

    def delete(self, path: str, **kwargs: Any) -> httpx.Response:
        return self.request("DELETE", path, **kwargs)

    def reset(self) -> None:
        self.post("/reset")

    def advance_clock(self, seconds: float) -> Any:
        return self.post("/clock", {"advance_seconds": seconds})

    def close(self) -> None:
        self.http.close()


@dataclass
class Emulator:
    """A running emulator: where it answers, its database (None when it runs elsewhere), its control API."""

    base_url: str
    database_url: str | None
    control: ControlClient


@dataclass
class MdmServerHandle:
    """An MDM server as its MDM sees it: uuid, key pair on disk, decrypted token credentials."""

    server_uuid: str
    server_name: str
    org_id: str
    credentials: OAuthCredentials
    certificate_path: Path
    key_path: Path
    token_path: Path
    extra: dict[str, Any] = field(default_factory=dict)


@contextmanager
def running_emulator(database_url: str | None = None, **settings: Any) -> Iterator[Emulator]:
    """An emulator on a free loopback port, on `database_url` or a throwaway embedded PostgreSQL."""
    with ExitStack() as stack:
        url = database_url or os.environ.get("DEPEMU_TEST_DATABASE_URL")
        if not url:
            embedded = embedded_pg.start(Path(tempfile.mkdtemp(prefix="depemu-")), cleanup_mode="delete")
            stack.callback(embedded.stop)
            url = embedded.url
        config = Settings(database_url=url, **{"log_level": "WARNING", **settings})
        assert config.async_database_url is not None
        migrate.upgrade(config.async_database_url)
        base_url = stack.enter_context(live_server(config))
        control = ControlClient(
            base_url, config.admin_token.get_secret_value() if config.admin_token else None
        )
        stack.callback(control.close)
        yield Emulator(base_url=base_url, database_url=config.async_database_url, control=control)


@contextmanager
def external_emulator(base_url: str, admin_token: str | None = None) -> Iterator[Emulator]:
    """An emulator that is already running (a compose staging, a `dep-emulator serve`): checked, not started.

    Fails at once with a clear message when nothing answers there, instead of in the first test.
    """
    base_url = base_url.rstrip("/")
    try:
        ready = httpx.get(f"{base_url}/readyz", timeout=10)
    except httpx.HTTPError as exc:
        raise RuntimeError(f"no dep-emulator answers at {base_url}: {exc}") from None
    if ready.status_code != 200:
        raise RuntimeError(f"the dep-emulator at {base_url} is not ready: /readyz → {ready.status_code}")
    control = ControlClient(base_url, admin_token)
    try:
        yield Emulator(base_url=base_url, database_url=None, control=control)
    finally:
        control.close()


def create_mdm_server(
    control: ControlClient, org_id: str, workdir: Path, server_name: str = "Contract Test MDM"
) -> MdmServerHandle:
    """Do what an MDM admin does: make a key pair, register the server, download and decrypt the token."""
    workdir.mkdir(parents=True, exist_ok=True)
    key_path, cert_path, token_path = workdir / "mdm.key", workdir / "mdm.pem", workdir / "server_token.p7m"
    subprocess.run(
        ["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", str(key_path),
         "-out", str(cert_path), "-days", "365", "-subj", f"/CN={server_name}"],
        check=True, capture_output=True,
    )  # fmt: skip
    server = control.post(
        f"/orgs/{org_id}/mdm-servers",
        {"server_name": server_name, "certificate_pem": cert_path.read_text()},
    )
    token = control.request("POST", f"/mdm-servers/{server['server_uuid']}/token").content
    token_path.write_bytes(token)
    decrypted = subprocess.run(
        ["openssl", "smime", "-decrypt", "-in", str(token_path), "-inkey", str(key_path)],
        check=True, capture_output=True, text=True,
    ).stdout  # fmt: skip
    message = decrypted.split("-----BEGIN MESSAGE-----\n", 1)[1].split("\n-----END MESSAGE-----", 1)[0]
    import json

    return MdmServerHandle(
        server_uuid=server["server_uuid"],
        server_name=server_name,
        org_id=org_id,
        credentials=OAuthCredentials.from_json(json.loads(message)),
        certificate_path=cert_path,
        key_path=key_path,
        token_path=token_path,
    )
