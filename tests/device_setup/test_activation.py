"""The device's side: activation in Setup Assistant, the first MDM request, erase (scenario 15)."""

from __future__ import annotations

from typing import Any

import asyncpg
import httpx
import pytest
from cryptography import x509

from tests.conftest import raw_dsn
from tests.dep_helpers import assign, define, device_row, events
from tests.device_helpers import add_devices
from tests.device_setup.mdm_endpoint import ASPEN, MdmEndpoint


@pytest.fixture
async def iphone(client: httpx.AsyncClient, org: dict[str, Any], server: dict[str, Any]) -> str:
    serials = await add_devices(
        client, org_id=org["id"], server_uuid=server["server_uuid"], count=1, families=["iPhone"]
    )
    return serials[0]


async def activate(client: httpx.AsyncClient, serial: str, **body: Any) -> dict[str, Any]:
    response = await client.post(f"/emulator/v1/devices/{serial}/activate", json=body)
    assert response.status_code == 200, response.text
    data: dict[str, Any] = response.json()
    return data


async def trust_device_ca(client: httpx.AsyncClient, endpoint: MdmEndpoint) -> None:
    response = await client.get("/emulator/v1/device-ca")
    assert response.status_code == 200
    assert response.headers["content-type"] == "application/x-pem-file"
    endpoint.ca_pem = response.content


async def test_device_ca_is_a_stable_ca(client: httpx.AsyncClient, pg: asyncpg.Connection) -> None:
    first = (await client.get("/emulator/v1/device-ca")).content
    cert = x509.load_pem_x509_certificate(first)
    assert cert.extensions.get_extension_for_class(x509.BasicConstraints).value.ca is True
    assert (await client.get("/emulator/v1/device-ca")).content == first
    # Kept in the database, so every replica signs with it.
    assert (await pg.fetchval("SELECT certificate_pem FROM device_ca")).encode() == first


async def test_without_a_profile(client: httpx.AsyncClient, pg: asyncpg.Connection, iphone: str) -> None:
    result = await activate(client, iphone, contact_mdm=True)
    assert result == {
        "serial_number": iphone,
        "outcome": "no_profile",
        "profile_status": "empty",
    }
    assert [e["op_type"] for e in await events(pg, iphone)] == ["added"]


async def test_round_trip(
    client: httpx.AsyncClient,
    mdm: httpx.AsyncClient,
    pg: asyncpg.Connection,
    org: dict[str, Any],
    iphone: str,
    endpoint: MdmEndpoint,
) -> None:
    await trust_device_ca(client, endpoint)
    profile = {
        "url": endpoint.base_url + "/enroll",
        "is_supervised": True,
        "is_mdm_removable": False,
        "await_device_configured": True,
        "department": "IT",
        "support_phone_number": "+1 555 0100",
        "support_email_address": "it@example.org",
        "skip_setup_items": ["Siri"],
        "language": "fr",
        "region": "FR",
    }
    uuid = (await define(mdm, **profile))["profile_uuid"]
    await assign(mdm, uuid, [iphone])
    result = await activate(client, iphone, contact_mdm=True)

    assert (result["outcome"], result["profile_status"], result["profile_uuid"]) == (
        "downloaded",
        "pushed",
        uuid,
    )
    assert result["profile"]["org_name"] == org["name"]
    assert result["profile"]["url"] == profile["url"]
    config = result["cloud_configuration"]
    assert config["ConfigurationURL"] == profile["url"]
    assert (config["IsSupervised"], config["IsMDMUnremovable"], config["AwaitDeviceConfigured"]) == (
        True,
        True,
        True,
    )
    assert (config["OrganizationName"], config["OrganizationDepartment"]) == (org["name"], "IT")
    assert (config["OrganizationSupportPhone"], config["OrganizationSupportEmail"]) == (
        "+1 555 0100",
        "it@example.org",
    )
    assert (config["SkipSetup"], config["Language"], config["Region"]) == (["Siri"], "fr", "FR")
    assert config["AnchorCertificates"] == [] and config["AllowPairing"] is True

    # Apple's record: pushed, with the push time, and a modified event carrying it.
    row = await device_row(pg, iphone)
    assert row["profile_status"] == "pushed" and row["profile_push_time"] is not None
    last = (await events(pg, iphone))[-1]
    assert (last["op_type"], last["snapshot"]["profile_status"]) == ("modified", "pushed")
    assert last["snapshot"]["profile_push_time"]
    details = (await mdm.post("/devices", json={"devices": [iphone]})).json()["devices"][iphone]
    assert details["profile_status"] == "pushed" and details["profile_push_time"]

    # The MDM got a machine-info plist signed by a device identity from the emulator's CA.
    [received] = endpoint.requests
    assert (received.method, received.path, received.verified) == ("POST", "/enroll", True)
    assert received.headers["content-type"] == "application/pkcs7-signature"
    info = received.machine_info
    assert info is not None
    assert info["SERIAL"] == iphone and info["LANGUAGE"] == "fr"
    assert info["PRODUCT"].startswith("iPhone") and info["VERSION"] and info["OS_VERSION"]
    assert info["IMEI"] and info["UDID"]
    assert received.signer_subject is not None and info["UDID"] in received.signer_subject
    # ... and what the MDM answered.
    assert result["mdm"] == {
        "method": "POST",
        "url": profile["url"],
        "status": 200,
        "content_type": ASPEN,
        "enrollment_profile": {
            "signed": True,
            "payload_identifier": "com.example.mdm.enroll",
            "payload_types": ["com.apple.security.scep", "com.apple.mdm"],
            "server_url": "https://mdm.example.org/mdm",
            "check_in_url": "https://mdm.example.org/mdm/checkin",
            "topic": "com.apple.mgmt.External.x",
        },
    }
    # The same device always reports the same UDID.
    await activate(client, iphone, contact_mdm=True)
    assert endpoint.requests[1].machine_info is not None
    assert endpoint.requests[1].machine_info["UDID"] == info["UDID"]


async def test_configuration_web_url(
    client: httpx.AsyncClient, mdm: httpx.AsyncClient, iphone: str, endpoint: MdmEndpoint
) -> None:
    await trust_device_ca(client, endpoint)
    uuid = (
        await define(mdm, url=endpoint.base_url + "/enroll", configuration_web_url=endpoint.base_url + "/web")
    )["profile_uuid"]
    await assign(mdm, uuid, [iphone])
    result = await activate(client, iphone, contact_mdm=True)
    assert result["cloud_configuration"]["ConfigurationWebURL"] == endpoint.base_url + "/web"
    assert result["mdm"]["method"] == "GET" and result["mdm"]["status"] == 200
    assert result["mdm"]["content_type"].startswith("text/html")
    assert "enrollment_profile" not in result["mdm"]
    [received] = endpoint.requests
    assert (received.method, received.path, received.verified) == ("GET", "/web", True)
    assert received.machine_info is not None and received.machine_info["SERIAL"] == iphone


async def test_installed_configuration_survives_new_assignments_until_erase(
    client: httpx.AsyncClient, mdm: httpx.AsyncClient, pg: asyncpg.Connection, iphone: str
) -> None:
    first = (await define(mdm))["profile_uuid"]
    second = (await define(mdm, profile_name="Second", url="https://mdm2.example.org/enroll"))["profile_uuid"]
    await assign(mdm, first, [iphone])
    assert (await activate(client, iphone))["outcome"] == "downloaded"
    await assign(mdm, second, [iphone])
    assert (await device_row(pg, iphone))["profile_status"] == "assigned"  # Apple's record moved on
    again = await activate(client, iphone)
    assert (again["outcome"], again["profile_uuid"]) == ("already_configured", first)
    assert again["cloud_configuration"]["ConfigurationURL"] == "https://mdm.example.org/enroll"
    assert again["profile_status"] == "assigned"

    erased = await client.post(f"/emulator/v1/devices/{iphone}/erase")
    assert erased.json() == {"serial_number": iphone, "had_configuration": True, "was_enrolled": False}
    fresh = await activate(client, iphone)
    assert (fresh["outcome"], fresh["profile_uuid"], fresh["profile_status"]) == (
        "downloaded",
        second,
        "pushed",
    )
    assert fresh["cloud_configuration"]["ConfigurationURL"] == "https://mdm2.example.org/enroll"
    assert (await client.post(f"/emulator/v1/devices/{iphone}/erase")).json()["had_configuration"] is True
    assert (await client.post(f"/emulator/v1/devices/{iphone}/erase")).json()["had_configuration"] is False
    # Erased after the push: Apple still hands out the pushed profile.
    assert (await activate(client, iphone))["outcome"] == "downloaded"


async def test_removed_profile_is_not_handed_out(
    client: httpx.AsyncClient, mdm: httpx.AsyncClient, iphone: str
) -> None:
    uuid = (await define(mdm))["profile_uuid"]
    await assign(mdm, uuid, [iphone])
    await mdm.request("DELETE", "/profile/devices", json={"devices": [iphone]})
    result = await activate(client, iphone)
    assert (result["outcome"], result["profile_status"]) == ("no_profile", "removed")


async def test_mdm_errors_are_reported(
    client: httpx.AsyncClient, mdm: httpx.AsyncClient, iphone: str, endpoint: MdmEndpoint
) -> None:
    from dep_emulator.testing.server import free_port

    cases = [
        (endpoint.base_url + "/broken", {"status": 500, "content_type": "text/plain; charset=utf-8"}),
        (endpoint.base_url + "/enroll", {"status": 403}),  # CA not trusted by the endpoint: refused
        (f"http://127.0.0.1:{free_port()}/enroll", {"error": True}),
        ("https://127.0.0.1:1/enroll", {"error": True}),
    ]
    for url, expected in cases:
        await client.post(f"/emulator/v1/devices/{iphone}/erase")
        uuid = (await define(mdm, url=url))["profile_uuid"]
        await assign(mdm, uuid, [iphone])
        result = (await activate(client, iphone, contact_mdm=True))["mdm"]
        assert result["url"] == url
        if expected.get("error"):
            assert result["error"] and "status" not in result
        else:
            assert result["status"] == expected["status"]
            assert "enrollment_profile" not in result
            if "content_type" in expected:
                assert result["content_type"] == expected["content_type"]


async def test_bad_anchor_certificate_is_reported(
    client: httpx.AsyncClient, mdm: httpx.AsyncClient, iphone: str
) -> None:
    uuid = (await define(mdm, url="https://mdm.example.org/enroll", anchor_certs=["bm90IGEgY2VydA=="]))[
        "profile_uuid"
    ]
    await assign(mdm, uuid, [iphone])
    result = await activate(client, iphone, contact_mdm=True)
    assert result["mdm"]["error"].startswith("unusable anchor certificate")


async def test_the_mdm_can_lock_the_device_while_serving_its_first_request(
    client: httpx.AsyncClient, mdm: httpx.AsyncClient, database_url: str, iphone: str, endpoint: MdmEndpoint
) -> None:
    """Apple's side of the activation is committed before the device calls the MDM: an MDM
    that writes about this device while serving the request (through the DEP API: disown,
    assign a profile) must not find its row locked by the activation that is waiting for it."""
    await trust_device_ca(client, endpoint)
    uuid = (await define(mdm, url=endpoint.base_url + "/enroll"))["profile_uuid"]
    await assign(mdm, uuid, [iphone])

    async def lock_the_device() -> str:
        conn = await asyncpg.connect(raw_dsn(database_url))
        try:
            async with conn.transaction():
                serial: str = await conn.fetchval(
                    "SELECT serial_number FROM device WHERE serial_number = $1 FOR UPDATE NOWAIT", iphone
                )
                return serial
        finally:
            await conn.close()

    endpoint.during_request = lock_the_device
    result = await activate(client, iphone, contact_mdm=True)
    assert endpoint.during_results == [iphone]
    assert (result["outcome"], result["mdm"]["status"]) == ("downloaded", 200)


async def test_unknown_device(client: httpx.AsyncClient) -> None:
    for path in ("/emulator/v1/devices/NOPE/activate", "/emulator/v1/devices/NOPE/erase"):
        response = await client.post(path)
        assert response.status_code == 404 and response.json()["error"]["code"] == "not_found"
    response = await client.post("/emulator/v1/devices/NOPE/activate", json={"contact_mdm": "yes please"})
    assert response.status_code == 422


async def test_enroll_reports_a_refused_profile_fetch_in_words(
    client: httpx.AsyncClient, mdm: httpx.AsyncClient, iphone: str, endpoint: MdmEndpoint
) -> None:
    """The first step real MDMs refuse (an untrusted device CA, a minimum OS, web authentication):
    with `enroll`, each refusal is a failed enrollment named in words, never a 500 (issue 28)."""
    from dep_emulator.testing.server import free_port

    web = endpoint.base_url + "/web"
    cases = [
        # CA not trusted by the endpoint: refused, as MicroMDM refuses a device not signed by Apple's CA.
        (endpoint.base_url + "/enroll", None, "the MDM refused the device (HTTP 403)", 403),
        (endpoint.base_url + "/broken", None, "the MDM answered HTTP 500: oops", 500),
        (f"http://127.0.0.1:{free_port()}/enroll", None, "the MDM did not answer: could not connect", None),
        (endpoint.base_url + "/enroll", web, "ConfigurationWebURL opens a web view", 200),
    ]
    for url, web_url, reason, status in cases:
        await client.post(f"/emulator/v1/devices/{iphone}/erase")
        uuid = (await define(mdm, url=url, **({"configuration_web_url": web_url} if web_url else {})))[
            "profile_uuid"
        ]
        await assign(mdm, uuid, [iphone])
        result = await activate(client, iphone, enroll=True)
        enrollment = result["enrollment"]
        assert enrollment["outcome"] == "failed", enrollment
        assert enrollment["failure"].startswith(reason), enrollment["failure"]
        [step] = enrollment["steps"]
        assert (step["step"], step["ok"], step.get("status")) == ("profile.fetch", False, status)
        assert step["detail"] == enrollment["failure"]
        assert step["url"] == (web_url or url)
        # Nothing was enrolled; the exchange is on record, and the next request still works.
        managed = await client.get(f"/emulator/v1/devices/{iphone}/mdm")
        assert managed.status_code == 409, managed.text
        exchanges = (await client.get(f"/emulator/v1/devices/{iphone}/mdm/exchanges")).json()
        assert exchanges["exchanges"][-1]["step"] == "profile.fetch"
