"""`DevicePropertiesAttestation` in `DeviceInformation` (device-2026.md §7): a chain from the
emulated Apple CA (its root from the control API), freshness = the nonce as sent, the cache
(no nonce or the same nonce: cached; a new nonce: new at most once per 7 days of emulator time),
omitted on hardware that cannot attest."""

from __future__ import annotations

import os
from typing import Any

import httpx
from cryptography import x509
from cryptography.hazmat.primitives.asymmetric import ec

from tests.device_ddm.ddm_server import DdmServer, enroll, pkcs12_profile, poll
from tests.device_helpers import add_devices
from tests.device_setup import pki

FRESHNESS = x509.ObjectIdentifier("1.2.840.113635.100.8.11.1")
SERIAL = x509.ObjectIdentifier("1.2.840.113635.100.8.9.1")


async def ask(client: httpx.AsyncClient, serial: str, ddm: DdmServer, **fields: Any) -> dict[str, Any]:
    command_uuid = os.urandom(8).hex()
    body = {"RequestType": "DeviceInformation", "Queries": ["DevicePropertiesAttestation", "SerialNumber"]}
    ddm.commands.append({"CommandUUID": command_uuid, "Command": body | fields})
    await poll(client, serial)
    return ddm.results[command_uuid]


def leaf_of(result: dict[str, Any]) -> x509.Certificate:
    return x509.load_der_x509_certificate(result["QueryResponses"]["DevicePropertiesAttestation"][0])


def freshness(result: dict[str, Any]) -> bytes:
    ext = leaf_of(result).extensions.get_extension_for_oid(FRESHNESS).value
    assert isinstance(ext, x509.UnrecognizedExtension)
    return ext.value


async def test_properties_attestation_and_its_cache(
    client: httpx.AsyncClient, device: str, ddm: DdmServer
) -> None:
    first_nonce = os.urandom(32)
    first = await ask(client, device, ddm, DeviceAttestationNonce=first_nonce)
    chain = [
        x509.load_der_x509_certificate(c) for c in first["QueryResponses"]["DevicePropertiesAttestation"]
    ]
    assert len(chain) == 2  # leaf and sub CA; the root is not included
    root = x509.load_pem_x509_certificate((await client.get("/emulator/v1/attestation-ca")).content)
    chain[0].verify_directly_issued_by(chain[1])
    chain[1].verify_directly_issued_by(root)
    assert (
        isinstance(root.public_key(), ec.EllipticCurvePublicKey)
        and root.public_key().curve.name == "secp384r1"
    )
    assert freshness(first) == first_nonce  # the nonce as sent, not hashed
    serial_ext = chain[0].extensions.get_extension_for_oid(SERIAL).value
    assert isinstance(serial_ext, x509.UnrecognizedExtension) and serial_ext.value == device.encode()

    # No nonce, or the same nonce: the cached attestation.
    assert leaf_of(await ask(client, device, ddm)) == chain[0]
    assert leaf_of(await ask(client, device, ddm, DeviceAttestationNonce=first_nonce)) == chain[0]
    # A new nonce within 7 days: still the cached one, its freshness not matching.
    second_nonce = os.urandom(16)
    assert freshness(await ask(client, device, ddm, DeviceAttestationNonce=second_nonce)) == first_nonce
    # Eight days later on the emulator clock: a new attestation for the new nonce.
    assert (await client.post("/emulator/v1/clock", json={"advance_seconds": 8 * 86400})).status_code == 200
    renewed = await ask(client, device, ddm, DeviceAttestationNonce=second_nonce)
    assert freshness(renewed) == second_nonce and leaf_of(renewed) != chain[0]

    # A nonce longer than 32 bytes: the command fails.
    refused = await ask(client, device, ddm, DeviceAttestationNonce=os.urandom(33))
    assert refused["Status"] == "Error" and "32 bytes" in refused["ErrorChain"][0]["USEnglishDescription"]


async def test_hardware_that_cannot_attest_omits_the_key(
    client: httpx.AsyncClient,
    mdm: httpx.AsyncClient,
    org: dict[str, Any],
    server: dict[str, Any],
    ddm: DdmServer,
) -> None:
    serial = (
        await add_devices(
            client, org_id=org["id"], server_uuid=server["server_uuid"], count=1, families=["iPod"]
        )
    )[0]
    identity = pki.leaf(pki.ca("DDM test CA"), "ipod", server=False)
    await enroll(client, mdm, serial, profile=pkcs12_profile(identity, server_url=ddm.base_url + "/mdm"))
    result = await ask(client, serial, ddm, DeviceAttestationNonce=b"n")
    assert result["Status"] == "Acknowledged"
    assert (
        "DevicePropertiesAttestation" not in result["QueryResponses"]
        and result["QueryResponses"]["SerialNumber"]
    )
