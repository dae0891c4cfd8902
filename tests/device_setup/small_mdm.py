"""A small test MDM on a real loopback port: an enrollment endpoint that can require a minimum OS
(403 com.apple.softwareupdate.required), Platform SSO (403 com.apple.psso.required) or a web-view
sign-in (configuration_web_url), and a check-in/command endpoint with Mdm-Signature.

It verifies every MachineInfo signature with the openssl CLI against the emulator's device CA
(`MdmEndpoint.verify`) and hands out an unsigned enrollment profile with a PKCS#12 identity, so
no SCEP server is needed.
"""

from __future__ import annotations

import base64
import json
import plistlib
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qs

import uvicorn
from dep_emulator.testing.server import free_port
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import HTMLResponse, RedirectResponse, Response
from starlette.routing import Route

from tests.device_setup import pki
from tests.device_setup.mdm_endpoint import ASPEN, MdmEndpoint

PASSWORD = "p12-secret"
SOFTWARE_UPDATE = "com.apple.softwareupdate.required"


def version_key(version: str) -> tuple[int, ...]:
    return tuple(int(p) for p in version.split("."))


@dataclass
class Seen:
    method: str
    path: str
    headers: dict[str, str]
    verified: bool
    info: dict[str, Any] | None


@dataclass
class SmallMdm(MdmEndpoint):
    """What the MDM requires, and what it saw."""

    required: str | None = None  # minimum OS_VERSION; older devices get the software-update 403
    required_build: str | None = None
    refusal: tuple[str, bytes] | None = None  # (content type, body) of every 403 instead of the default
    psso_token: str | None = None  # require Platform SSO; the Bearer token that satisfies it
    seen: list[Seen] = field(default_factory=list)
    identity: pki.Issued | None = None
    # The web view (configuration_web_url): users and the cookie set after sign-in.
    users: dict[str, str] = field(default_factory=lambda: {"alice": "wonderland"})
    web_puts: list[dict[str, Any]] = field(default_factory=list)
    profile_base: str | None = None  # where sign-in sends the device for its profile (another host)
    # A minimum OS checked only once the user signed in (the OS the web view's first load reported),
    # or any 403 (content type, body) the sign-in answers instead.
    sign_in_required: str | None = None
    sign_in_refusal: tuple[str, bytes] | None = None
    web_os: dict[str, str] = field(default_factory=dict)  # serial -> OS_VERSION of its last first load

    def profile_bytes(self) -> bytes:
        assert self.identity is not None
        document = {
            "PayloadType": "Configuration",
            "PayloadIdentifier": "com.example.testmdm.enroll",
            "PayloadUUID": "33333333-0000-4000-8000-000000000001",
            "PayloadVersion": 1,
            "PayloadContent": [
                {
                    "PayloadType": "com.apple.security.pkcs12",
                    "PayloadIdentifier": "com.example.testmdm.identity",
                    "PayloadUUID": "33333333-0000-4000-8000-000000000002",
                    "PayloadVersion": 1,
                    "PayloadContent": self.identity.pkcs12(PASSWORD),
                    "Password": PASSWORD,
                },
                {
                    "PayloadType": "com.apple.mdm",
                    "PayloadIdentifier": "com.example.testmdm.mdm",
                    "PayloadUUID": "33333333-0000-4000-8000-000000000003",
                    "PayloadVersion": 1,
                    "ServerURL": self.base_url + "/mdm",
                    "Topic": "com.apple.mgmt.External.testmdm",
                    "IdentityCertificateUUID": "33333333-0000-4000-8000-000000000002",
                    "SignMessage": True,
                },
            ],
        }
        return plistlib.dumps(document)


def _refuse(mdm: SmallMdm, info: dict[str, Any]) -> Response | None:
    if mdm.refusal is not None:
        return Response(mdm.refusal[1], status_code=403, media_type=mdm.refusal[0])
    if mdm.required and version_key(str(info.get("OS_VERSION", "0"))) < version_key(mdm.required):
        details = {"OSVersion": mdm.required}
        if mdm.required_build:
            details["BuildVersion"] = mdm.required_build
        body = {
            "code": SOFTWARE_UPDATE,
            "message": f"Update to {mdm.required} to enroll.",
            "details": details,
        }
        return Response(json.dumps(body), status_code=403, media_type="application/json")
    return None


def build_app(mdm: SmallMdm) -> Starlette:
    async def seen(request: Request, signed: bytes) -> Seen:
        verified, info, _ = mdm.verify(signed)
        entry = Seen(request.method, request.url.path, dict(request.headers), verified, info)
        mdm.seen.append(entry)
        return entry

    async def enroll(request: Request) -> Response:
        entry = await seen(request, await request.body())
        if not entry.verified or entry.info is None:
            return Response("signature not trusted", status_code=400)
        refused = _refuse(mdm, entry.info)
        if refused is not None:
            return refused
        if mdm.psso_token is not None and request.headers.get("authorization") != f"Bearer {mdm.psso_token}":
            details = {
                "ProfileURL": mdm.base_url + "/psso/profile",
                "Package": {"ManifestURL": mdm.base_url + "/psso/manifest"},
                "AuthURL": mdm.base_url + "/psso/auth",
            }
            body = {"code": "com.apple.psso.required", "details": details}
            return Response(json.dumps(body), status_code=403, media_type="application/json")
        return Response(mdm.profile_bytes(), media_type=ASPEN)

    async def web_start(request: Request) -> Response:
        """The web view's first load: MachineInfo in x-apple-aspen-deviceinfo; a sign-in form."""
        header = request.headers.get("x-apple-aspen-deviceinfo", "")
        entry = await seen(request, base64.b64decode(header) if header else b"")
        if not entry.verified or entry.info is None:
            return Response("no device information", status_code=400)
        refused = _refuse(mdm, entry.info)
        if refused is not None:
            return refused
        serial = entry.info["SERIAL"]
        mdm.web_os[serial] = str(entry.info.get("OS_VERSION", "0"))
        response = HTMLResponse(
            "<html><head><title>Example MDM sign-in</title></head><body><h1>Sign in to enroll</h1>"
            f'<form method="post" action="/web/login"><input type="hidden" name="serial" value="{serial}">'
            '<label for="u">User name</label><input id="u" name="username">'
            '<label for="p">Password</label><input id="p" type="password" name="password">'
            '<button type="submit">Sign in</button></form>'
            '<p><a href="/web/help">Need help?</a></p></body></html>'
        )
        response.set_cookie("mdm_session", f"pending-{serial}")
        return response

    async def web_login(request: Request) -> Response:
        form = {k: v[0] for k, v in parse_qs((await request.body()).decode()).items()}
        mdm.web_puts.append({"form": form, "cookie": request.cookies.get("mdm_session")})
        if request.cookies.get("mdm_session") != f"pending-{form.get('serial')}":
            return HTMLResponse("<html><body><p>Session lost.</p></body></html>", status_code=400)
        if mdm.users.get(form.get("username", "")) != form.get("password"):
            return HTMLResponse(
                '<html><body><p role="alert">Wrong user name or password.</p>'
                '<form method="post" action="/web/login">'
                f'<input type="hidden" name="serial" value="{form.get("serial")}">'
                '<input name="username"><input type="password" name="password">'
                "<button>Sign in</button></form></body></html>"
            )
        if mdm.sign_in_refusal is not None:
            return Response(mdm.sign_in_refusal[1], status_code=403, media_type=mdm.sign_in_refusal[0])
        seen_os = mdm.web_os.get(form.get("serial", ""), "0")
        if mdm.sign_in_required and version_key(seen_os) < version_key(mdm.sign_in_required):
            body = {
                "code": SOFTWARE_UPDATE,
                "message": f"{form['username']}, update to {mdm.sign_in_required} to enroll.",
                "details": {"OSVersion": mdm.sign_in_required},
            }
            return Response(json.dumps(body), status_code=403, media_type="application/json")
        # To another host (profile_base) the cookie does not follow: a ticket in the URL does.
        ticket = f"?ticket=signed-in-{form['username']}" if mdm.profile_base else ""
        response = RedirectResponse((mdm.profile_base or "") + "/web/profile" + ticket, status_code=302)
        response.set_cookie("mdm_session", f"signed-in-{form['username']}")
        return response

    async def web_profile(request: Request) -> Response:
        proof = request.cookies.get("mdm_session") or request.query_params.get("ticket") or ""
        if not proof.startswith("signed-in-"):
            return Response("not signed in", status_code=404)
        return Response(mdm.profile_bytes(), media_type=ASPEN)

    async def web_help(request: Request) -> Response:
        return HTMLResponse(
            "<html><body><p>Call the help desk.</p><a href='/web/missing'>Give up</a></body></html>"
        )

    async def checkin(request: Request) -> Response:
        message = plistlib.loads(await request.body())
        mdm.puts.append((request.url.path, message))
        if "MessageType" in message or not mdm.commands:
            return Response(b"", status_code=200)
        return Response(plistlib.dumps(mdm.commands.pop(0)), media_type="application/xml")

    return Starlette(
        routes=[
            Route("/enroll", enroll, methods=["POST"]),
            Route("/web", web_start, methods=["GET"]),
            Route("/web/login", web_login, methods=["POST"]),
            Route("/web/profile", web_profile, methods=["GET"]),
            Route("/web/help", web_help, methods=["GET"]),
            Route("/mdm", checkin, methods=["PUT"]),
        ]
    )


@contextmanager
def small_mdm() -> Iterator[SmallMdm]:
    port = free_port()
    mdm = SmallMdm(base_url=f"http://127.0.0.1:{port}")
    mdm.identity = pki.leaf(pki.ca("Test MDM client CA"), "device identity", server=False)
    server = uvicorn.Server(
        uvicorn.Config(build_app(mdm), host="127.0.0.1", port=port, log_level="warning", lifespan="off")
    )
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 20
    while not server.started:
        if time.monotonic() > deadline or not thread.is_alive():
            raise RuntimeError("the small MDM did not start")
        time.sleep(0.02)
    try:
        yield mdm
    finally:
        server.should_exit = True
        thread.join(timeout=20)
