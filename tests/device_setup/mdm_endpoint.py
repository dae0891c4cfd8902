"""A tiny MDM enrollment endpoint on a real loopback port, for activation round trips.

It verifies every machine-info signature with the openssl CLI against the emulator's device
CA (as an MDM that trusts Apple's device CA would) and answers with a CMS-signed enrollment
profile, like real MDMs do.
"""

from __future__ import annotations

import asyncio
import base64
import json
import plistlib
import ssl
import subprocess
import tempfile
import threading
import time
from collections.abc import Awaitable, Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import uvicorn
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.serialization import pkcs7
from dep_emulator.testing.server import free_port
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from tests.conftest import make_certificate

ASPEN = "application/x-apple-aspen-config"


@dataclass
class Received:
    method: str
    path: str
    headers: dict[str, str]
    verified: bool
    machine_info: dict[str, Any] | None
    signer_subject: str | None


@dataclass
class MdmEndpoint:
    base_url: str
    ca_pem: bytes = b""
    requests: list[Received] = field(default_factory=list)
    # What the MDM does while it serves an enrollment request (an MDM may call Apple about the
    # device right then); its results, or the exceptions it raised, in `during_results`.
    during_request: Callable[[], Awaitable[Any]] | None = None
    during_results: list[Any] = field(default_factory=list)
    # The enrollment profile /enroll answers with (default: `enrollment_profile`'s), and the
    # PUTs the stub's own check-in and command routes received.
    profile: bytes | None = None
    puts: list[tuple[str, dict[str, Any]]] = field(default_factory=list)
    # Commands /mdm hands out, one per device connection or result, until none is left.
    commands: list[dict[str, Any]] = field(default_factory=list)
    # Seconds /mdm waits before it answers an Idle (to widen the window of overlapping polls),
    # and the most Idle connections it ever had open at once.
    idle_delay: float = 0.0
    open_idles: int = 0
    max_open_idles: int = 0
    # Events NanoMDM posted to /webhook (what it made of each check-in and command result).
    webhooks: list[dict[str, Any]] = field(default_factory=list)

    async def webhooks_until(self, done: Callable[[list[dict[str, Any]]], bool]) -> list[dict[str, Any]]:
        """The webhooks once `done(webhooks)` holds (or as they are after 15 s): NanoMDM calls its
        webhook beside its answer, not before it, so an event may land after the device's exchange
        returned."""
        for _ in range(300):
            if done(list(self.webhooks)):
                break
            await asyncio.sleep(0.05)
        return list(self.webhooks)

    def verify(self, signed: bytes) -> tuple[bool, dict[str, Any] | None, str | None]:
        """openssl cms -verify against the device CA; (verified, plist, signer subject)."""
        with tempfile.TemporaryDirectory() as tmp:
            ca, body, signer = Path(tmp, "ca.pem"), Path(tmp, "body.der"), Path(tmp, "signer.pem")
            ca.write_bytes(self.ca_pem)
            body.write_bytes(signed)
            result = subprocess.run(
                [
                    "openssl",
                    "cms",
                    "-verify",
                    "-inform",
                    "DER",
                    "-in",
                    str(body),
                    "-CAfile",
                    str(ca),
                    "-purpose",
                    "any",
                    "-signer",
                    str(signer),
                ],
                capture_output=True,
            )
            if result.returncode != 0:
                return False, None, None
            subject = subprocess.run(
                ["openssl", "x509", "-in", str(signer), "-noout", "-subject"], capture_output=True, text=True
            ).stdout.strip()
            return True, plistlib.loads(result.stdout), subject


def sign_profile(document: dict[str, Any]) -> bytes:
    """The profile CMS-signed by the MDM's own key, as real MDMs send it."""
    cert_pem, key_pem = make_certificate("MDM profile signing")
    from cryptography import x509

    cert = x509.load_pem_x509_certificate(cert_pem)
    key = serialization.load_pem_private_key(key_pem, password=None)
    return (
        pkcs7.PKCS7SignatureBuilder()
        .set_data(plistlib.dumps(document))
        .add_signer(cert, key, hashes.SHA256())  # type: ignore[arg-type]
        .sign(serialization.Encoding.DER, [pkcs7.PKCS7Options.Binary])
    )


def scep_enrollment_profile(
    *,
    scep_url: str,
    challenge: str,
    server_url: str,
    check_in_url: str | None = None,
    sign_message: bool = True,
    extra_payloads: list[dict[str, Any]] | None = None,
    mdm_payload: bool = True,
    topic: str = "com.apple.mgmt.External.7d6c4f2e-0000-4000-8000-00000000abcd",
) -> dict[str, Any]:
    """An enrollment profile as an MDM builds it: SCEP identity, com.apple.mdm payload."""
    scep = {
        "PayloadType": "com.apple.security.scep",
        "PayloadIdentifier": "com.example.mdm.scep",
        "PayloadUUID": "9F1B2C3D-0000-4000-8000-0000000000A2",
        "PayloadVersion": 1,
        "PayloadContent": {
            "URL": scep_url,
            "Name": "MDM CA",
            "Challenge": challenge,
            "Subject": [[["O", "Example MDM"]], [["CN", "MDM Identity"]]],
            "Keysize": 2048,
            "Key Type": "RSA",
            "Key Usage": 5,
        },
    }
    mdm = {
        "PayloadType": "com.apple.mdm",
        "PayloadIdentifier": "com.example.mdm.mdm",
        "PayloadUUID": "9F1B2C3D-0000-4000-8000-0000000000A3",
        "PayloadVersion": 1,
        "ServerURL": server_url,
        "CheckInURL": check_in_url or server_url,
        "Topic": topic,
        "IdentityCertificateUUID": scep["PayloadUUID"],
        "SignMessage": sign_message,
        "CheckOutWhenRemoved": True,
        "AccessRights": 8191,
        "ServerCapabilities": ["com.apple.mdm.per-user-connections"],
    }
    return {
        "PayloadType": "Configuration",
        "PayloadIdentifier": "com.example.mdm.enroll",
        "PayloadUUID": "9F1B2C3D-0000-4000-8000-0000000000A1",
        "PayloadDisplayName": "Example MDM enrollment",
        "PayloadVersion": 1,
        "PayloadContent": [scep, *([mdm] if mdm_payload else []), *(extra_payloads or [])],
    }


def enrollment_profile(server_url: str) -> bytes:
    """An MDM enrollment profile (com.apple.mdm + an identity), CMS-signed by the MDM's own key."""
    document = {
        "PayloadType": "Configuration",
        "PayloadIdentifier": "com.example.mdm.enroll",
        "PayloadUUID": "9F1B2C3D-0000-4000-8000-000000000001",
        "PayloadVersion": 1,
        "PayloadContent": [
            {
                "PayloadType": "com.apple.security.scep",
                "PayloadIdentifier": "com.example.mdm.scep",
                "PayloadUUID": "9F1B2C3D-0000-4000-8000-000000000002",
                "PayloadVersion": 1,
            },
            {
                "PayloadType": "com.apple.mdm",
                "PayloadIdentifier": "com.example.mdm.mdm",
                "PayloadUUID": "9F1B2C3D-0000-4000-8000-000000000003",
                "PayloadVersion": 1,
                "ServerURL": server_url,
                "CheckInURL": server_url + "/checkin",
                "Topic": "com.apple.mgmt.External.x",
                "IdentityCertificateUUID": "9F1B2C3D-0000-4000-8000-000000000002",
            },
        ],
    }
    return sign_profile(document)


def build_app(endpoint: MdmEndpoint) -> Starlette:
    default_profile = enrollment_profile("https://mdm.example.org/mdm")

    async def record(request: Request, signed: bytes) -> Received:
        verified, info, subject = endpoint.verify(signed)
        received = Received(request.method, request.url.path, dict(request.headers), verified, info, subject)
        endpoint.requests.append(received)
        return received

    async def enroll(request: Request) -> Response:
        received = await record(request, await request.body())
        if endpoint.during_request is not None:
            try:
                endpoint.during_results.append(await endpoint.during_request())
            except Exception as exc:  # reported to the test, which asserts on it
                endpoint.during_results.append(exc)
        if not received.verified:
            return Response("signature not trusted", status_code=403, media_type="text/plain")
        return Response(endpoint.profile or default_profile, media_type=ASPEN)

    async def web(request: Request) -> Response:
        received = await record(
            request, base64.b64decode(request.headers.get("x-apple-aspen-deviceinfo", ""))
        )
        return Response(f"<html>sign in, {received.verified}</html>", media_type="text/html")

    async def unauthorized(request: Request) -> Response:
        endpoint.puts.append((request.url.path, plistlib.loads(await request.body())))
        return Response(b"", status_code=401)

    async def garbage(request: Request) -> Response:
        """Check-ins accepted; the command answer is not a property list."""
        message = plistlib.loads(await request.body())
        endpoint.puts.append((request.url.path, message))
        if "MessageType" in message:
            return Response(b"", status_code=200)
        return Response(b"\x00 this is not a plist {", media_type="application/xml")

    async def scripted_mdm(request: Request) -> Response:
        """A scripted MDM: check-ins accepted; each connection or result answered with the next command."""
        message = plistlib.loads(await request.body())
        endpoint.puts.append((request.url.path, message))
        if "MessageType" in message:
            return Response(b"", status_code=200)
        if message.get("Status") == "Idle" and endpoint.idle_delay:
            endpoint.open_idles += 1
            endpoint.max_open_idles = max(endpoint.max_open_idles, endpoint.open_idles)
            await asyncio.sleep(endpoint.idle_delay)
            endpoint.open_idles -= 1
        if not endpoint.commands:
            return Response(b"", status_code=200)
        return Response(plistlib.dumps(endpoint.commands.pop(0)), media_type="application/xml")

    async def webhook(request: Request) -> Response:
        endpoint.webhooks.append(json.loads(await request.body()))
        return Response(b"", status_code=200)

    async def broken(request: Request) -> Response:
        await request.body()
        return Response("oops", status_code=500, media_type="text/plain")

    return Starlette(
        routes=[
            Route("/enroll", enroll, methods=["POST"]),
            Route("/web", web, methods=["GET"]),
            Route("/broken", broken, methods=["POST"]),
            Route("/unauthorized", unauthorized, methods=["PUT"]),
            Route("/garbage", garbage, methods=["PUT"]),
            Route("/webhook", webhook, methods=["POST"]),
            Route("/mdm", scripted_mdm, methods=["PUT"]),
        ]
    )


@dataclass(frozen=True)
class Tls:
    """Serve HTTPS with this certificate and key, requiring a client certificate from client_ca."""

    cert_file: str
    key_file: str
    client_ca_file: str


@contextmanager
def mdm_endpoint(tls: Tls | None = None) -> Iterator[MdmEndpoint]:
    port = free_port()
    endpoint = MdmEndpoint(base_url=f"{'https' if tls else 'http'}://127.0.0.1:{port}")
    options: dict[str, Any] = {}
    if tls is not None:
        options = {
            "ssl_certfile": tls.cert_file,
            "ssl_keyfile": tls.key_file,
            "ssl_ca_certs": tls.client_ca_file,
            "ssl_cert_reqs": ssl.CERT_REQUIRED,
        }
    server = uvicorn.Server(
        uvicorn.Config(
            build_app(endpoint), host="127.0.0.1", port=port, log_level="warning", lifespan="off", **options
        )
    )
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 20
    while not server.started:
        if time.monotonic() > deadline or not thread.is_alive():
            raise RuntimeError("MDM endpoint did not start")
        time.sleep(0.02)
    try:
        yield endpoint
    finally:
        server.should_exit = True
        thread.join(timeout=20)
