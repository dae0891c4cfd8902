"""The shared-staging topology (issue 33 §1): nginx with deploy/nginx.conf, two `serve` replicas, one
PostgreSQL. Skipped, saying why, where Debian's nginx is not installed (`.ci/run` installs it)."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass

import pytest
from dep_emulator.testing.replicas import Replica, replicas
from dep_emulator.testing.server import free_port

from tests.device_setup.go_tools import unavailable
from tests.proxy.nginx import NGINX, Nginx, nginx

ADMIN_TOKEN = "staging-admin-token-33"


@dataclass
class Topology:
    proxy: Nginx
    replicas: list[Replica]

    @property
    def url(self) -> str:
        return self.proxy.url


@contextmanager
def topology(database_url: str, *, admin_token: str | None = ADMIN_TOKEN) -> Iterator[Topology]:
    """As compose runs it: every replica told the proxy's address as DEPEMU_PUBLIC_BASE_URL."""
    if NGINX is None:
        unavailable("Debian's nginx is not installed (apt-get install nginx; .ci/run does)")
    port = free_port()
    env = {"DEPEMU_PUBLIC_BASE_URL": f"http://127.0.0.1:{port}", "DEPEMU_LOG_LEVEL": "INFO"}
    if admin_token is not None:
        env["DEPEMU_ADMIN_TOKEN"] = admin_token
    with replicas(database_url, 2, env=env) as started, nginx(port, [r.url for r in started]) as proxy:
        yield Topology(proxy, started)


@pytest.fixture(scope="module")
def staging(database_url: str) -> Iterator[Topology]:
    """One topology for a module's tests that leave it running (an admin token, as compose requires)."""
    with topology(database_url) as started:
        yield started
