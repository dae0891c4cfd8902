"""An ACME identity with Apple attestation (device-2026.md §6): the device obtains its MDM identity
from step-ca v0.30.2 through `device-attest-01`, with an attestation minted by the emulated Apple
CA whose root the control API publishes, then checks in to NanoMDM with it; a tampered
attestation is refused by step-ca and the device says why."""

from __future__ import annotations

import plistlib
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from cryptography import x509
from cryptography.hazmat.primitives import serialization

from tests.dep_helpers import assign, define
from tests.device_acme.step_ca import StepCa, step_ca
from tests.device_ddm.ddm_server import poll
from tests.device_helpers import add_devices
from tests.device_setup.mdm_endpoint import mdm_endpoint
from tests.device_setup.real_servers import NanoMdm, nanomdm

ACME_UUID = "61616161-0000-4000-8000-000000000002"
PEM = serialization.Encoding.PEM


def acme_profile(*, directory_url: str, server_url: str, anchor: bytes | None, **acme: Any) -> bytes:
    """An ADE enrollment profile whose MDM identity is an ACME payload (as Fleet serves them)."""
    payload = {
        "PayloadType": "com.apple.security.acme",
        "PayloadIdentifier": "com.example.acme",
        "PayloadUUID": ACME_UUID,
        "PayloadVersion": 1,
        "DirectoryURL": directory_url,
        "KeySize": 384,
        "KeyType": "ECSECPrimeRandom",
        "HardwareBound": True,
        "Attest": True,
    } | acme
    return plistlib.dumps(
        {
            "PayloadType": "Configuration",
            "PayloadIdentifier": "com.example.enroll.acme",
            "PayloadUUID": "61616161-0000-4000-8000-000000000001",
            "PayloadVersion": 1,
            "PayloadContent": [
                payload,
                *[
                    {
                        "PayloadType": "com.apple.security.root",
                        "PayloadIdentifier": "com.example.acme-root",
                        "PayloadUUID": "61616161-0000-4000-8000-000000000004",
                        "PayloadVersion": 1,
                        "PayloadContent": anchor,
                    }
                ][: 1 if anchor else 0],
                {
                    "PayloadType": "com.apple.mdm",
                    "PayloadIdentifier": "com.example.mdm",
                    "PayloadUUID": "61616161-0000-4000-8000-000000000003",
                    "PayloadVersion": 1,
                    "ServerURL": server_url,
                    "Topic": "com.apple.mgmt.External.acme-test",
                    "IdentityCertificateUUID": ACME_UUID,
                    "SignMessage": True,
                },
            ],
        }
    )


async def activate_and_enroll(
    client: httpx.AsyncClient, mdm: httpx.AsyncClient, serial: str, profile: bytes
) -> dict[str, Any]:
    with mdm_endpoint() as endpoint:
        endpoint.ca_pem = (await client.get("/emulator/v1/device-ca")).content
        endpoint.profile = profile
        profile_uuid = (await define(mdm, url=endpoint.base_url + "/enroll"))["profile_uuid"]
        await assign(mdm, profile_uuid, [serial])
        response = await client.post(f"/emulator/v1/devices/{serial}/activate", json={"enroll": True})
    assert response.status_code == 200, response.text
    enrollment: dict[str, Any] = response.json()["enrollment"]
    return enrollment


@pytest.fixture
async def mac(client: httpx.AsyncClient, org: dict[str, Any], server: dict[str, Any]) -> str:
    return (
        await add_devices(
            client, org_id=org["id"], server_uuid=server["server_uuid"], count=1, families=["Mac"]
        )
    )[0]


@pytest.fixture
async def servers(client: httpx.AsyncClient) -> Iterator[tuple[StepCa, NanoMdm]]:
    root = await client.get("/emulator/v1/attestation-ca")
    assert root.status_code == 200 and root.headers["content-type"] == "application/x-pem-file"
    assert (
        x509.load_pem_x509_certificate(root.content)
        .subject.rfc4514_string()
        .startswith("O=dep-emulator (emulated Apple Inc.),CN=Apple Enterprise Attestation Root CA")
    )
    with step_ca(root.content) as ca:
        trusted = ca.root.cert.public_bytes(PEM) + ca.intermediate.cert.public_bytes(PEM)
        with nanomdm(trusted) as mdm_server:
            yield ca, mdm_server


async def test_acme_identity_with_attestation_then_check_in_with_it(
    client: httpx.AsyncClient, mdm: httpx.AsyncClient, mac: str, servers: tuple[StepCa, NanoMdm]
) -> None:
    ca, nano = servers
    profile = acme_profile(
        directory_url=ca.directory_url,
        server_url=nano.mdm_url,
        anchor=ca.root.der,
        ClientIdentifier=mac,
        Subject=[[["CN", mac]]],
    )
    enrolled = await activate_and_enroll(client, mdm, mac, profile)
    assert enrolled["outcome"] == "enrolled", enrolled
    steps = [s["step"] for s in enrolled["steps"]]
    acme = [s for s in steps[steps.index("profile.install") + 1 :] if s != "acme.order"]  # order polls
    assert acme == [
        "acme.directory",
        "acme.newNonce",
        "acme.newAccount",
        "acme.newOrder",
        "acme.authorization",
        "acme.challenge",
        "acme.finalize",
        "acme.certificate",
        "acme",
        "checkin.Authenticate",
        "checkin.TokenUpdate",
    ], steps
    assert enrolled["identity_issuer"] == "CN=step-ca test intermediate"
    assert enrolled["identity_subject"] == f"CN={mac}"
    sent_order = next(s for s in enrolled["steps"] if s["step"] == "acme.newOrder")["sent"]
    assert f'"value": "{mac}"' in sent_order and "permanent-identifier" in sent_order

    # NanoMDM (trusting step-ca) accepts the ACME identity's Mdm-Signature on commands too.
    udid = (await client.get(f"/emulator/v1/devices/{mac}/mdm")).json()["udid"]
    nano.enqueue(udid, "ProfileList")
    polled = await poll(client, mac)
    assert polled["outcome"] == "idle" and polled["commands"] == 1, polled


@pytest.mark.parametrize(
    ("tamper", "said"),
    [
        ("wrong_freshness", "challenge token does not match"),
        ("identifier_mismatch", "permanent identifier does not match"),
        ("unknown_root", "x5c is not valid"),
        ("expired", "x5c is not valid"),
        ("other_key", "refused acme.finalize: urn:ietf:params:acme:error:unauthorized"),  # step-ca hides why
        ("error_payload", "refused the attestation: urn:ietf:params:acme:error:rejectedIdentifier"),
    ],
)
async def test_a_tampered_attestation_is_refused_and_the_device_says_why(
    client: httpx.AsyncClient,
    mdm: httpx.AsyncClient,
    mac: str,
    servers: tuple[StepCa, NanoMdm],
    tamper: str,
    said: str,
) -> None:
    ca, nano = servers
    response = await client.put(f"/emulator/v1/devices/{mac}/attestation", json={"tamper": tamper})
    assert response.status_code == 200 and response.json()["tamper"] == tamper
    profile = acme_profile(
        directory_url=ca.directory_url,
        server_url=nano.mdm_url,
        anchor=ca.root.der,
        ClientIdentifier=mac,
        Subject=[[["CN", mac]]],
    )
    enrolled = await activate_and_enroll(client, mdm, mac, profile)
    assert enrolled["outcome"] == "failed"
    assert said in enrolled["failure"], enrolled["failure"]
    last = enrolled["steps"][-1]
    assert last["step"] in ("acme.challenge", "acme.finalize") and last["ok"] is False
    assert (await client.get(f"/emulator/v1/devices/{mac}/mdm")).status_code == 409  # not enrolled


async def test_attest_on_hardware_without_attestation(
    client: httpx.AsyncClient,
    mdm: httpx.AsyncClient,
    org: dict[str, Any],
    server: dict[str, Any],
    servers: tuple[StepCa, NanoMdm],
) -> None:
    """An iPod touch (A10): Attest is ignored, so it cannot answer device-attest-01 (§6.1)."""
    ca, nano = servers
    ipod = (
        await add_devices(
            client, org_id=org["id"], server_uuid=server["server_uuid"], count=1, families=["iPod"]
        )
    )[0]
    profile = acme_profile(
        directory_url=ca.directory_url, server_url=nano.mdm_url, anchor=ca.root.der, ClientIdentifier=ipod
    )
    enrolled = await activate_and_enroll(client, mdm, ipod, profile)
    assert enrolled["outcome"] == "failed" and "rejectedIdentifier" in enrolled["failure"]
    sent = [s.get("sent") or "" for s in enrolled["steps"] if s["step"] == "acme.challenge"]
    assert any(
        '"error": "attestation was not requested or is not supported on this device"' in s for s in sent
    )


async def test_attest_without_hardware_bound_is_refused_before_any_request(
    client: httpx.AsyncClient, mdm: httpx.AsyncClient, mac: str
) -> None:
    profile = acme_profile(
        directory_url="https://127.0.0.1:9/acme/attest/directory",
        server_url="https://127.0.0.1:9/mdm",
        anchor=None,
        ClientIdentifier=mac,
        HardwareBound=False,
    )
    enrolled = await activate_and_enroll(client, mdm, mac, profile)
    assert (enrolled["outcome"], enrolled["failure"]) == ("failed", "Attest requires HardwareBound")
    assert enrolled["steps"][-1]["step"] == "acme.payload"
