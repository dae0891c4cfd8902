"""A DDM sync of 20 declarations per virtual device, against the cost of its HTTP exchanges alone:
`python bench/ddm.py [--devices 20]`.

Starts an embedded PostgreSQL and the emulator (dep_emulator.testing.harness), a small DDM server
on loopback (enrollment profile with a PKCS#12 identity, check-ins, one command queue per device,
19 configurations and one activation), enrolls `--devices` devices through the control API, then
for each device queues `DeclarativeManagement` (no token: the device fetches `tokens`) and times
`POST .../mdm/poll`: Idle, the command's result, tokens, declaration-items, 20 declarations, status
(25 PUTs, each CMS-signed by the device, plus storing the outcome). The floor replays the very same
request bodies with a bare httpx client, without signing, parsing or storage. Prints per-device
milliseconds for both and their ratio (device / floor), from one run on this machine.

`--nanohub` runs the devices against NanoHub v0.2.0 instead (tests/device_ddm/nanohub.py, built by
tests/device_setup/go_tools.py): the same 20 declarations in one set, each device added to it
(NanoHub queues its DeclarativeManagement), then every device polled; it counts devices whose sync
did not end in an accepted status report, and NanoHub's stored status per device. No floor there
(NanoHub wants each body signed).
"""

from __future__ import annotations

import sys

# bench/http.py would shadow the standard library's `http` package (httpx imports http.client).
sys.path.pop(0)

import argparse
import asyncio
import hashlib
import json
import plistlib
import statistics
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

import httpx
import uvicorn
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from dep_emulator.testing.dep_client import dep_client
from dep_emulator.testing.harness import create_mdm_server, running_emulator
from dep_emulator.testing.server import free_port

from tests.device_ddm.ddm_server import pkcs12_profile
from tests.device_setup import pki

DECLARATIONS = 20


class Server:
    """Check-ins and commands per device (by UDID), the same declarations for every device."""

    def __init__(self) -> None:
        self.queues: dict[str, list[bytes]] = {}
        self.profile = b""
        self.per_device: tuple[pki.Issued, str] | None = None  # (CA, ServerURL): one identity per device
        self.recorded: dict[str, list[bytes]] = {}  # UDID -> bodies the device PUT, in order
        self.declarations: dict[str, bytes] = {}
        items: dict[str, list[dict[str, str]]] = {
            "Activations": [],
            "Configurations": [],
            "Assets": [],
            "Management": [],
        }
        names = [f"cfg-{n:02d}" for n in range(DECLARATIONS - 1)]
        for identifier, kind, body in [
            *(
                (
                    n,
                    "configuration",
                    {"Type": "com.apple.configuration.management.test", "Payload": {"Echo": n}},
                )
                for n in names
            ),
            (
                "act",
                "activation",
                {"Type": "com.apple.activation.simple", "Payload": {"StandardConfigurations": names}},
            ),
        ]:
            token = hashlib.sha256(identifier.encode()).hexdigest()[:16]
            self.declarations[f"declaration/{kind}/{identifier}"] = json.dumps(
                body | {"Identifier": identifier, "ServerToken": token}
            ).encode()
            items["Activations" if kind == "activation" else "Configurations"].append(
                {"Identifier": identifier, "ServerToken": token}
            )
        self.token = hashlib.sha256(json.dumps(items).encode()).hexdigest()
        self.items = json.dumps({"Declarations": items, "DeclarationsToken": self.token}).encode()

    def app(self) -> Starlette:
        async def enroll(request: Request) -> Response:
            await request.body()
            profile = self.profile
            if self.per_device is not None:  # NanoMDM ties each identity to one enrollment
                ca, server_url = self.per_device
                identity = pki.leaf(ca, "bench device", server=False)
                profile = pkcs12_profile(identity, server_url=server_url)
            return Response(profile, media_type="application/x-apple-aspen-config")

        async def mdm(request: Request) -> Response:
            body = await request.body()
            message = plistlib.loads(body)
            udid = message.get("UDID", "")
            self.recorded.setdefault(udid, []).append(body)
            endpoint = message.get("Endpoint")
            if message.get("MessageType") == "DeclarativeManagement":
                if endpoint == "tokens":
                    return Response(
                        json.dumps(
                            {
                                "SyncTokens": {
                                    "DeclarationsToken": self.token,
                                    "Timestamp": "2026-08-20T10:00:00Z",
                                }
                            }
                        ).encode()
                    )
                if endpoint == "declaration-items":
                    return Response(self.items)
                return Response(self.declarations.get(endpoint, b""))
            if "MessageType" in message:
                return Response(b"")
            queue = self.queues.get(udid) or []
            return Response(queue.pop(0) if queue else b"", media_type="application/xml")

        return Starlette(
            routes=[Route("/enroll", enroll, methods=["POST"]), Route("/mdm", mdm, methods=["PUT"])]
        )


def serve(app: Starlette, port: int) -> uvicorn.Server:
    server = uvicorn.Server(
        uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning", lifespan="off")
    )
    threading.Thread(target=server.run, daemon=True).start()
    while not server.started:
        time.sleep(0.02)
    return server


async def floor(url: str, bodies: list[bytes]) -> float:
    """The same PUTs, the same bodies, one connection, nothing else."""
    started = time.perf_counter()
    async with httpx.AsyncClient() as client:
        for body in bodies:
            content_type = (
                "application/x-apple-aspen-mdm-checkin"
                if b"MessageType" in body
                else "application/x-apple-aspen-mdm"
            )
            response = await client.put(url, content=body, headers={"Content-Type": content_type})
            response.raise_for_status()
    return time.perf_counter() - started


async def run(emulator: Any, devices: int) -> None:
    ddm = Server()
    port = free_port()
    server = serve(ddm.app(), port)
    base = f"http://127.0.0.1:{port}"
    ddm.profile = pkcs12_profile(
        pki.leaf(pki.ca("bench CA"), "bench device", server=False), server_url=base + "/mdm"
    )
    with tempfile.TemporaryDirectory() as tmp:
        control = emulator.control
        serials = await enrolled(emulator, base, devices, Path(tmp))
        udids = {serial: control.get(f"/devices/{serial}/mdm")["udid"] for serial in serials}
        device_times, floor_times = [], []
        async with httpx.AsyncClient(base_url=emulator.base_url + "/emulator/v1", timeout=120) as client:
            for serial in serials:
                udid = udids[serial]
                command = {"CommandUUID": f"DM-{serial}", "Command": {"RequestType": "DeclarativeManagement"}}
                ddm.queues[udid] = [plistlib.dumps(command)]
                ddm.recorded[udid] = []
                started = time.perf_counter()
                polled = (await client.post(f"/devices/{serial}/mdm/poll")).json()
                device_times.append(time.perf_counter() - started)
                assert polled["outcome"] == "idle" and polled["steps"][-1]["step"] == "ddm.status", polled
                bodies = list(ddm.recorded[udid])
                assert len(bodies) == 25, len(bodies)
                ddm.queues[udid] = [plistlib.dumps(command)]
                floor_times.append(await floor(base + "/mdm", bodies))
                state = control.get(f"/devices/{serial}/mdm/ddm")
                assert sum(d["active"] for d in state["declarations"]) == DECLARATIONS, state
    server.should_exit = True
    device_ms, floor_ms = statistics.median(device_times) * 1000, statistics.median(floor_times) * 1000
    print(f"devices: {devices}, declarations per device: {DECLARATIONS}, PUTs per sync: 25")  # noqa: T201
    print(f"device sync (POST .../mdm/poll), median: {device_ms:.1f} ms")  # noqa: T201
    print(f"the same HTTP exchanges alone, median:   {floor_ms:.1f} ms")  # noqa: T201
    print(f"ratio device / exchanges: {device_ms / floor_ms:.1f}")  # noqa: T201


async def run_nanohub(emulator: Any, devices: int) -> None:
    from cryptography.hazmat.primitives import serialization

    from tests.device_ddm.nanohub import nanohub

    ddm = Server()
    port = free_port()
    server = serve(ddm.app(), port)
    ca = pki.ca("bench NanoHub CA")
    with (
        nanohub(ca.cert.public_bytes(serialization.Encoding.PEM)) as hub,
        tempfile.TemporaryDirectory() as tmp,
    ):
        ddm.per_device = (ca, hub.mdm_url)
        for body in ddm.declarations.values():
            declaration = json.loads(body)
            declaration.pop("ServerToken")
            hub.put_declaration(declaration)
            hub.set_declaration("bench", declaration["Identifier"])
        control = emulator.control
        serials = await enrolled(emulator, f"http://127.0.0.1:{port}", devices, Path(tmp))
        times, failed = [], []
        async with httpx.AsyncClient(base_url=emulator.base_url + "/emulator/v1", timeout=120) as client:
            for serial in serials:
                udid = control.get(f"/devices/{serial}/mdm")["udid"]
                hub.enroll_set(udid, "bench")  # queues DeclarativeManagement (the push fails: no APNs)
                started = time.perf_counter()
                polled = (await client.post(f"/devices/{serial}/mdm/poll")).json()
                times.append(time.perf_counter() - started)
                stored = hub.declaration_status(udid)
                ok = polled["outcome"] == "idle" and polled["steps"][-1]["step"] == "ddm.status"
                ok = ok and all(s["ok"] for s in polled["steps"]) and len(stored) == DECLARATIONS
                ok = ok and all(entry["active"] for entry in stored.values())
                if not ok:
                    failed.append(serial)
    server.should_exit = True
    print(f"NanoHub v0.2.0: devices {devices}, declarations per device {DECLARATIONS}")  # noqa: T201
    print(f"device sync (POST .../mdm/poll), median: {statistics.median(times) * 1000:.1f} ms")  # noqa: T201
    print(f"devices whose sync or stored status was not complete: {len(failed)} {failed[:5]}")  # noqa: T201


async def enrolled(emulator: Any, base: str, devices: int, tmp: Path) -> list[str]:
    """`devices` iPhones assigned to a DEP profile whose URL is `base`/enroll, enrolled."""
    control = emulator.control
    org = control.post("/orgs", {"name": "DDM bench"})
    handle = create_mdm_server(control, org["id"], tmp)
    serials: list[str] = control.post(
        f"/orgs/{org['id']}/devices", {"generate": {"count": devices, "seed": 7, "families": ["iPhone"]}}
    )["serials"]
    control.post(f"/orgs/{org['id']}/assignments", {"server_uuid": handle.server_uuid, "serials": serials})
    async with dep_client(handle.credentials, base_url=emulator.base_url) as mdm:
        profile = (await mdm.post("/profile", json={"profile_name": "bench", "url": base + "/enroll"})).json()
        for start in range(0, len(serials), 1000):
            chunk = serials[start : start + 1000]
            await mdm.put(
                "/profile/devices", json={"profile_uuid": profile["profile_uuid"], "devices": chunk}
            )
    for serial in serials:
        result = control.post(f"/devices/{serial}/activate", {"enroll": True})
        assert result["enrollment"]["outcome"] == "enrolled", result
    return serials


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--devices", type=int, default=20)
    parser.add_argument("--nanohub", action="store_true", help="sync against NanoHub v0.2.0 (no floor)")
    args = parser.parse_args()
    with running_emulator() as emulator:  # migrates with asyncio.run: outside the bench's loop
        asyncio.run((run_nanohub if args.nanohub else run)(emulator, args.devices))


if __name__ == "__main__":
    main()
