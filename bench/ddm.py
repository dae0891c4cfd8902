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
from cryptography.hazmat.primitives.asymmetric import rsa
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
        self.device_key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
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
                # one certificate per device (NanoMDM ties a certificate to one enrollment), one
                # key for all: the bench times the device, not this server's key generation
                identity = pki.leaf(ca, "bench device", server=False, key=self.device_key)
                # OpenSSL's default PBKDF2 rounds: the device's PKCS#12 decryption as MDMs make it
                profile = pkcs12_profile(identity, server_url=server_url, kdf_rounds=2048)
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


async def run(emulator: Any, devices: int, in_flight: int) -> None:
    ddm = Server()
    port = free_port()
    server = serve(ddm.app(), port)
    base = f"http://127.0.0.1:{port}"
    ddm.profile = pkcs12_profile(
        pki.leaf(pki.ca("bench CA"), "bench device", server=False), server_url=base + "/mdm"
    )
    with tempfile.TemporaryDirectory() as tmp:
        control = emulator.control
        serials, _ = await enrolled(emulator, base, devices, Path(tmp), in_flight=in_flight)
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


async def run_nanohub(emulator: Any, devices: int, in_flight: int) -> None:
    from cryptography.hazmat.primitives import serialization

    from tests.device_ddm.nanohub import API_KEY, nanohub

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
        started = time.perf_counter()
        serials, enroll_times = await enrolled(
            emulator, f"http://127.0.0.1:{port}", devices, Path(tmp), in_flight=in_flight
        )
        enroll_wall = time.perf_counter() - started
        times: list[float] = []
        failed: list[str] = []
        gate = asyncio.Semaphore(in_flight)

        async def sync(client: httpx.AsyncClient, api: httpx.AsyncClient, serial: str) -> None:
            async with gate:
                udid = (await client.get(f"/devices/{serial}/mdm")).json()["udid"]
                # queues DeclarativeManagement (the push fails without APNs: 500, the command is stored)
                answer = await api.put(f"/enrollment-sets/{udid}", params={"set": "bench"})
                assert answer.status_code in (204, 304, 500), answer.text
                begun = time.perf_counter()
                polled = (await client.post(f"/devices/{serial}/mdm/poll")).json()
                times.append(time.perf_counter() - begun)
                stored_answer = await api.get(f"/declaration-status/{udid}")
            stored = {s["identifier"]: s for s in stored_answer.json().get(udid) or []}
            ok = polled["outcome"] == "idle" and polled["steps"][-1]["step"] == "ddm.status"
            ok = ok and all(s["ok"] for s in polled["steps"]) and len(stored) == DECLARATIONS
            ok = ok and all(entry["active"] and entry["valid"] == "valid" for entry in stored.values())
            if not ok:
                failed.append(serial)

        limits = httpx.Limits(max_connections=in_flight)
        started = time.perf_counter()
        async with (
            httpx.AsyncClient(
                base_url=emulator.base_url + "/emulator/v1", timeout=600, limits=limits
            ) as client,
            httpx.AsyncClient(
                base_url=hub.base_url + "/api/v1/ddm", auth=("nanohub", API_KEY), timeout=60, limits=limits
            ) as api,
        ):
            await asyncio.gather(*(sync(client, api, serial) for serial in serials))
        sync_wall = time.perf_counter() - started
    server.should_exit = True
    print(f"NanoHub v0.2.0: devices {devices}, declarations per device {DECLARATIONS}, in flight {in_flight}")  # noqa: T201
    print(  # noqa: T201
        f"enrollment (POST .../activate): {enroll_wall:.1f} s for all, per device median "
        f"{statistics.median(enroll_times) * 1000:.0f} ms, p95 {_p95(enroll_times) * 1000:.0f} ms"
    )
    print(  # noqa: T201
        f"DDM sync (POST .../mdm/poll): {sync_wall:.1f} s for all, per device median "
        f"{statistics.median(times) * 1000:.0f} ms, p95 {_p95(times) * 1000:.0f} ms"
    )
    print(f"devices whose sync or stored status was not complete: {len(failed)} {failed[:5]}")  # noqa: T201


def _p95(values: list[float]) -> float:
    return sorted(values)[max(0, int(len(values) * 0.95) - 1)]


async def enrolled(
    emulator: Any, base: str, devices: int, tmp: Path, *, in_flight: int = 1
) -> tuple[list[str], list[float]]:
    """`devices` iPhones assigned to a DEP profile whose URL is `base`/enroll, enrolled with at most
    `in_flight` activations at a time; the serials and each activation's seconds."""
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
    gate = asyncio.Semaphore(in_flight)
    seconds: list[float] = []

    async def activate(client: httpx.AsyncClient, serial: str) -> None:
        async with gate:
            started = time.perf_counter()
            response = await client.post(f"/devices/{serial}/activate", json={"enroll": True})
            seconds.append(time.perf_counter() - started)
        result = response.json()
        assert result["enrollment"]["outcome"] == "enrolled", result

    limits = httpx.Limits(max_connections=in_flight)
    async with httpx.AsyncClient(
        base_url=emulator.base_url + "/emulator/v1", timeout=600, limits=limits
    ) as client:
        await asyncio.gather(*(activate(client, serial) for serial in serials))
    return serials, seconds


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--devices", type=int, default=20)
    parser.add_argument("--nanohub", action="store_true", help="sync against NanoHub v0.2.0 (no floor)")
    parser.add_argument(
        "--in-flight", type=int, default=4, help="devices enrolling (and, with --nanohub, syncing) at once"
    )
    parser.add_argument(
        "--key-pool", type=int, default=16, help="the emulator's device_key_pool (0: a fresh key per device)"
    )
    args = parser.parse_args()
    # running_emulator migrates with asyncio.run: outside the bench's loop
    with running_emulator(device_key_pool=args.key_pool) as emulator:
        if args.nanohub:
            asyncio.run(run_nanohub(emulator, args.devices, args.in_flight))
        else:
            asyncio.run(run(emulator, args.devices, args.in_flight))


if __name__ == "__main__":
    main()
