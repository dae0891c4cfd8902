"""What the device makes of declarations (device-2026.md §3.4, §3.6): predicates, assets with
their checks, legacy profiles fetched with the identity, Await Configuration and NotNow."""

from __future__ import annotations

import hashlib
import plistlib
import ssl
import tempfile
from pathlib import Path
from typing import Any

import httpx
from dep_emulator.testing.server import free_port
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from tests.device_ddm.ddm_server import (
    SIMPLE,
    TEST,
    DdmServer,
    by_id,
    enroll,
    pkcs12_profile,
    poll,
    serve,
    state,
)
from tests.device_helpers import add_devices
from tests.device_setup import pki

FILES = "com.apple.configuration.services.configuration-files"


async def test_predicates(client: httpx.AsyncClient, device: str, ddm: DdmServer) -> None:
    cases = {
        "ios": "@status(device.operating-system.family) == 'iOS' "
        "AND @status(device.model.family) BEGINSWITH[c] 'iphone'",
        "mac": '@status(device.operating-system.family) == "macOS"',
        "prop": "@property(tier) IN {'gold', 'silver'}",
        "keypath": "model.name == 'x'",
        "aggregate": "ANY tags == 'x'",
        "unknown-item": "@status(device.power.battery-health) == 'good'",
        "garbage": "@status(device.operating-system.family) === ((",
        "true": "TRUEPREDICATE",
    }
    for name, text in cases.items():
        ddm.put(TEST, f"cfg-{name}", {"Echo": name})
        ddm.put(SIMPLE, f"act-{name}", {"StandardConfigurations": [f"cfg-{name}"], "Predicate": text})
    ddm.put("com.apple.management.properties", "props", {"tier": "gold"})
    ddm.sync()
    await poll(client, device)
    held = by_id(await state(client, device))

    def outcome(name: str) -> tuple[bool, str, list[str]]:
        act = held[f"act-{name}"]
        return act["active"], act["valid"], [r["code"] for r in act["reasons"]]

    assert outcome("ios") == (True, "valid", [])
    assert outcome("mac") == (False, "valid", ["Info.Predicate"])
    assert outcome("prop") == (True, "valid", [])
    assert outcome("keypath") == (False, "valid", ["Error.UnableToEvaluatePredicate"])
    assert outcome("aggregate") == (False, "valid", ["Error.UnableToEvaluatePredicate"])
    assert outcome("unknown-item") == (False, "valid", ["Error.UnableToEvaluatePredicate"])
    assert outcome("garbage") == (False, "invalid", ["Error.UnableToParsePredicate"])
    assert outcome("true") == (True, "valid", [])
    assert held["cfg-ios"]["active"] is True and held["cfg-mac"]["active"] is False

    # The properties change: the predicate is evaluated again at the next sync.
    ddm.put("com.apple.management.properties", "props", {"tier": "bronze"})
    ddm.sync()
    await poll(client, device)
    held = by_id(await state(client, device))
    assert outcome("prop") == (False, "valid", ["Info.Predicate"])


def asset(url: str, data: bytes, **reference: Any) -> dict[str, Any]:
    ref = {
        "DataURL": url,
        "ContentType": "text/plain",
        "Size": len(data),
        "Hash-SHA-256": hashlib.sha256(data).hexdigest(),
    } | reference
    return {"Reference": ref}


async def test_assets_are_fetched_and_verified(
    client: httpx.AsyncClient, device: str, ddm: DdmServer
) -> None:
    data = b"service configuration\n"
    ddm.files["good"] = (data, "text/plain; charset=utf-8")
    ddm.files["other"] = (b"something else entirely", "text/plain")
    cases = {
        "good": asset(ddm.file_url("good"), data),
        "hash": asset(ddm.file_url("other"), data, Size=len(b"something else entirely")),
        "size": asset(ddm.file_url("good"), data, Size=5),
        "type": asset(ddm.file_url("good"), data, ContentType="application/json"),
        "gone": asset(ddm.file_url("missing"), data),
        "no-url": {"Reference": {"ContentType": "text/plain"}},
    }
    for name, payload in cases.items():
        ddm.put("com.apple.asset.data", f"asset-{name}", payload)
        ddm.put(
            FILES, f"cfg-{name}", {"ServiceType": "com.apple.sshd", "DataAssetReference": f"asset-{name}"}
        )
    ddm.put(FILES, "cfg-missing", {"ServiceType": "com.apple.sshd", "DataAssetReference": "asset-nowhere"})
    ddm.put("com.apple.asset.data", "asset-unused", asset(ddm.file_url("good"), data))
    configs = [f"cfg-{n}" for n in cases] + ["cfg-missing"]
    ddm.put(SIMPLE, "act", {"StandardConfigurations": configs})
    ddm.sync()
    polled = await poll(client, device)
    held = by_id(await state(client, device))

    def codes(identifier: str) -> list[str]:
        return [r["code"] for r in held[identifier]["reasons"]]

    assert (held["asset-good"]["active"], held["asset-good"]["valid"]) == (True, "valid")
    assert held["cfg-good"]["active"] is True
    assert codes("asset-hash") == ["Error.AssetCannotBeVerified"]
    assert held["asset-hash"]["reasons"][0]["details"]["Expected"] == hashlib.sha256(data).hexdigest()
    assert codes("asset-size") == ["Error.AssetCannotBeVerified"]
    assert held["asset-size"]["reasons"][0]["details"] == {"Size": len(data), "Expected": 5}
    assert codes("asset-type") == ["Error.AssetCannotBeVerified"]
    assert codes("asset-gone") == ["Error.AssetCannotBeDownloaded"]
    assert codes("asset-no-url") == ["Error.AssetCannotBeDeserialized"]
    for name in ("hash", "size", "type", "gone", "no-url"):
        assert held[f"cfg-{name}"]["valid"] == "invalid", name
        assert codes(f"cfg-{name}") == ["Error.ConfigurationCannotBeApplied"]
    assert codes("cfg-missing") == ["Error.MissingAssets"]
    assert (held["asset-unused"]["active"], codes("asset-unused")) == (
        False,
        ["Info.NotReferencedByConfiguration"],
    )
    fetches = [s for s in polled["steps"] if s["step"] == "ddm.asset"]
    assert len(fetches) == 5 and {s["url"] for s in fetches} == {
        ddm.file_url("good"),
        ddm.file_url("other"),
        ddm.file_url("missing"),
    }

    # Fetched once per ServerToken: a sync that changes nothing about the assets fetches nothing.
    ddm.put(TEST, "cfg-new", {"Echo": "new"})
    ddm.sync()
    polled = await poll(client, device)
    assert [s for s in polled["steps"] if s["step"] == "ddm.asset"] == []


def legacy_profile(identifier: str) -> bytes:
    return plistlib.dumps(
        {
            "PayloadType": "Configuration",
            "PayloadIdentifier": identifier,
            "PayloadVersion": 1,
            "PayloadUUID": "44444444-0000-4000-8000-000000000001",
            "PayloadDisplayName": "Wi-Fi",
            "PayloadContent": [
                {
                    "PayloadType": "com.apple.wifi.managed",
                    "PayloadIdentifier": identifier + ".wifi",
                    "PayloadUUID": "44444444-0000-4000-8000-000000000002",
                    "PayloadVersion": 1,
                    "SSID_STR": "Example",
                }
            ],
        }
    )


async def test_legacy_profiles_install_and_go_with_their_configuration(
    client: httpx.AsyncClient, device: str, ddm: DdmServer
) -> None:
    ddm.files["wifi.mobileconfig"] = (legacy_profile("com.example.wifi"), "application/x-apple-aspen-config")
    ddm.files["bad.mobileconfig"] = (b"<not a profile>", "application/x-apple-aspen-config")
    ddm.put(
        "com.apple.configuration.legacy", "legacy-wifi", {"ProfileURL": ddm.file_url("wifi.mobileconfig")}
    )
    ddm.put("com.apple.configuration.legacy", "legacy-bad", {"ProfileURL": ddm.file_url("bad.mobileconfig")})
    ddm.put(SIMPLE, "act", {"StandardConfigurations": ["legacy-wifi", "legacy-bad"]})
    ddm.sync()
    await poll(client, device)
    held = by_id(await state(client, device))
    assert held["legacy-wifi"]["active"] is True
    assert held["legacy-bad"]["reasons"][0]["code"] == "Error.ConfigurationCannotBeApplied"
    assert "Profile Installation Failed" in held["legacy-bad"]["reasons"][0]["details"]["Error"]
    managed = (await client.get(f"/emulator/v1/devices/{device}/mdm")).json()
    assert "com.example.wifi" in [p["PayloadIdentifier"] for p in managed["profiles"]]

    # The activation no longer references it: the profile is removed.
    ddm.put(SIMPLE, "act", {"StandardConfigurations": []})
    ddm.sync()
    await poll(client, device)
    managed = (await client.get(f"/emulator/v1/devices/{device}/mdm")).json()
    assert "com.example.wifi" not in [p["PayloadIdentifier"] for p in managed["profiles"]]
    assert by_id(await state(client, device))["legacy-wifi"]["active"] is False


async def test_legacy_profile_over_tls_with_the_identity_as_client_certificate(
    client: httpx.AsyncClient,
    mdm: httpx.AsyncClient,
    org: dict[str, Any],
    server: dict[str, Any],
    ddm: DdmServer,
) -> None:
    """The profile server requires a client certificate from the device identity's CA and is
    trusted through the enrollment profile's anchor (§3.4: fetched with the MDM identity)."""
    server_ca, client_ca = pki.ca("Profile server CA"), pki.ca("Device identity CA")
    identity = pki.leaf(client_ca, "ddm device", server=False)
    serial = (
        await add_devices(
            client, org_id=org["id"], server_uuid=server["server_uuid"], count=1, families=["Mac"]
        )
    )[0]
    profile = pkcs12_profile(identity, server_url=ddm.base_url + "/mdm", anchor=server_ca.der)
    await enroll(client, mdm, serial, profile=profile)
    seen: list[str] = []

    async def wifi(request: Request) -> Response:
        seen.append(request.url.path)
        return Response(legacy_profile("com.example.tls-wifi"), media_type="application/x-apple-aspen-config")

    port = free_port()
    with tempfile.TemporaryDirectory() as tmp:
        cert_file, key_file = pki.leaf(server_ca, "127.0.0.1", server=True).write(Path(tmp), "server")
        client_ca_file, _ = client_ca.write(Path(tmp), "client-ca")
        tls = {
            "ssl_certfile": cert_file,
            "ssl_keyfile": key_file,
            "ssl_ca_certs": client_ca_file,
            "ssl_cert_reqs": ssl.CERT_REQUIRED,
        }
        with serve(Starlette(routes=[Route("/wifi", wifi)]), port, **tls):
            url = f"https://127.0.0.1:{port}/wifi"
            ddm.put("com.apple.configuration.legacy", "legacy-tls", {"ProfileURL": url})
            ddm.put(SIMPLE, "act", {"StandardConfigurations": ["legacy-tls"]})
            ddm.sync()
            polled = await poll(client, serial)
    assert seen, "the profile server was not reached"
    fetch = next(s for s in polled["steps"] if s["step"] == "ddm.legacy-profile")
    assert (fetch["url"], fetch["status"], fetch["ok"]) == (url, 200, True)
    assert by_id(await state(client, serial))["legacy-tls"]["active"] is True
    managed = (await client.get(f"/emulator/v1/devices/{serial}/mdm")).json()
    assert "com.example.tls-wifi" in [p["PayloadIdentifier"] for p in managed["profiles"]]
