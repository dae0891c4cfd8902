"""Credential assets (`com.apple.asset.credential.acme`, device-2026.md §6.1, and `.scep`): a
configuration that references one makes the device fetch the credential JSON and obtain an
identity, from step-ca v0.30.2 with an attestation by the emulated Apple CA (renewed before it
expires, on the emulator clock) or from micromdm's scepserver; failures reported on the asset."""

from __future__ import annotations

import base64
import json
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from cryptography import x509

from tests.device_acme.step_ca import StepCa, step_ca
from tests.device_ddm.ddm_server import (
    SIMPLE,
    DdmServer,
    by_id,
    enroll,
    pkcs12_profile,
    poll,
    reported,
    state,
)
from tests.device_helpers import add_devices
from tests.device_setup import pki
from tests.device_setup.real_servers import scep_server

ACME = "com.apple.asset.credential.acme"
SCEP = "com.apple.asset.credential.scep"
IDENTITY = "com.apple.configuration.security.identity"


def credential(directory_url: str, client_identifier: str, **fields: Any) -> bytes:
    return json.dumps(
        {
            "DirectoryURL": directory_url,
            "ClientIdentifier": client_identifier,
            "KeySize": 384,
            "KeyType": "ECSECPrimeRandom",
            "HardwareBound": True,
            "Attest": True,
            "Subject": [[["CN", client_identifier]]],
        }
        | fields
    ).encode()


def declare(ddm: DdmServer, name: str, data: bytes) -> None:
    """An ACME asset served from /files/{name}, a security.identity configuration using it, activated."""
    ddm.files[name] = (data, "application/json")
    ddm.put(
        ACME,
        f"asset-{name}",
        {"Reference": {"DataURL": ddm.file_url(name), "ContentType": "application/json"}},
    )
    ddm.put(IDENTITY, f"cfg-{name}", {"CredentialAssetReference": f"asset-{name}"})


def codes(held: dict[str, Any]) -> list[str]:
    return [r["code"] for r in held["reasons"]]


@pytest.fixture
async def ca(client: httpx.AsyncClient) -> Iterator[StepCa]:
    root = await client.get("/emulator/v1/attestation-ca")
    with step_ca(root.content) as server:
        yield server


@pytest.fixture
async def iphone(
    client: httpx.AsyncClient,
    mdm: httpx.AsyncClient,
    org: dict[str, Any],
    server: dict[str, Any],
    ddm: DdmServer,
) -> str:
    """An iPhone assigned to the test server (generated iPhones can attest), not enrolled yet."""
    serial = (
        await add_devices(
            client, org_id=org["id"], server_uuid=server["server_uuid"], count=1, families=["iPhone"]
        )
    )[0]
    return serial


async def test_acme_credential_asset_from_step_ca_then_renewed(
    client: httpx.AsyncClient, mdm: httpx.AsyncClient, iphone: str, ddm: DdmServer, ca: StepCa
) -> None:
    identity = pki.leaf(pki.ca("DDM test CA"), "ddm device", server=False)
    profile = pkcs12_profile(identity, server_url=ddm.base_url + "/mdm", anchor=ca.root.der)
    await enroll(client, mdm, iphone, profile=profile)
    declare(ddm, "acme", credential(ca.directory_url, iphone))
    ddm.put(SIMPLE, "act", {"StandardConfigurations": ["cfg-acme"]})
    ddm.sync()
    polled = await poll(client, iphone)
    steps = [s["step"] for s in polled["steps"]]
    assert "acme.challenge" in steps and "acme.certificate" in steps, steps
    assert steps[-1] == "ddm.status"
    held = by_id(await state(client, iphone))
    assert (held["asset-acme"]["active"], held["asset-acme"]["valid"]) == (True, "valid"), held["asset-acme"]
    assert held["cfg-acme"]["active"] is True
    kept = held["asset-acme"]["identity"]
    assert kept["issuer"] == "CN=step-ca test intermediate" and kept["subject"] == f"CN={iphone}"
    assert kept["attested"] is True and kept["hardware_bound"] is True and kept["renewals"] == 0
    status = reported(ddm.reports[-1], "assets")["asset-acme"]
    assert (status["active"], status["valid"]) == (True, "valid")

    # Nothing to renew yet: a poll without a command does not talk to step-ca.
    polled = await poll(client, iphone)
    assert not [s for s in polled["steps"] if s["step"].startswith("acme.")]
    # step-ca issues for 24 hours: 20 hours later (past 80% of it) the next poll renews the identity.
    assert (await client.post("/emulator/v1/clock", json={"advance_seconds": 20 * 3600})).status_code == 200
    polled = await poll(client, iphone)
    assert "acme.certificate" in [s["step"] for s in polled["steps"]], polled["steps"]
    after = await state(client, iphone)
    renewed = by_id(after)["asset-acme"]["identity"]
    assert renewed["serial"] != kept["serial"] and renewed["renewals"] == 1
    assert after["last_sync"]["outcome"] == "renewed"
    assert by_id(after)["asset-acme"]["active"] is True and renewed["renewal_problem"] is None

    # step-ca's new certificate started on its own (real) clock, so the next poll renews again; a
    # refused renewal keeps the identity the device has, and says why.
    tampered = await client.put(
        f"/emulator/v1/devices/{iphone}/attestation", json={"tamper": "wrong_freshness"}
    )
    assert tampered.status_code == 200
    await poll(client, iphone)
    kept_after_refusal = by_id(await state(client, iphone))["asset-acme"]
    assert (
        kept_after_refusal["active"] is True and kept_after_refusal["identity"]["serial"] == renewed["serial"]
    )
    problem = kept_after_refusal["identity"]["renewal_problem"]
    assert problem["code"] == "Error.AssetCannotBeDownloaded"
    assert "challenge token does not match" in problem["details"]["Error"]


async def test_acme_credential_refused_by_step_ca_is_reported_on_the_asset(
    client: httpx.AsyncClient, mdm: httpx.AsyncClient, iphone: str, ddm: DdmServer, ca: StepCa
) -> None:
    identity = pki.leaf(pki.ca("DDM test CA"), "ddm device", server=False)
    await enroll(
        client,
        mdm,
        iphone,
        profile=pkcs12_profile(identity, server_url=ddm.base_url + "/mdm", anchor=ca.root.der),
    )
    # Without Attest the device answers device-attest-01 without an attestation: step-ca refuses.
    declare(ddm, "plain", credential(ca.directory_url, iphone, Attest=False))
    tampered = await client.put(
        f"/emulator/v1/devices/{iphone}/attestation", json={"tamper": "wrong_freshness"}
    )
    assert tampered.status_code == 200
    declare(ddm, "tampered", credential(ca.directory_url, iphone))
    ddm.put(SIMPLE, "act", {"StandardConfigurations": ["cfg-plain", "cfg-tampered"]})
    ddm.sync()
    await poll(client, iphone)
    held = by_id(await state(client, iphone))
    for name, said in (("plain", "rejectedIdentifier"), ("tampered", "challenge token does not match")):
        asset = held[f"asset-{name}"]
        assert (asset["valid"], codes(asset)) == ("invalid", ["Error.AssetCannotBeDownloaded"]), asset
        assert said in asset["reasons"][0]["details"]["Error"], asset
        assert asset["identity"] is None
        assert codes(held[f"cfg-{name}"]) == ["Error.ConfigurationCannotBeApplied"]


async def test_acme_credential_failures_without_a_server(
    client: httpx.AsyncClient, device: str, ddm: DdmServer
) -> None:
    """Data that is not an ACMECredential, one the device refuses before any request, an ACME server
    that does not answer; an asset no active configuration references is not resolved."""
    declare(ddm, "garbage", b"not json")
    declare(ddm, "no-hardware", credential("https://127.0.0.1:9/acme/directory", device, HardwareBound=False))
    declare(
        ddm,
        "rsa-bound",
        credential("https://127.0.0.1:9/acme/directory", device, KeyType="RSA", KeySize=2048),
    )
    declare(ddm, "unreachable", credential("https://127.0.0.1:9/acme/directory", device))
    declare(ddm, "unused", credential("https://127.0.0.1:9/acme/directory", device))
    configs = ["cfg-garbage", "cfg-no-hardware", "cfg-rsa-bound", "cfg-unreachable"]
    ddm.put(SIMPLE, "act", {"StandardConfigurations": configs})
    ddm.sync()
    polled = await poll(client, device)
    held = by_id(await state(client, device))
    assert codes(held["asset-garbage"]) == ["Error.AssetCannotBeDeserialized"]
    assert "not JSON" in held["asset-garbage"]["reasons"][0]["details"]["Error"]
    assert codes(held["asset-no-hardware"]) == ["Error.AssetCannotBeDeserialized"]
    assert held["asset-no-hardware"]["reasons"][0]["details"]["Error"] == "Attest requires HardwareBound"
    assert codes(held["asset-rsa-bound"]) == ["Error.AssetCannotBeDeserialized"]
    assert codes(held["asset-unreachable"]) == ["Error.AssetCannotBeDownloaded"]
    assert "could not be reached" in held["asset-unreachable"]["reasons"][0]["details"]["Error"]
    for name in ("garbage", "no-hardware", "rsa-bound", "unreachable"):
        assert held[f"cfg-{name}"]["valid"] == "invalid", name
    assert codes(held["asset-unused"]) == ["Info.NotReferencedByConfiguration"]
    directory_requests = [s for s in polled["steps"] if s["step"] == "acme.directory"]
    assert len(directory_requests) == 1  # only the unreachable one got as far as the network


async def test_scep_credential_asset_from_scepserver(
    client: httpx.AsyncClient, device: str, ddm: DdmServer
) -> None:
    """`com.apple.asset.credential.scep`: the SCEPCredential JSON names micromdm's scepserver; the
    device obtains its identity there; a wrong challenge is refused and reported on the asset."""
    with scep_server() as scep:
        good = {"URL": scep.url, "Challenge": scep.challenge, "Keysize": 2048, "Subject": [[["CN", device]]]}
        for name, fields in (("scep", good), ("scep-wrong", good | {"Challenge": "not the secret"})):
            ddm.files[name] = (json.dumps(fields).encode(), "application/json")
            reference = {"DataURL": ddm.file_url(name), "ContentType": "application/json"}
            ddm.put(SCEP, f"asset-{name}", {"Reference": reference})
            ddm.put(IDENTITY, f"cfg-{name}", {"CredentialAssetReference": f"asset-{name}"})
        ddm.put(SIMPLE, "act", {"StandardConfigurations": ["cfg-scep", "cfg-scep-wrong"]})
        ddm.sync()
        polled = await poll(client, device)
        first = by_id(await state(client, device))["asset-scep"]["identity"]
        # scepserver issues for a year: 300 days later (past 80%) the next poll asks it again.
        assert (
            await client.post("/emulator/v1/clock", json={"advance_seconds": 300 * 86400})
        ).status_code == 200
        renewal = await poll(client, device)
    assert "scep.PKIOperation" in [s["step"] for s in polled["steps"]]
    assert "scep.PKIOperation" in [s["step"] for s in renewal["steps"]], renewal["steps"]
    held = by_id(await state(client, device))
    assert (held["asset-scep"]["active"], held["asset-scep"]["valid"]) == (True, "valid"), held["asset-scep"]
    kept = held["asset-scep"]["identity"]
    assert kept["subject"] == f"CN={device}" and kept["attested"] is False
    # scepserver refuses a second certificate for the same subject until 14 days before the first
    # expires on its own (real) clock (`-allowrenew`): the device keeps its identity and says why.
    assert kept["serial"] == first["serial"] and kept["renewals"] == 0
    assert kept["renewal_problem"]["code"] == "Error.AssetCannotBeDownloaded"
    assert "refused the request" in kept["renewal_problem"]["details"]["Error"]
    ca = x509.load_pem_x509_certificate(scep.ca_pem)
    x509.load_pem_x509_certificate(kept["certificate_pem"].encode()).verify_directly_issued_by(ca)
    assert held["cfg-scep"]["active"] is True
    wrong = held["asset-scep-wrong"]
    assert (wrong["valid"], codes(wrong)) == ("invalid", ["Error.AssetCannotBeDownloaded"]), wrong
    assert codes(held["cfg-scep-wrong"]) == ["Error.ConfigurationCannotBeApplied"]


async def test_identity_credential_asset_opens_its_pkcs12(
    client: httpx.AsyncClient, device: str, ddm: DdmServer
) -> None:
    """`com.apple.asset.credential.identity`: `{"Password", "Identity": base64 PKCS#12}`; a wrong
    password or data that is not base64 cannot be deserialized."""
    issued = pki.leaf(pki.ca("identity asset CA"), "wifi identity", server=False)
    blob = base64.b64encode(issued.pkcs12("pw")).decode()
    cases = {
        "good": {"Password": "pw", "Identity": blob},
        "wrong-password": {"Password": "nope", "Identity": blob},
        "not-base64": {"Password": "pw", "Identity": "%%%"},
    }
    for name, document in cases.items():
        ddm.files[name] = (json.dumps(document).encode(), "application/json")
        reference = {"DataURL": ddm.file_url(name), "ContentType": "application/json"}
        ddm.put("com.apple.asset.credential.identity", f"asset-{name}", {"Reference": reference})
        ddm.put(IDENTITY, f"cfg-{name}", {"CredentialAssetReference": f"asset-{name}"})
    ddm.put(SIMPLE, "act", {"StandardConfigurations": [f"cfg-{n}" for n in cases]})
    ddm.sync()
    await poll(client, device)
    held = by_id(await state(client, device))
    assert (held["asset-good"]["active"], held["asset-good"]["valid"]) == (True, "valid")
    assert held["asset-good"]["identity"]["subject"] == "CN=wifi identity"
    assert held["cfg-good"]["active"] is True
    for name in ("wrong-password", "not-base64"):
        assert codes(held[f"asset-{name}"]) == ["Error.AssetCannotBeDeserialized"], held[f"asset-{name}"]
        assert codes(held[f"cfg-{name}"]) == ["Error.ConfigurationCannotBeApplied"]
    # A PKCS#12 identity is not renewed: a year later a poll fetches nothing.
    assert (await client.post("/emulator/v1/clock", json={"advance_seconds": 365 * 86400})).status_code == 200
    polled = await poll(client, device)
    assert not [s for s in polled["steps"] if s["step"] in ("ddm.asset", "pkcs12")], polled["steps"]
