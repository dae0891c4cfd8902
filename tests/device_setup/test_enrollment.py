"""The device enrolls and is managed: against micromdm/scep's scepserver and NanoMDM (issue 16).

The test's MDM endpoint serves the enrollment profile (SCEP payload pointing at scepserver,
com.apple.mdm at NanoMDM with SignMessage); NanoMDM verifies every Mdm-Signature against the
SCEP CA, queues commands through its API and reports what it received to our webhook.
"""

from __future__ import annotations

import base64
import plistlib
from typing import Any

import asyncpg
import httpx
import pytest
from cryptography import x509

from tests.conftest import snapshot
from tests.dep_helpers import assign, define
from tests.device_helpers import add_devices
from tests.device_setup.mdm_endpoint import MdmEndpoint, scep_enrollment_profile, sign_profile
from tests.device_setup.real_servers import NanoMdm, ScepServer, nanomdm


@pytest.fixture
async def iphone(client: httpx.AsyncClient, org: dict[str, Any], server: dict[str, Any]) -> str:
    serials = await add_devices(
        client, org_id=org["id"], server_uuid=server["server_uuid"], count=1, families=["iPhone"]
    )
    return serials[0]


async def _assigned(
    client: httpx.AsyncClient, mdm: httpx.AsyncClient, endpoint: MdmEndpoint, serial: str, **profile: Any
) -> None:
    """The device assigned a DEP profile whose URL is the endpoint, the endpoint trusting the device CA."""
    endpoint.ca_pem = (await client.get("/emulator/v1/device-ca")).content
    uuid = (await define(mdm, url=endpoint.base_url + "/enroll", **profile))["profile_uuid"]
    await assign(mdm, uuid, [serial])


async def _post(client: httpx.AsyncClient, path: str, **body: Any) -> dict[str, Any]:
    response = await client.post(path, json=body or None)
    assert response.status_code == 200, response.text
    data: dict[str, Any] = response.json()
    return data


def _sent(step: dict[str, Any]) -> dict[str, Any]:
    sent: dict[str, Any] = plistlib.loads(step["sent"].encode())
    return sent


async def _poll(client: httpx.AsyncClient, serial: str) -> dict[str, Any]:
    return await _post(client, f"/emulator/v1/devices/{serial}/mdm/poll")


async def test_the_whole_flow_against_scepserver_and_nanomdm(
    client: httpx.AsyncClient,
    mdm: httpx.AsyncClient,
    pg: asyncpg.Connection,
    iphone: str,
    endpoint: MdmEndpoint,
    scep: ScepServer,
    nano: NanoMdm,
) -> None:
    endpoint.profile = sign_profile(
        scep_enrollment_profile(scep_url=scep.url, challenge=scep.challenge, server_url=nano.mdm_url)
    )
    await _assigned(
        client,
        mdm,
        endpoint,
        iphone,
        is_supervised=True,
        is_mdm_removable=False,
        await_device_configured=True,
    )
    result = await _post(client, f"/emulator/v1/devices/{iphone}/activate", contact_mdm=True, enroll=True)
    enrollment = result["enrollment"]
    assert enrollment["outcome"] == "enrolled", enrollment
    assert [(s["step"], s["ok"]) for s in enrollment["steps"]] == [
        ("profile.fetch", True),
        ("profile.install", True),
        ("scep.GetCACaps", True),
        ("scep.GetCACert", True),
        ("scep.PKIOperation", True),
        ("checkin.Authenticate", True),
        ("checkin.TokenUpdate", True),
    ]
    # The profile's signature was checked and its signer reported.
    assert enrollment["profile"] == {
        "signed": True,
        "signer": "CN=MDM profile signing",
        "signature_valid": True,
        "payload_identifier": "com.example.mdm.enroll",
    }
    # The identity was issued by scepserver's CA, for the payload's Subject.
    ca = x509.load_pem_x509_certificate(scep.ca_pem)
    assert enrollment["identity_issuer"] == ca.subject.rfc4514_string()
    assert enrollment["identity_subject"] == "CN=MDM Identity,O=Example MDM"
    assert enrollment["awaiting_configuration"] is True

    # NanoMDM accepted Authenticate and TokenUpdate (its webhook says what it stored).
    hooks = await endpoint.webhooks_until(lambda hooks: len(hooks) >= 2)
    checkins = [w for w in hooks if w["topic"] in ("mdm.Authenticate", "mdm.TokenUpdate")]
    assert [w["topic"] for w in checkins] == ["mdm.Authenticate", "mdm.TokenUpdate"]
    token_update = plistlib.loads(base64.b64decode(checkins[1]["checkin_event"]["raw_payload"]))
    state = (await client.get(f"/emulator/v1/devices/{iphone}/mdm")).json()
    udid = state["udid"]
    assert token_update["UDID"] == udid and token_update["AwaitingConfiguration"] is True
    assert token_update["Topic"].startswith("com.apple.mgmt.External.")
    assert len(token_update["Token"]) == 32 and token_update["PushMagic"] and token_update["UnlockToken"]
    assert state["awaiting_configuration"] is True and state["sign_message"] is True
    assert [p["PayloadIdentifier"] for p in state["profiles"]] == ["com.example.mdm.enroll"]

    # A queued DeviceInformation is answered with the device's real attributes.
    details = (await mdm.post("/devices", json={"devices": [iphone]})).json()["devices"][iphone]
    queries = ["UDID", "SerialNumber", "Model", "ModelName", "ProductName", "IMEI", "IsSupervised", "Nope"]
    info_uuid = nano.enqueue(udid, "DeviceInformation", Queries=queries)
    polled = await _poll(client, iphone)
    assert (polled["outcome"], polled["commands"]) == ("idle", 1)
    assert [s["step"] for s in polled["steps"]] == ["connect.Idle", "command.DeviceInformation"]
    answered = _sent(polled["steps"][1])
    assert (answered["CommandUUID"], answered["Status"]) == (info_uuid, "Acknowledged")
    responses = answered["QueryResponses"]
    assert (responses["SerialNumber"], responses["UDID"], responses["ModelName"]) == (
        iphone,
        udid,
        details["model"],
    )
    assert responses["ProductName"].startswith("iPhone") and responses["Model"].endswith("LL/A")
    assert responses["IsSupervised"] is True and responses["IMEI"] and "Nope" not in responses

    def info_acknowledged(hooks: list[dict[str, Any]]) -> bool:
        acks = [w["acknowledge_event"] for w in hooks if w["topic"] == "mdm.Connect"]
        return any(a.get("command_uuid") == info_uuid and a["status"] == "Acknowledged" for a in acks)

    assert info_acknowledged(await endpoint.webhooks_until(info_acknowledged))

    # InstallProfile, then ProfileList shows it (and the device keeps it).
    wifi = {
        "PayloadType": "Configuration",
        "PayloadIdentifier": "com.example.wifi",
        "PayloadUUID": "11111111-0000-4000-8000-000000000001",
        "PayloadDisplayName": "Office Wi-Fi",
        "PayloadVersion": 1,
        "PayloadContent": [
            {
                "PayloadType": "com.apple.wifi.managed",
                "PayloadIdentifier": "com.example.wifi.payload",
                "PayloadUUID": "11111111-0000-4000-8000-000000000002",
                "PayloadVersion": 1,
                "SSID_STR": "Office",
            }
        ],
    }
    nano.enqueue(udid, "InstallProfile", Payload=plistlib.dumps(wifi))
    nano.enqueue(udid, "ProfileList")
    polled = await _poll(client, iphone)
    assert [s["step"] for s in polled["steps"]] == [
        "connect.Idle",
        "command.InstallProfile",
        "command.ProfileList",
    ]
    assert _sent(polled["steps"][1])["Status"] == "Acknowledged"
    listed = _sent(polled["steps"][2])["ProfileList"]
    assert [p["PayloadIdentifier"] for p in listed] == ["com.example.mdm.enroll", "com.example.wifi"]
    assert listed[1]["PayloadDisplayName"] == "Office Wi-Fi"
    assert listed[1]["PayloadContent"][0]["PayloadType"] == "com.apple.wifi.managed"
    state = (await client.get(f"/emulator/v1/devices/{iphone}/mdm")).json()
    assert [p["PayloadIdentifier"] for p in state["profiles"]] == [
        "com.example.mdm.enroll",
        "com.example.wifi",
    ]

    # An unknown command gets Error with an ErrorChain; DeviceConfigured ends Await Configuration.
    nano.enqueue(udid, "SomethingNew")
    nano.enqueue(udid, "DeviceConfigured")
    polled = await _poll(client, iphone)
    unknown, configured = _sent(polled["steps"][1]), _sent(polled["steps"][2])
    assert unknown["Status"] == "Error"
    assert unknown["ErrorChain"][0]["ErrorDomain"] == "MCMDMErrorDomain"
    assert "SomethingNew" in unknown["ErrorChain"][0]["USEnglishDescription"]
    assert configured["Status"] == "Acknowledged"
    state = (await client.get(f"/emulator/v1/devices/{iphone}/mdm")).json()
    assert state["awaiting_configuration"] is False

    # Every exchange is recorded, in order, and kept.
    log = (await client.get(f"/emulator/v1/devices/{iphone}/mdm/exchanges")).json()["exchanges"]
    steps = [e["step"] for e in log]
    assert steps[:7] == [s["step"] for s in enrollment["steps"]]
    assert steps.count("connect.Idle") == 3 and "command.DeviceConfigured" in steps

    # EraseDevice: acknowledged, then the device is back to before activation.
    nano.enqueue(udid, "EraseDevice", PIN="123456")
    polled = await _poll(client, iphone)
    assert polled["outcome"] == "erased" and _sent(polled["steps"][-1])["Status"] == "Acknowledged"
    response = await client.get(f"/emulator/v1/devices/{iphone}/mdm")
    assert response.status_code == 409 and response.json()["error"]["code"] == "not_enrolled"
    assert await pg.fetchval("SELECT count(*) FROM device_setup") == 0
    again = await _post(client, f"/emulator/v1/devices/{iphone}/activate")
    assert again["outcome"] == "downloaded"  # it picks up its cloud configuration again


async def test_a_profile_without_an_mdm_payload(
    client: httpx.AsyncClient,
    mdm: httpx.AsyncClient,
    pg: asyncpg.Connection,
    iphone: str,
    endpoint: MdmEndpoint,
) -> None:
    endpoint.profile = sign_profile(
        scep_enrollment_profile(
            scep_url="http://127.0.0.1:1/scep",
            challenge="x",
            server_url="http://127.0.0.1:1/mdm",
            mdm_payload=False,
        )
    )
    await _assigned(client, mdm, endpoint, iphone)
    await _post(client, f"/emulator/v1/devices/{iphone}/activate")
    before = await snapshot(pg)
    result = await _post(client, f"/emulator/v1/devices/{iphone}/enroll")
    assert result["outcome"] == "failed"
    assert result["failure"] == "the profile has no com.apple.mdm payload: there is nothing to enroll with"
    assert [(s["step"], s["ok"]) for s in result["steps"]] == [
        ("profile.fetch", True),
        ("profile.install", False),
    ]
    assert await snapshot(pg) == before
    assert (await client.get(f"/emulator/v1/devices/{iphone}/mdm")).status_code == 409


async def test_scep_refusing_the_challenge(
    client: httpx.AsyncClient,
    mdm: httpx.AsyncClient,
    pg: asyncpg.Connection,
    iphone: str,
    endpoint: MdmEndpoint,
    scep: ScepServer,
) -> None:
    endpoint.profile = sign_profile(
        scep_enrollment_profile(
            scep_url=scep.url, challenge="not the secret", server_url="http://127.0.0.1:1/mdm"
        )
    )
    await _assigned(client, mdm, endpoint, iphone)
    await _post(client, f"/emulator/v1/devices/{iphone}/activate")
    before = await snapshot(pg)
    result = await _post(client, f"/emulator/v1/devices/{iphone}/enroll")
    assert result["outcome"] == "failed"
    assert result["failure"].startswith("the SCEP server refused the request: badRequest")
    assert result["steps"][-1]["step"] == "scep.PKIOperation" and result["steps"][-1]["ok"] is False
    assert await snapshot(pg) == before


async def test_a_check_in_that_answers_401(
    client: httpx.AsyncClient,
    mdm: httpx.AsyncClient,
    pg: asyncpg.Connection,
    iphone: str,
    endpoint: MdmEndpoint,
    scep: ScepServer,
) -> None:
    endpoint.profile = sign_profile(
        scep_enrollment_profile(
            scep_url=scep.url, challenge=scep.challenge, server_url=endpoint.base_url + "/unauthorized"
        )
    )
    await _assigned(client, mdm, endpoint, iphone)
    await _post(client, f"/emulator/v1/devices/{iphone}/activate")
    before = await snapshot(pg)
    result = await _post(client, f"/emulator/v1/devices/{iphone}/enroll")
    assert result["outcome"] == "failed"
    assert result["failure"] == "the MDM answered 401 Unauthorized: it does not accept the device's identity"
    assert (result["steps"][-1]["step"], result["steps"][-1]["status"]) == ("checkin.Authenticate", 401)
    assert [(path, message["MessageType"]) for path, message in endpoint.puts] == [
        ("/unauthorized", "Authenticate")
    ]
    assert await snapshot(pg) == before


async def test_nanomdm_refusing_an_identity_from_another_ca(
    client: httpx.AsyncClient,
    mdm: httpx.AsyncClient,
    pg: asyncpg.Connection,
    iphone: str,
    endpoint: MdmEndpoint,
    scep: ScepServer,
) -> None:
    """NanoMDM trusting another CA than the one that issued the identity refuses the check-in
    (with 400, deliberately not 401: a 401 would unenroll a device)."""
    other_ca = (await client.get("/emulator/v1/device-ca")).content
    with nanomdm(other_ca) as distrustful:
        endpoint.profile = sign_profile(
            scep_enrollment_profile(
                scep_url=scep.url, challenge=scep.challenge, server_url=distrustful.mdm_url
            )
        )
        await _assigned(client, mdm, endpoint, iphone)
        await _post(client, f"/emulator/v1/devices/{iphone}/activate")
        before = await snapshot(pg)
        result = await _post(client, f"/emulator/v1/devices/{iphone}/enroll")
    assert result["outcome"] == "failed"
    assert result["failure"] == "the MDM answered HTTP 400: Bad Request"
    assert (result["steps"][-1]["step"], result["steps"][-1]["status"]) == ("checkin.Authenticate", 400)
    assert await snapshot(pg) == before


async def test_a_command_that_is_not_a_plist(
    client: httpx.AsyncClient,
    mdm: httpx.AsyncClient,
    pg: asyncpg.Connection,
    iphone: str,
    endpoint: MdmEndpoint,
    scep: ScepServer,
) -> None:
    garbage = endpoint.base_url + "/garbage"
    endpoint.profile = sign_profile(
        scep_enrollment_profile(scep_url=scep.url, challenge=scep.challenge, server_url=garbage)
    )
    await _assigned(client, mdm, endpoint, iphone, is_supervised=True, await_device_configured=True)
    result = await _post(client, f"/emulator/v1/devices/{iphone}/activate", enroll=True)
    assert result["enrollment"]["outcome"] == "enrolled", result["enrollment"]
    before = await snapshot(pg)
    polled = await _poll(client, iphone)
    assert polled["outcome"] == "stopped" and polled["commands"] == 0
    assert (
        polled["problem"]
        == "the MDM answered with something that is not a property list; the device ignored it"
    )
    assert polled["steps"][0]["ok"] is False
    assert await snapshot(pg) == before
    # ... and the device still answers the next poll (its lease was freed).
    assert (await _poll(client, iphone))["outcome"] == "stopped"
