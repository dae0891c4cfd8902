"""What DevicePropertiesAttestation carries (device-2026.md §7: some devices answer with OIDs
missing, values blank or nothing): a device switch and an org setting, the device's winning."""

from __future__ import annotations

import os
from typing import Any

import httpx
from cryptography import x509

from tests.device_acme.test_properties_attestation import FRESHNESS, SERIAL, ask, leaf_of
from tests.device_ddm.ddm_server import DdmServer

SEPOS = x509.ObjectIdentifier("1.2.840.113635.100.8.10.2")
UDID = x509.ObjectIdentifier("1.2.840.113635.100.8.9.2")


def oids(result: dict[str, Any]) -> dict[x509.ObjectIdentifier, bytes]:
    found = {}
    for ext in leaf_of(result).extensions:
        if isinstance(ext.value, x509.UnrecognizedExtension):
            found[ext.oid] = ext.value.value
    return found


async def switch(client: httpx.AsyncClient, serial: str, **body: Any) -> dict[str, Any]:
    response = await client.put(f"/emulator/v1/devices/{serial}/attestation", json=body)
    assert response.status_code == 200, response.text
    answer: dict[str, Any] = response.json()
    return answer


async def test_partial_blank_and_omitted_attestations(
    client: httpx.AsyncClient, device: str, ddm: DdmServer, org: dict[str, Any]
) -> None:
    shown = (await client.get(f"/emulator/v1/devices/{device}/attestation")).json()
    assert (shown["properties"], shown["properties_set"]) == ("full", False)

    # The org's setting: partial (only the sepOS version and the freshness code).
    patched = await client.patch(
        f"/emulator/v1/orgs/{org['id']}/settings", json={"device_properties_attestation": "partial"}
    )
    assert patched.status_code == 200, patched.text
    assert (await client.get(f"/emulator/v1/devices/{device}/attestation")).json()["properties"] == "partial"
    nonce = os.urandom(32)
    partial = oids(await ask(client, device, ddm, DeviceAttestationNonce=nonce))
    assert set(partial) == {SEPOS, FRESHNESS} and partial[FRESHNESS] == nonce

    # The device's switch wins over the org's: blank values (a new attestation: 8 days later).
    assert (await switch(client, device, properties="blank"))["properties_set"] is True
    assert (await client.post("/emulator/v1/clock", json={"advance_seconds": 8 * 86400})).status_code == 200
    nonce = os.urandom(32)
    blank = oids(await ask(client, device, ddm, DeviceAttestationNonce=nonce))
    assert SERIAL in blank and UDID in blank and blank[SERIAL] == b"" and blank[UDID] == b""
    assert blank[FRESHNESS] == nonce

    # omitted: the key is left out of QueryResponses, the other answers stay.
    await switch(client, device, properties="omitted")
    result = await ask(client, device, ddm, DeviceAttestationNonce=os.urandom(32))
    assert result["Status"] == "Acknowledged"
    assert "DevicePropertiesAttestation" not in result["QueryResponses"]
    assert result["QueryResponses"]["SerialNumber"] == device

    # Back to the org's setting; tamper is left as it was by a body without it.
    back = await switch(client, device, properties=None)
    assert (back["properties"], back["properties_set"], back["tamper"]) == ("partial", False, None)
    refused = await client.put(f"/emulator/v1/devices/{device}/attestation", json={"properties": "some"})
    assert refused.status_code == 422
