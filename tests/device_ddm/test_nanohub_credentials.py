"""An ACME credential asset declared through NanoHub v0.2.0 (device-2026.md §3.7, §6.1): NanoHub
serves the asset and configuration declarations (it does not host asset data: a small file server
does), the device obtains the identity from step-ca v0.30.2 with an attestation from the emulated
Apple CA, and NanoHub stores the asset and the configuration active and valid."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from cryptography.hazmat.primitives import serialization

from tests.device_acme.step_ca import StepCa, step_ca
from tests.device_ddm.ddm_server import SIMPLE, DdmServer, by_id, enroll, pkcs12_profile, poll, state
from tests.device_ddm.nanohub import NanoHub, nanohub
from tests.device_ddm.test_credentials import ACME, IDENTITY, credential
from tests.device_helpers import add_devices
from tests.device_setup import pki


@pytest.fixture
async def ca(client: httpx.AsyncClient) -> Iterator[StepCa]:
    with step_ca((await client.get("/emulator/v1/attestation-ca")).content) as server:
        yield server


async def test_acme_asset_declared_in_nanohub(
    client: httpx.AsyncClient,
    mdm: httpx.AsyncClient,
    org: dict[str, Any],
    server: dict[str, Any],
    ddm: DdmServer,
    ca: StepCa,
) -> None:
    hub_ca = pki.ca("NanoHub device CA")
    with nanohub(hub_ca.cert.public_bytes(serialization.Encoding.PEM)) as hub:
        await _run(client, mdm, org, server, ddm, ca, hub, hub_ca)


async def _run(
    client: httpx.AsyncClient,
    mdm: httpx.AsyncClient,
    org: dict[str, Any],
    server: dict[str, Any],
    files: DdmServer,
    ca: StepCa,
    hub: NanoHub,
    hub_ca: pki.Issued,
) -> None:
    [serial] = await add_devices(
        client, org_id=org["id"], server_uuid=server["server_uuid"], count=1, families=["iPhone"]
    )
    identity = pki.leaf(hub_ca, f"device {serial}", server=False)
    await enroll(
        client, mdm, serial, profile=pkcs12_profile(identity, server_url=hub.mdm_url, anchor=ca.root.der)
    )
    udid = (await client.get(f"/emulator/v1/devices/{serial}/mdm")).json()["udid"]
    files.files["acme.json"] = (credential(ca.directory_url, serial), "application/json")
    reference = {"DataURL": files.file_url("acme.json"), "ContentType": "application/json"}
    for declaration in (
        {"Type": ACME, "Identifier": "com.example.asset.acme", "Payload": {"Reference": reference}},
        {
            "Type": IDENTITY,
            "Identifier": "com.example.cfg.identity",
            "Payload": {"CredentialAssetReference": "com.example.asset.acme"},
        },
        {
            "Type": SIMPLE,
            "Identifier": "com.example.act",
            "Payload": {"StandardConfigurations": ["com.example.cfg.identity"]},
        },
    ):
        hub.put_declaration(declaration)
        hub.set_declaration("s1", declaration["Identifier"])
    hub.enroll_set(udid, "s1")  # queues DeclarativeManagement (the push fails: no APNs)
    polled = await poll(client, serial)
    steps = [s["step"] for s in polled["steps"]]
    assert "acme.certificate" in steps and steps[-1] == "ddm.status", steps
    stored = hub.declaration_status(udid)
    for identifier in ("com.example.asset.acme", "com.example.cfg.identity", "com.example.act"):
        assert (stored[identifier]["active"], stored[identifier]["valid"]) == (True, "valid"), stored
    kept = by_id(await state(client, serial))["com.example.asset.acme"]["identity"]
    assert kept["issuer"] == "CN=step-ca test intermediate" and kept["attested"] is True
    assert json.loads(files.files["acme.json"][0])["ClientIdentifier"] == serial
