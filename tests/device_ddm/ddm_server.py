"""A small DDM server on a real loopback port: an MDM whose check-in channel answers the
declarative-management endpoints (tokens, declaration-items, declaration/..., status) from a
dict of declarations, and which hands out queued commands on /mdm. Also serves files (assets,
legacy profiles) and can be told to answer an endpoint with any HTTP status.
"""

from __future__ import annotations

import hashlib
import json
import plistlib
import threading
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

import httpx
import uvicorn
from dep_emulator.testing.server import free_port
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from tests.dep_helpers import assign, define
from tests.device_setup import pki
from tests.device_setup.mdm_endpoint import mdm_endpoint

ARRAYS = {
    "activation": "Activations",
    "configuration": "Configurations",
    "asset": "Assets",
    "management": "Management",
}


@dataclass
class DdmServer:
    base_url: str
    declarations: dict[str, dict[str, Any]] = field(default_factory=dict)
    commands: list[dict[str, Any]] = field(default_factory=list)
    checkins: list[dict[str, Any]] = field(default_factory=list)  # DeclarativeManagement check-ins
    results: dict[str, dict[str, Any]] = field(default_factory=dict)  # command results by CommandUUID
    reports: list[dict[str, Any]] = field(default_factory=list)  # status reports (JSON)
    forced: dict[str, int] = field(default_factory=dict)  # Endpoint -> HTTP status to answer with
    files: dict[str, tuple[bytes, str]] = field(default_factory=dict)  # /files/{name}: (body, type)

    def put(self, declaration_type: str, identifier: str, payload: dict[str, Any]) -> str:
        """Add or change a declaration; its new ServerToken."""
        body = {"Type": declaration_type, "Identifier": identifier, "Payload": payload}
        token = hashlib.sha256(json.dumps(body, sort_keys=True).encode()).hexdigest()[:16]
        self.declarations[identifier] = body | {"ServerToken": token}
        return token

    @property
    def token(self) -> str:
        tokens = sorted(f"{i}:{d['ServerToken']}" for i, d in self.declarations.items())
        return hashlib.sha256("|".join(tokens).encode()).hexdigest()

    def sync(self, *, with_tokens: bool = True, data: bytes | None = None) -> str:
        """Queue DeclarativeManagement (with the tokens in Data, as KMFDDM sends them); its UUID."""
        command_uuid = str(uuid.uuid4()).upper()
        body: dict[str, Any] = {"RequestType": "DeclarativeManagement"}
        if data is not None:
            body["Data"] = data
        elif with_tokens:
            body["Data"] = json.dumps(
                {"SyncTokens": {"DeclarationsToken": self.token, "Timestamp": "2026-08-20T10:00:00Z"}}
            ).encode()
        self.commands.append({"CommandUUID": command_uuid, "Command": body})
        return command_uuid

    def file_url(self, name: str) -> str:
        return f"{self.base_url}/files/{name}"

    def endpoints(self) -> list[str]:
        return [m["Endpoint"] for m in self.checkins]

    def _answer(self, endpoint: str, data: bytes | None) -> Response:
        if endpoint in self.forced:
            return Response(b"forced", status_code=self.forced[endpoint])
        if endpoint == "tokens":
            return _json(
                {"SyncTokens": {"DeclarationsToken": self.token, "Timestamp": "2026-08-20T10:00:00Z"}}
            )
        if endpoint == "declaration-items":
            arrays: dict[str, list[dict[str, str]]] = {a: [] for a in ARRAYS.values()}
            for identifier, d in sorted(self.declarations.items()):
                arrays[ARRAYS[d["Type"].split(".")[2]]].append(
                    {"Identifier": identifier, "ServerToken": d["ServerToken"]}
                )
            return _json({"Declarations": arrays, "DeclarationsToken": self.token})
        if endpoint == "status":
            self.reports.append(json.loads(data or b"{}"))
            return Response(b"", status_code=200)
        if endpoint.startswith("declaration/"):
            _, kind, identifier = endpoint.split("/", 2)
            found = self.declarations.get(identifier)
            if found is None or found["Type"].split(".")[2] != kind:
                return Response(b"not found", status_code=404)
            return _json(found)
        return Response(b"unknown endpoint", status_code=400)


def _json(document: dict[str, Any]) -> Response:
    return Response(json.dumps(document).encode())  # no Content-Type, as NanoMDM answers


def build_app(server: DdmServer) -> Starlette:
    async def mdm(request: Request) -> Response:
        message = plistlib.loads(await request.body())
        if message.get("MessageType") == "DeclarativeManagement":
            server.checkins.append(message)
            return server._answer(message["Endpoint"], message.get("Data"))
        if "MessageType" in message:
            return Response(b"")
        if "CommandUUID" in message:
            server.results[message["CommandUUID"]] = message
        if not server.commands:
            return Response(b"")
        return Response(plistlib.dumps(server.commands.pop(0)), media_type="application/xml")

    async def files(request: Request) -> Response:
        found = server.files.get(request.path_params["name"])
        if found is None:
            return Response(b"no such file", status_code=404)
        return Response(found[0], headers={"Content-Type": found[1]})

    return Starlette(routes=[Route("/mdm", mdm, methods=["PUT"]), Route("/files/{name}", files)])


@contextmanager
def serve(app: Starlette, port: int, **tls: Any) -> Iterator[None]:
    """`app` on a loopback port (uvicorn's ssl_* options in `tls` for HTTPS)."""
    server = uvicorn.Server(
        uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning", lifespan="off", **tls)
    )
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 20
    while not server.started:
        if time.monotonic() > deadline or not thread.is_alive():
            raise RuntimeError("server did not start")
        time.sleep(0.02)
    try:
        yield
    finally:
        server.should_exit = True
        thread.join(timeout=20)


@contextmanager
def ddm_server() -> Iterator[DdmServer]:
    port = free_port()
    server = DdmServer(base_url=f"http://127.0.0.1:{port}")
    with serve(build_app(server), port):
        yield server


def pkcs12_profile(
    identity: pki.Issued,
    *,
    server_url: str,
    password: str = "secret",
    anchor: bytes | None = None,
    kdf_rounds: int | None = None,
) -> bytes:
    """An enrollment profile: a PKCS#12 identity, SignMessage (the identity in Mdm-Signature),
    and `anchor` (DER) as a root payload when given."""
    root = {
        "PayloadType": "com.apple.security.root",
        "PayloadIdentifier": "com.example.root",
        "PayloadUUID": "32323232-0000-4000-8000-000000000004",
        "PayloadVersion": 1,
        "PayloadContent": anchor,
    }
    return plistlib.dumps(
        {
            "PayloadType": "Configuration",
            "PayloadIdentifier": "com.example.enroll",
            "PayloadUUID": "32323232-0000-4000-8000-000000000001",
            "PayloadVersion": 1,
            "PayloadContent": [
                {
                    "PayloadType": "com.apple.security.pkcs12",
                    "PayloadIdentifier": "com.example.identity",
                    "PayloadUUID": "32323232-0000-4000-8000-000000000002",
                    "PayloadVersion": 1,
                    "PayloadContent": identity.pkcs12(password, kdf_rounds=kdf_rounds),
                    "Password": password,
                },
                {
                    "PayloadType": "com.apple.mdm",
                    "PayloadIdentifier": "com.example.mdm",
                    "PayloadUUID": "32323232-0000-4000-8000-000000000003",
                    "PayloadVersion": 1,
                    "ServerURL": server_url,
                    "Topic": "com.apple.mgmt.External.ddm-test",
                    "IdentityCertificateUUID": "32323232-0000-4000-8000-000000000002",
                    "SignMessage": True,
                },
                *([root] if anchor else []),
            ],
        }
    )


async def enroll(
    client: httpx.AsyncClient,
    mdm: httpx.AsyncClient,
    serial: str,
    *,
    profile: bytes,
    await_configured: bool = False,
) -> dict[str, Any]:
    """Activate the device with a DEP profile whose URL serves `profile`, then enroll it."""
    with mdm_endpoint() as endpoint:
        endpoint.ca_pem = (await client.get("/emulator/v1/device-ca")).content
        endpoint.profile = profile
        fields: dict[str, Any] = {"await_device_configured": True} if await_configured else {}
        uuid_ = (await define(mdm, url=endpoint.base_url + "/enroll", **fields))["profile_uuid"]
        await assign(mdm, uuid_, [serial])
        response = await client.post(f"/emulator/v1/devices/{serial}/activate", json={"enroll": True})
        assert response.status_code == 200, response.text
    enrolled: dict[str, Any] = response.json()["enrollment"]
    assert enrolled["outcome"] == "enrolled", enrolled
    return enrolled


SIMPLE = "com.apple.activation.simple"
TEST = "com.apple.configuration.management.test"
SUBSCRIPTIONS = "com.apple.configuration.management.status-subscriptions"


async def poll(client: httpx.AsyncClient, serial: str) -> dict[str, Any]:
    response = await client.post(f"/emulator/v1/devices/{serial}/mdm/poll")
    assert response.status_code == 200, response.text
    polled: dict[str, Any] = response.json()
    return polled


async def state(client: httpx.AsyncClient, serial: str) -> dict[str, Any]:
    """The device's DDM state through the control API."""
    response = await client.get(f"/emulator/v1/devices/{serial}/mdm/ddm")
    assert response.status_code == 200, response.text
    data: dict[str, Any] = response.json()
    return data


def by_id(ddm_state: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {d["identifier"]: d for d in ddm_state["declarations"]}


def reported(report: dict[str, Any], kind: str) -> dict[str, dict[str, Any]]:
    entries = report["StatusItems"]["management"]["declarations"][kind]
    return {e["identifier"]: e for e in entries}
