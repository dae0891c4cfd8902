"""The virtual device's DDM against NanoHub v0.2.0 (device-2026.md §3.7): declarations and a set
through NanoHub's API, the DeclarativeManagement command it queues, the sync, and the status
NanoHub stored: active configurations, a broken one with its reason, a removed one gone."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from cryptography.hazmat.primitives import serialization

from tests.device_ddm.ddm_server import SIMPLE, TEST, by_id, enroll, pkcs12_profile, poll, state
from tests.device_ddm.nanohub import NanoHub, nanohub
from tests.device_helpers import add_devices
from tests.device_setup import pki


@pytest.fixture
def hub_ca() -> pki.Issued:
    return pki.ca("NanoHub device CA")


@pytest.fixture
def hub(hub_ca: pki.Issued) -> Iterator[NanoHub]:
    with nanohub(hub_ca.cert.public_bytes(serialization.Encoding.PEM)) as server:
        yield server


async def enrolled(
    client: httpx.AsyncClient,
    mdm: httpx.AsyncClient,
    org: dict[str, Any],
    server: dict[str, Any],
    hub: NanoHub,
    hub_ca: pki.Issued,
    count: int = 1,
) -> list[tuple[str, str]]:
    """(serial, UDID) of devices enrolled in NanoHub."""
    serials = await add_devices(
        client, org_id=org["id"], server_uuid=server["server_uuid"], count=count, families=["iPhone"]
    )
    devices = []
    for serial in serials:
        identity = pki.leaf(hub_ca, f"device {serial}", server=False)
        await enroll(client, mdm, serial, profile=pkcs12_profile(identity, server_url=hub.mdm_url))
        devices.append((serial, (await client.get(f"/emulator/v1/devices/{serial}/mdm")).json()["udid"]))
    return devices


async def test_declarations_from_nanohub_are_applied_and_their_status_stored(
    client: httpx.AsyncClient,
    mdm: httpx.AsyncClient,
    org: dict[str, Any],
    server: dict[str, Any],
    hub: NanoHub,
    hub_ca: pki.Issued,
) -> None:
    [(serial, udid)] = await enrolled(client, mdm, org, server, hub, hub_ca)
    declarations = [
        {"Type": TEST, "Identifier": "com.example.cfg.ok", "Payload": {"Echo": "hello"}},
        {
            "Type": TEST,
            "Identifier": "com.example.cfg.broken",
            "Payload": {"Echo": "x", "ReturnStatus": "Failed"},
        },
        {"Type": TEST, "Identifier": "com.example.cfg.later-removed", "Payload": {"Echo": "bye"}},
        {
            "Type": SIMPLE,
            "Identifier": "com.example.act",
            "Payload": {
                "StandardConfigurations": [
                    "com.example.cfg.ok",
                    "com.example.cfg.broken",
                    "com.example.cfg.later-removed",
                ]
            },
        },
    ]
    for declaration in declarations:
        hub.put_declaration(declaration)
        hub.set_declaration("s1", declaration["Identifier"])
    hub.enroll_set(udid, "s1")  # notifies: a DeclarativeManagement command is queued (the push fails)

    polled = await poll(client, serial)
    assert polled["outcome"] == "idle", polled
    steps = [s["step"] for s in polled["steps"]]
    assert "command.DeclarativeManagement" in steps and steps[-1] == "ddm.status", steps
    assert all(s["ok"] for s in polled["steps"]), [s for s in polled["steps"] if not s["ok"]]
    held = by_id(await state(client, serial))
    assert held["com.example.act"]["active"] is True
    stored = hub.declaration_status(udid)
    assert (stored["com.example.cfg.ok"]["active"], stored["com.example.cfg.ok"]["valid"]) == (True, "valid")
    assert (stored["com.example.act"]["active"], stored["com.example.act"]["valid"]) == (True, "valid")
    broken = stored["com.example.cfg.broken"]
    assert (broken["active"], broken["valid"]) == (False, "invalid")
    assert [r["code"] for r in broken["reasons"]] == ["Error.ConfigurationFailed"]
    assert all(entry["current"] for entry in stored.values())  # NanoHub: the status is of its current tokens
    # NanoHub's tokens are the ones the device holds (its DeclarationsToken may change between
    # calls, so consistency is judged by the declarations' server tokens).
    for identifier, entry in stored.items():
        assert entry["server-token"] == held[identifier]["server_token"], identifier

    # Removed from the set (and the activation no longer names it): gone from the device and the status.
    hub.put_declaration(
        {
            "Type": SIMPLE,
            "Identifier": "com.example.act",
            "Payload": {"StandardConfigurations": ["com.example.cfg.ok", "com.example.cfg.broken"]},
        }
    )
    hub.set_declaration("s1", "com.example.cfg.later-removed", remove=True)
    polled = await poll(client, serial)
    assert all(s["ok"] for s in polled["steps"]), [s for s in polled["steps"] if not s["ok"]]
    assert "com.example.cfg.later-removed" not in by_id(await state(client, serial))
    stored = hub.declaration_status(udid)
    assert "com.example.cfg.later-removed" not in stored
    assert stored["com.example.cfg.ok"]["active"] is True
