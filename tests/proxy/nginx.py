"""Debian's nginx with `deploy/nginx.conf` (the very file compose mounts) in front of real replicas.

The deployed file is a `conf.d` site: an upstream of `emulator-1:8080` and `emulator-2:8080` and a
server on port 80. `site_config` substitutes exactly those three addresses (each must occur once,
so a renamed upstream fails loudly instead of testing something else) and changes nothing else.
`MAIN` is the `nginx.conf` a package would ship around it, made to run unprivileged under a
temporary prefix, plus what the test plays of the network:

- an access log naming, for each request, the `X-Request-ID` the client sent and the replica(s)
  nginx passed it to (`$upstream_addr`: two on a retry), so a test can see the round robin;
- `X-Test-Peer`, through nginx's realip module, stands for the address a client connects from:
  every test client is on loopback, and a remote one is what the control API's rules are about.

As root (CI), nginx is started as `nobody`, so it never holds privileges here either.
"""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import tempfile
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parents[2]
DEPLOYED = ROOT / "deploy" / "nginx.conf"
NGINX = shutil.which("nginx") or next((p for p in ("/usr/sbin/nginx",) if Path(p).exists()), None)
UPSTREAMS = ("emulator-1:8080", "emulator-2:8080")
LISTEN = "listen 80;"
PEER_HEADER = "X-Test-Peer"

MAIN = """\
worker_processes 1;
pid {prefix}/nginx.pid;
error_log {prefix}/error.log info;
events {{ worker_connections 1024; }}
http {{
    log_format upstreams '$http_x_request_id $upstream_addr $status $request_method $uri';
    access_log {prefix}/access.log upstreams;
    client_body_temp_path {prefix}/client_body;
    proxy_temp_path {prefix}/proxy;
    fastcgi_temp_path {prefix}/fastcgi;
    uwsgi_temp_path {prefix}/uwsgi;
    scgi_temp_path {prefix}/scgi;
    # The network, as the test plays it: a client "connects from" the address in {peer}.
    set_real_ip_from 127.0.0.1;
    real_ip_header {peer};
    include {prefix}/site.conf;
}}
"""


def site_config(text: str, listen_port: int, upstream_urls: Sequence[str]) -> str:
    """`deploy/nginx.conf` with the compose addresses replaced by loopback ones, nothing else."""
    assert len(upstream_urls) == len(UPSTREAMS)
    replacements = {LISTEN: f"listen 127.0.0.1:{listen_port};"}
    for name, url in zip(UPSTREAMS, upstream_urls, strict=True):
        replacements[f"server {name}"] = f"server {httpx.URL(url).host}:{httpx.URL(url).port}"
    for old, new in replacements.items():
        assert text.count(old) == 1, f"deploy/nginx.conf must contain {old!r} exactly once"
        text = text.replace(old, new)
    return text


@dataclass
class Access:
    """One access-log line: the client's request id, the replicas tried (ports), status, method, path."""

    request_id: str
    upstreams: list[int]
    status: int
    method: str
    path: str


@dataclass
class Nginx:
    url: str
    prefix: Path
    process: subprocess.Popen[bytes]
    upstream_ports: list[int]

    def error_log(self) -> str:
        return (self.prefix / "error.log").read_text(errors="replace")

    def access(self) -> list[Access]:
        entries = []
        for line in (self.prefix / "access.log").read_text().splitlines():
            request_id, *rest = line.split(" ")
            *addresses, status, method, path = rest
            ports = [int(a.rstrip(",").rsplit(":", 1)[1]) for a in addresses if ":" in a]
            entries.append(Access(request_id, ports, int(status), method, path))
        return entries

    def served_by(self, request_id: str) -> int:
        """Which replica (index in `upstream_ports`) answered the request the client sent with this id."""
        (entry,) = [a for a in self.access() if a.request_id == request_id]
        return self.upstream_ports.index(entry.upstreams[-1])


def _run_as_nobody() -> dict[str, int]:
    return {"user": 65534, "group": 65534} if os.geteuid() == 0 else {}


@contextmanager
def nginx(listen_port: int, upstream_urls: Sequence[str], conf: Path = DEPLOYED) -> Iterator[Nginx]:
    """nginx in the foreground on 127.0.0.1:`listen_port`, `conf` (the deployed file) as its site."""
    assert NGINX is not None
    prefix = Path(tempfile.mkdtemp(prefix="depemu-nginx-"))
    (prefix / "site.conf").write_text(site_config(conf.read_text(), listen_port, upstream_urls))
    (prefix / "nginx.conf").write_text(MAIN.format(prefix=prefix, peer=PEER_HEADER))
    privileges = _run_as_nobody()
    if privileges:
        for path in [prefix, *prefix.iterdir()]:
            os.chown(path, 65534, 65534)
    argv = [NGINX, "-p", str(prefix), "-c", str(prefix / "nginx.conf"), "-e", str(prefix / "error.log")]
    checked = subprocess.run([*argv, "-t"], capture_output=True, text=True, timeout=30, **privileges)
    assert checked.returncode == 0, f"nginx -t refused the deployed config:\n{checked.stderr}"
    process = subprocess.Popen([*argv, "-g", "daemon off;"], stderr=subprocess.STDOUT, **privileges)
    server = Nginx(
        f"http://127.0.0.1:{listen_port}",
        prefix,
        process,
        [int(httpx.URL(u).port or 80) for u in upstream_urls],
    )
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                if httpx.get(f"{server.url}/readyz", timeout=2).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            assert process.poll() is None, f"nginx exited:\n{server.error_log()}"
            assert time.monotonic() < deadline, f"nginx not answering:\n{server.error_log()}"
            time.sleep(0.1)
        yield server
    finally:
        process.send_signal(signal.SIGQUIT)  # graceful
        try:
            process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=10)
        shutil.rmtree(prefix, ignore_errors=True)
