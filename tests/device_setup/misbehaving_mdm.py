"""A misbehaving MDM (and SCEP server) on a real loopback port, scripted per path (issue 28).

A raw HTTP/1.1 server over asyncio streams, so it can do what no framework lets a handler do:
close the connection before answering or in the middle of a body, never answer, answer garbage.
Each path is answered by a function of the request (`routes`); the default routes enroll a
device cleanly (an unsigned profile with a PKCS#12 identity and `SignMessage`, check-ins
accepted, no commands), so a test breaks exactly the one step it is about.
"""

from __future__ import annotations

import asyncio
import plistlib
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qs, urlsplit

from dep_emulator.testing.server import free_port

from tests.device_setup import pki

ASPEN = "application/x-apple-aspen-config"
PASSWORD = "p12-secret"


@dataclass
class Request:
    method: str
    path: str
    query: dict[str, str]
    headers: dict[str, str]
    body: bytes

    def plist(self) -> dict[str, Any]:
        loaded: dict[str, Any] = plistlib.loads(self.body)
        return loaded


@dataclass
class Reply:
    """An answer. `declared_length` larger than the body: the connection closes mid-body."""

    status: int = 200
    body: bytes = b""
    headers: dict[str, str] = field(default_factory=dict)
    declared_length: int | None = None


HANG = "hang"  # never answer (until the server stops)
DROP = "drop"  # read the request, close the connection without a word
Action = Reply | str
Route = Callable[[Request], Action]

_REASONS = {200: "OK", 301: "Moved Permanently", 302: "Found", 401: "Unauthorized", 403: "Forbidden"}


def plist_reply(document: dict[str, Any], *, content_type: str = "application/xml") -> Reply:
    return Reply(200, plistlib.dumps(document), {"Content-Type": content_type})


def command(request_type: str | None, uuid: str | None = "C-1", **fields: Any) -> dict[str, Any]:
    body = {"RequestType": request_type, **fields} if request_type else dict(fields)
    document: dict[str, Any] = {"Command": body}
    if uuid is not None:
        document["CommandUUID"] = uuid
    return document


@dataclass
class MisbehavingMdm:
    base_url: str
    identity: pki.Issued
    routes: dict[str, Route] = field(default_factory=dict)
    requests: list[Request] = field(default_factory=list)
    commands: list[dict[str, Any]] = field(default_factory=list)

    def profile(self, **mdm: Any) -> bytes:
        """An unsigned enrollment profile: PKCS#12 identity, com.apple.mdm here with SignMessage."""
        return plistlib.dumps(enrollment_profile(self.base_url, self.identity, **mdm))

    def received(self, path: str) -> list[Request]:
        return [r for r in self.requests if r.path == path]

    def default_routes(self) -> dict[str, Route]:
        def enroll(request: Request) -> Action:
            return Reply(200, self.profile(), {"Content-Type": ASPEN})

        def checkin(request: Request) -> Action:
            return Reply(200, b"")

        def mdm(request: Request) -> Action:
            if not self.commands:
                return Reply(200, b"")
            return plist_reply(self.commands.pop(0))

        return {"/enroll": enroll, "/checkin": checkin, "/mdm": mdm}

    async def handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            while True:
                head = await reader.readuntil(b"\r\n\r\n")
                lines = head.decode("latin-1").split("\r\n")
                method, target, _ = lines[0].split(" ", 2)
                headers = {}
                for line in lines[1:]:
                    if ":" in line:
                        name, value = line.split(":", 1)
                        headers[name.strip().lower()] = value.strip()
                body = await reader.readexactly(int(headers.get("content-length") or 0))
                parts = urlsplit(target)
                query = {k: v[0] for k, v in parse_qs(parts.query).items()}
                request = Request(method, parts.path, query, headers, body)
                self.requests.append(request)
                route = self.routes.get(parts.path) or self.default_routes().get(parts.path)
                action = route(request) if route else Reply(404, b"not here")
                if action == HANG:
                    await asyncio.Event().wait()  # cancelled when the server stops
                if action == DROP or not isinstance(action, Reply):
                    return
                length = len(action.body) if action.declared_length is None else action.declared_length
                status_line = f"HTTP/1.1 {action.status} {_REASONS.get(action.status, 'Status')}\r\n"
                head_out = {"Content-Length": str(length), **action.headers}
                writer.write(
                    (status_line + "".join(f"{k}: {v}\r\n" for k, v in head_out.items()) + "\r\n").encode()
                    + action.body
                )
                await writer.drain()
                if length != len(action.body):
                    return  # dropped mid-body
        except (asyncio.IncompleteReadError, ConnectionError):
            return
        finally:
            writer.close()


def enrollment_profile(base_url: str, identity: pki.Issued, **mdm: Any) -> dict[str, Any]:
    return {
        "PayloadType": "Configuration",
        "PayloadIdentifier": "com.example.misbehaving.enroll",
        "PayloadUUID": "44444444-0000-4000-8000-000000000001",
        "PayloadVersion": 1,
        "PayloadContent": [
            {
                "PayloadType": "com.apple.security.pkcs12",
                "PayloadIdentifier": "com.example.misbehaving.identity",
                "PayloadUUID": "44444444-0000-4000-8000-000000000002",
                "PayloadVersion": 1,
                "PayloadContent": identity.pkcs12(PASSWORD),
                "Password": PASSWORD,
            },
            {
                "PayloadType": "com.apple.mdm",
                "PayloadIdentifier": "com.example.misbehaving.mdm",
                "PayloadUUID": "44444444-0000-4000-8000-000000000003",
                "PayloadVersion": 1,
                "ServerURL": base_url + "/mdm",
                "CheckInURL": base_url + "/checkin",
                "Topic": "com.apple.mgmt.External.misbehaving",
                "IdentityCertificateUUID": "44444444-0000-4000-8000-000000000002",
                "SignMessage": True,
                "CheckOutWhenRemoved": True,
            }
            | mdm,
        ],
    }


_IDENTITY: list[pki.Issued] = []


def _identity() -> pki.Issued:
    """One device identity for the whole session (RSA keys are slow to make)."""
    if not _IDENTITY:
        _IDENTITY.append(pki.leaf(pki.ca("Misbehaving MDM client CA"), "device identity", server=False))
    return _IDENTITY[0]


@contextmanager
def misbehaving_mdm() -> Iterator[MisbehavingMdm]:
    port = free_port()
    server = MisbehavingMdm(f"http://127.0.0.1:{port}", _identity())
    loop = asyncio.new_event_loop()
    started = threading.Event()
    stop: list[asyncio.Event] = []
    tasks: set[asyncio.Task[None]] = set()

    async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        task = asyncio.current_task()
        assert task is not None
        tasks.add(task)
        try:
            await server.handle(reader, writer)
        except asyncio.CancelledError:
            pass  # the server stops: a connection left hanging ends here
        finally:
            tasks.discard(task)

    async def main() -> None:
        stop.append(asyncio.Event())
        listening = await asyncio.start_server(handle, "127.0.0.1", port)
        started.set()
        await stop[0].wait()
        listening.close()
        for task in list(tasks):
            task.cancel()
        with suppress(Exception):
            await asyncio.wait_for(listening.wait_closed(), 5)

    thread = threading.Thread(target=loop.run_until_complete, args=(main(),), daemon=True)
    thread.start()
    if not started.wait(20):
        raise RuntimeError("misbehaving MDM did not start")
    try:
        yield server
    finally:
        loop.call_soon_threadsafe(stop[0].set)
        thread.join(timeout=20)
        loop.close()
