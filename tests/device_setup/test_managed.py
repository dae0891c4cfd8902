"""A managed device against the test's scripted MDM: PKCS#12 identity, TLS client certificates,
the profile's anchors, commands beyond the first flow, NotNow, CheckOut, the poll loop."""

from __future__ import annotations

import asyncio
import plistlib
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import asyncpg
import httpx
import pytest
from dep_emulator.core.config import Settings

from tests.conftest import snapshot, start_app
from tests.dep_helpers import assign, define
from tests.device_helpers import add_devices, ok
from tests.device_setup import pki
from tests.device_setup.mdm_endpoint import MdmEndpoint, Tls, mdm_endpoint, sign_profile

PASSWORD = "p12-secret"


@dataclass
class Servers:
    enroll: MdmEndpoint  # plain HTTP: serves the enrollment profile
    mdm: MdmEndpoint  # HTTPS, client certificate required, issued by client_ca
    server_ca: pki.Issued
    identity: pki.Issued


@pytest.fixture
def servers() -> Iterator[Servers]:
    server_ca, client_ca = pki.ca("Test MDM server CA"), pki.ca("Test MDM client CA")
    server_cert = pki.leaf(server_ca, "127.0.0.1", server=True)
    identity = pki.leaf(client_ca, "device identity", server=False)
    with tempfile.TemporaryDirectory() as tmp:
        cert_file, key_file = server_cert.write(Path(tmp), "server")
        client_ca_file, _ = client_ca.write(Path(tmp), "client-ca")
        with mdm_endpoint() as enroll, mdm_endpoint(Tls(cert_file, key_file, client_ca_file)) as mdm:
            yield Servers(enroll, mdm, server_ca, identity)


@pytest.fixture
async def iphone(client: httpx.AsyncClient, org: dict[str, Any], server: dict[str, Any]) -> str:
    serials = await add_devices(
        client, org_id=org["id"], server_uuid=server["server_uuid"], count=1, families=["iPhone"]
    )
    return serials[0]


def pkcs12_profile(
    servers: Servers,
    *,
    server_url: str,
    anchor: bool = True,
    password: str = PASSWORD,
    sign_message: bool = False,
) -> bytes:
    """An unsigned enrollment profile: PKCS#12 identity, the MDM server's CA as a root payload."""
    payloads: list[dict[str, Any]] = [
        {
            "PayloadType": "com.apple.security.pkcs12",
            "PayloadIdentifier": "com.example.identity",
            "PayloadUUID": "22222222-0000-4000-8000-000000000002",
            "PayloadVersion": 1,
            "PayloadContent": servers.identity.pkcs12(PASSWORD),
            "Password": password,
        },
        {
            "PayloadType": "com.apple.mdm",
            "PayloadIdentifier": "com.example.mdm",
            "PayloadUUID": "22222222-0000-4000-8000-000000000003",
            "PayloadVersion": 1,
            "ServerURL": server_url,
            "Topic": "com.apple.mgmt.External.test",
            "IdentityCertificateUUID": "22222222-0000-4000-8000-000000000002",
            "SignMessage": sign_message,
            "CheckOutWhenRemoved": True,
        },
    ]
    if anchor:
        payloads.append(
            {
                "PayloadType": "com.apple.security.root",
                "PayloadIdentifier": "com.example.root",
                "PayloadUUID": "22222222-0000-4000-8000-000000000004",
                "PayloadVersion": 1,
                "PayloadContent": servers.server_ca.der,
            }
        )
    return plistlib.dumps(
        {
            "PayloadType": "Configuration",
            "PayloadIdentifier": "com.example.enroll",
            "PayloadUUID": "22222222-0000-4000-8000-000000000001",
            "PayloadVersion": 1,
            "PayloadContent": payloads,
        }
    )


async def _activated(
    client: httpx.AsyncClient, mdm: httpx.AsyncClient, servers: Servers, serial: str, **profile: Any
) -> None:
    servers.enroll.ca_pem = (await client.get("/emulator/v1/device-ca")).content
    uuid = (await define(mdm, url=servers.enroll.base_url + "/enroll", **profile))["profile_uuid"]
    await assign(mdm, uuid, [serial])
    response = await client.post(f"/emulator/v1/devices/{serial}/activate")
    assert response.status_code == 200, response.text


def command(request_type: str, uuid: str, **fields: Any) -> dict[str, Any]:
    return {"CommandUUID": uuid, "Command": {"RequestType": request_type, **fields}}


def results(endpoint: MdmEndpoint) -> dict[str, dict[str, Any]]:
    """The results the device sent, by CommandUUID."""
    return {m["CommandUUID"]: m for _, m in endpoint.puts if "CommandUUID" in m}


def _tampered_profile() -> bytes:
    """A signed profile changed after signing (same length, so the CMS structure still parses)."""
    signed = sign_profile(
        {
            "PayloadType": "Configuration",
            "PayloadIdentifier": "com.example.tampered",
            "PayloadUUID": "33333333-0000-4000-8000-000000000001",
            "PayloadVersion": 1,
            "PayloadDisplayName": "Original",
            "PayloadContent": [],
        }
    )
    assert b"Original" in signed
    return signed.replace(b"Original", b"Tampered")


async def test_pkcs12_identity_over_tls_client_certificates(
    client: httpx.AsyncClient, mdm: httpx.AsyncClient, iphone: str, servers: Servers
) -> None:
    servers.enroll.profile = pkcs12_profile(servers, server_url=servers.mdm.base_url + "/mdm")
    await _activated(client, mdm, servers, iphone)
    enrolled = await ok(await client.post(f"/emulator/v1/devices/{iphone}/enroll"))
    assert enrolled["outcome"] == "enrolled", enrolled
    assert [s["step"] for s in enrolled["steps"]] == [
        "profile.fetch",
        "profile.install",
        "pkcs12",
        "checkin.Authenticate",
        "checkin.TokenUpdate",
    ]
    assert enrolled["profile"]["signed"] is False and enrolled["identity_subject"] == "CN=device identity"
    assert "awaiting_configuration" in enrolled and enrolled["awaiting_configuration"] is False
    # The HTTPS server demanded a client certificate from its client CA: the check-ins got through.
    assert [m["MessageType"] for _, m in servers.mdm.puts] == ["Authenticate", "TokenUpdate"]
    assert "AwaitingConfiguration" not in servers.mdm.puts[1][1]

    servers.mdm.commands = [
        command("SecurityInfo", "c1"),
        command("CertificateList", "c2"),
        command("InstalledApplicationList", "c3"),
        command("DeviceLock", "c4", Message="Lost", PhoneNumber="+1 555 0100"),
        command("RemoveProfile", "c5", Identifier="com.example.not-installed"),
        command("InstallProfile", "c5b", Payload=_tampered_profile()),
        command("RestartDevice", "c6"),
        command("ProfileList", "c7"),
    ]
    polled = await ok(await client.post(f"/emulator/v1/devices/{iphone}/mdm/poll"))
    assert (polled["outcome"], polled["commands"]) == ("restarted", 7)
    sent = results(servers.mdm)
    assert sent["c1"]["SecurityInfo"]["HardwareEncryptionCaps"] == 3
    certificates = sent["c2"]["CertificateList"]
    assert [(c["CommonName"], c["IsIdentity"]) for c in certificates] == [
        ("device identity", True),
        ("Test MDM server CA", False),
    ]
    assert certificates[0]["Data"] == servers.identity.der
    assert sent["c3"]["InstalledApplicationList"] == []
    assert sent["c4"]["Status"] == "Acknowledged"
    assert sent["c5"]["Status"] == "Error" and sent["c5"]["ErrorChain"][0]["ErrorCode"]
    tampered = sent["c5b"]["ErrorChain"][0]["USEnglishDescription"]
    assert tampered == "The profile's signature does not hold: the message digest does not match the content."
    assert sent["c6"]["Status"] == "Acknowledged" and "c7" not in sent  # restarting: next time
    state = await ok(await client.get(f"/emulator/v1/devices/{iphone}/mdm"))
    assert state["lock"] == {"Message": "Lost", "PhoneNumber": "+1 555 0100"}
    assert state["sign_message"] is False and state["identity_issuer"] == "CN=Test MDM client CA"
    # The MDM answered the restart's result with c7, which the restarting device left unanswered;
    # an MDM sends an unanswered command again on the next connection.
    assert "c7" in polled["steps"][-1]["answered"]
    servers.mdm.commands = [command("ProfileList", "c7")]
    polled = await ok(await client.post(f"/emulator/v1/devices/{iphone}/mdm/poll"))
    assert polled["outcome"] == "idle" and results(servers.mdm)["c7"]["Status"] == "Acknowledged"
    # The console's device page shows the same state and exchanges (newest first).
    page = await client.get(f"/console/devices/{iphone}")
    assert page.status_code == 200
    managed_part = page.text.split("<h2>Managed by the MDM</h2>", 1)[1].split("<h2>Feed events</h2>", 1)[0]
    assert state["udid"] in managed_part and "CN=Test MDM client CA" in managed_part
    assert "checkin.TokenUpdate" in managed_part and "<code>c7</code>" in managed_part


async def test_an_untrusted_server_certificate(
    client: httpx.AsyncClient, mdm: httpx.AsyncClient, pg: asyncpg.Connection, iphone: str, servers: Servers
) -> None:
    servers.enroll.profile = pkcs12_profile(servers, server_url=servers.mdm.base_url + "/mdm", anchor=False)
    await _activated(client, mdm, servers, iphone)
    before = await snapshot(pg)
    result = await ok(await client.post(f"/emulator/v1/devices/{iphone}/enroll"))
    assert result["outcome"] == "failed"
    assert result["failure"].startswith("the MDM's server certificate is not trusted")
    assert result["steps"][-1]["step"] == "checkin.Authenticate"
    assert await snapshot(pg) == before
    assert servers.mdm.puts == []


async def test_a_wrong_pkcs12_password(
    client: httpx.AsyncClient, mdm: httpx.AsyncClient, pg: asyncpg.Connection, iphone: str, servers: Servers
) -> None:
    servers.enroll.profile = pkcs12_profile(
        servers, server_url=servers.mdm.base_url + "/mdm", password="nope"
    )
    await _activated(client, mdm, servers, iphone)
    before = await snapshot(pg)
    result = await ok(await client.post(f"/emulator/v1/devices/{iphone}/enroll"))
    assert result["outcome"] == "failed" and "wrong Password?" in result["failure"]
    assert await snapshot(pg) == before


async def test_not_now_and_check_out(
    client: httpx.AsyncClient, mdm: httpx.AsyncClient, iphone: str, servers: Servers
) -> None:
    scripted = servers.enroll  # plain HTTP, Mdm-Signature
    scripted.profile = pkcs12_profile(servers, server_url=scripted.base_url + "/mdm", sign_message=True)
    await _activated(client, mdm, servers, iphone)  # is_mdm_removable defaults to true
    assert (await ok(await client.post(f"/emulator/v1/devices/{iphone}/enroll")))["outcome"] == "enrolled"
    state = await ok(await client.put(f"/emulator/v1/devices/{iphone}/mdm/not-now", json={"count": 1}))
    assert state["not_now_remaining"] == 1
    scripted.commands = [command("DeviceInformation", "n1"), command("ProfileList", "n2")]
    polled = await ok(await client.post(f"/emulator/v1/devices/{iphone}/mdm/poll"))
    assert polled["commands"] == 2
    sent = results(scripted)
    assert (sent["n1"]["Status"], sent["n2"]["Status"]) == ("NotNow", "Acknowledged")
    assert (await ok(await client.get(f"/emulator/v1/devices/{iphone}/mdm")))["not_now_remaining"] == 0

    checked_out = await ok(await client.post(f"/emulator/v1/devices/{iphone}/mdm/checkout"))
    assert checked_out["sent_check_out"] is True and checked_out["steps"][0]["ok"] is True
    assert scripted.puts[-1][1]["MessageType"] == "CheckOut"
    response = await client.get(f"/emulator/v1/devices/{iphone}/mdm")
    assert response.status_code == 409 and response.json()["error"]["code"] == "not_enrolled"


async def test_an_unremovable_mdm_profile_cannot_be_checked_out(
    client: httpx.AsyncClient, mdm: httpx.AsyncClient, iphone: str, servers: Servers
) -> None:
    servers.enroll.profile = pkcs12_profile(
        servers, server_url=servers.enroll.base_url + "/mdm", sign_message=True
    )
    await _activated(client, mdm, servers, iphone, is_supervised=True, is_mdm_removable=False)
    assert (await ok(await client.post(f"/emulator/v1/devices/{iphone}/enroll")))["outcome"] == "enrolled"
    response = await client.post(f"/emulator/v1/devices/{iphone}/mdm/checkout")
    assert response.status_code == 409 and response.json()["error"]["code"] == "not_removable"
    assert (await client.get(f"/emulator/v1/devices/{iphone}/mdm")).status_code == 200


async def test_control_api_answers(
    client: httpx.AsyncClient, mdm: httpx.AsyncClient, iphone: str, servers: Servers
) -> None:
    for method, path in [
        ("POST", "/emulator/v1/devices/NOPE/enroll"),
        ("POST", "/emulator/v1/devices/NOPE/mdm/poll"),
        ("POST", "/emulator/v1/devices/NOPE/mdm/checkout"),
        ("GET", "/emulator/v1/devices/NOPE/mdm"),
        ("GET", "/emulator/v1/devices/NOPE/mdm/exchanges"),
        ("DELETE", "/emulator/v1/devices/NOPE/mdm/schedule"),
    ]:
        response = await client.request(method, path)
        assert response.status_code == 404 and response.json()["error"]["code"] == "not_found", path
    response = await client.post(f"/emulator/v1/devices/{iphone}/enroll")
    assert response.status_code == 409 and response.json()["error"]["code"] == "not_activated"
    response = await client.post(f"/emulator/v1/devices/{iphone}/mdm/poll")
    assert response.status_code == 409 and response.json()["error"]["code"] == "not_enrolled"
    for body in ({"every_seconds": 0}, {"every_seconds": "soon"}, {"every_seconds": 5, "extra": 1}):
        response = await client.put(f"/emulator/v1/devices/{iphone}/mdm/schedule", json=body)
        assert response.status_code == 422
    servers.enroll.profile = pkcs12_profile(
        servers, server_url=servers.enroll.base_url + "/mdm", sign_message=True
    )
    await _activated(client, mdm, servers, iphone)
    assert (await ok(await client.post(f"/emulator/v1/devices/{iphone}/enroll")))["outcome"] == "enrolled"
    response = await client.post(f"/emulator/v1/devices/{iphone}/enroll")
    assert response.status_code == 409 and response.json()["error"]["code"] == "already_enrolled"
    # The control API's erase ends the enrollment too.
    erased = await ok(await client.post(f"/emulator/v1/devices/{iphone}/erase"))
    assert erased == {"serial_number": iphone, "had_configuration": True, "was_enrolled": True}
    assert (await client.get(f"/emulator/v1/devices/{iphone}/mdm")).status_code == 409
    # ... and the exchange log stays.
    log = await ok(await client.get(f"/emulator/v1/devices/{iphone}/mdm/exchanges", params={"limit": 2}))
    assert [e["step"] for e in log["exchanges"]] == ["profile.fetch", "profile.install"]
    rest = await ok(
        await client.get(
            f"/emulator/v1/devices/{iphone}/mdm/exchanges", params={"after_id": log["next_after_id"]}
        )
    )
    assert [e["step"] for e in rest["exchanges"]] == ["pkcs12", "checkin.Authenticate", "checkin.TokenUpdate"]
    assert rest["next_after_id"] is None
    times = [e["at"] for e in log["exchanges"] + rest["exchanges"]]
    assert times == sorted(times) and len(set(times)) == len(times)  # each at the time it happened


async def test_one_poll_at_a_time(
    client: httpx.AsyncClient, mdm: httpx.AsyncClient, iphone: str, servers: Servers
) -> None:
    scripted = servers.enroll
    scripted.profile = pkcs12_profile(servers, server_url=scripted.base_url + "/mdm", sign_message=True)
    await _activated(client, mdm, servers, iphone)
    assert (await ok(await client.post(f"/emulator/v1/devices/{iphone}/enroll")))["outcome"] == "enrolled"
    scripted.idle_delay = 1.0
    first, second = await asyncio.gather(
        client.post(f"/emulator/v1/devices/{iphone}/mdm/poll"),
        client.post(f"/emulator/v1/devices/{iphone}/mdm/poll"),
    )
    statuses = sorted([first.status_code, second.status_code])
    assert statuses == [200, 409]
    refused = first if first.status_code == 409 else second
    assert refused.json()["error"]["code"] == "poll_in_progress"
    assert scripted.max_open_idles == 1


async def test_the_poll_loop(
    client: httpx.AsyncClient, mdm: httpx.AsyncClient, iphone: str, servers: Servers
) -> None:
    """Opt in: the app's poll loop (DEPEMU_MDM_POLL_LOOP_SECONDS, 1 s by default) polls the device."""
    scripted = servers.enroll
    scripted.profile = pkcs12_profile(servers, server_url=scripted.base_url + "/mdm", sign_message=True)
    await _activated(client, mdm, servers, iphone)
    assert (await ok(await client.post(f"/emulator/v1/devices/{iphone}/enroll")))["outcome"] == "enrolled"
    scripted.commands = [command("DeviceInformation", "loop-1")]
    state = await ok(
        await client.put(f"/emulator/v1/devices/{iphone}/mdm/schedule", json={"every_seconds": 1})
    )
    assert state["poll_every_seconds"] == 1 and state["next_poll_at"]
    for _ in range(100):
        if "loop-1" in results(scripted):
            break
        await asyncio.sleep(0.1)
    assert results(scripted)["loop-1"]["QueryResponses"]["SerialNumber"] == iphone
    state = await ok(await client.delete(f"/emulator/v1/devices/{iphone}/mdm/schedule"))
    assert state["poll_every_seconds"] is None and state["next_poll_at"] is None
    await asyncio.sleep(1.5)  # a poll claimed just before the DELETE may still be finishing
    idles = sum(1 for _, m in scripted.puts if m.get("Status") == "Idle")
    await asyncio.sleep(2.5)
    assert sum(1 for _, m in scripted.puts if m.get("Status") == "Idle") == idles


async def test_the_poll_loop_across_replicas_polls_once_per_interval(
    client: httpx.AsyncClient,
    mdm: httpx.AsyncClient,
    settings: Settings,
    iphone: str,
    servers: Servers,
) -> None:
    """Three replicas (the test's app and two more on the same database), each with its loop:
    a device scheduled every second is polled by one of them at a time, once per interval."""
    scripted = servers.enroll
    scripted.profile = pkcs12_profile(servers, server_url=scripted.base_url + "/mdm", sign_message=True)
    await _activated(client, mdm, servers, iphone)
    assert (await ok(await client.post(f"/emulator/v1/devices/{iphone}/enroll")))["outcome"] == "enrolled"
    scripted.idle_delay = 0.3  # each poll stays open a while, so overlapping polls would show
    started = [await start_app(settings) for _ in range(2)]
    try:
        await ok(await client.put(f"/emulator/v1/devices/{iphone}/mdm/schedule", json={"every_seconds": 1}))
        await asyncio.sleep(4.5)
        await ok(await client.delete(f"/emulator/v1/devices/{iphone}/mdm/schedule"))
        await asyncio.sleep(0.5)
    finally:
        for _, manager in started:
            await manager.__aexit__(None, None, None)
    idles = sum(1 for _, m in scripted.puts if m.get("Status") == "Idle")
    assert scripted.max_open_idles == 1
    assert 3 <= idles <= 6, idles  # one per second: three replicas did not each run it
