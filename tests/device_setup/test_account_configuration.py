"""AccountConfiguration against NanoMDM (issue 31 §5, device-2026.md §4): NanoMDM's raw command
API enqueues it; a Mac awaiting configuration keeps it and shows the accounts Setup Assistant
would create; after DeviceConfigured (or on an iPhone) it answers the errors §4 gives."""

from __future__ import annotations

import base64
import plistlib
import uuid
from typing import Any

import httpx

from tests.dep_helpers import assign, define
from tests.device_helpers import add_devices
from tests.device_setup.mdm_endpoint import MdmEndpoint, scep_enrollment_profile, sign_profile
from tests.device_setup.real_servers import NanoMdm, ScepServer


async def _enrolled(
    client: httpx.AsyncClient,
    mdm: httpx.AsyncClient,
    org: dict[str, Any],
    server: dict[str, Any],
    endpoint: MdmEndpoint,
    scep: ScepServer,
    nano: NanoMdm,
    family: str,
    seed: int,
) -> tuple[str, str]:
    [serial] = await add_devices(
        client, org_id=org["id"], server_uuid=server["server_uuid"], count=1, families=[family], seed=seed
    )
    endpoint.profile = sign_profile(
        scep_enrollment_profile(scep_url=scep.url, challenge=scep.challenge, server_url=nano.mdm_url)
    )
    endpoint.ca_pem = (await client.get("/emulator/v1/device-ca")).content
    uuid_ = (await define(mdm, url=endpoint.base_url + "/enroll", await_device_configured=True))[
        "profile_uuid"
    ]
    await assign(mdm, uuid_, [serial])
    response = await client.post(f"/emulator/v1/devices/{serial}/activate", json={"enroll": True})
    assert response.status_code == 200, response.text
    assert response.json()["enrollment"]["outcome"] == "enrolled", response.text
    state = (await client.get(f"/emulator/v1/devices/{serial}/mdm")).json()
    return serial, state["udid"]


def _raw(nano: NanoMdm, udid: str, command: dict[str, Any]) -> str:
    command_uuid = str(uuid.uuid4()).upper()
    nano.enqueue_raw(udid, plistlib.dumps({"CommandUUID": command_uuid, "Command": command}))
    return command_uuid


async def _poll(client: httpx.AsyncClient, serial: str) -> dict[str, dict[str, Any]]:
    """Poll; every command result the device sent, by CommandUUID."""
    response = await client.post(f"/emulator/v1/devices/{serial}/mdm/poll")
    assert response.status_code == 200, response.text
    results = {}
    for step in response.json()["steps"]:
        if step["step"].startswith("command."):
            sent = plistlib.loads(step["sent"].encode())
            results[sent["CommandUUID"]] = sent
    return results


async def _acknowledged_by_nanomdm(endpoint: MdmEndpoint, command_uuid: str) -> dict[str, Any]:
    def result(hook: dict[str, Any]) -> bool:
        return bool((hook.get("acknowledge_event") or {}).get("command_uuid") == command_uuid)

    for hook in await endpoint.webhooks_until(lambda hooks: any(map(result, hooks))):
        if result(hook):
            return dict(hook["acknowledge_event"])
    raise AssertionError(f"NanoMDM reported no result for {command_uuid}")


async def test_account_configuration_on_a_mac_awaiting_configuration(
    client: httpx.AsyncClient,
    mdm: httpx.AsyncClient,
    org: dict[str, Any],
    server: dict[str, Any],
    endpoint: MdmEndpoint,
    scep: ScepServer,
    nano: NanoMdm,
) -> None:
    mac, udid = await _enrolled(client, mdm, org, server, endpoint, scep, nano, "Mac", 31)
    hash_data = plistlib.dumps(
        {"SALTED-SHA512-PBKDF2": {"entropy": b"e" * 128, "iterations": 50000, "salt": b"s" * 32}}
    )
    command = {
        "RequestType": "AccountConfiguration",
        "AutoSetupAdminAccounts": [
            {"shortName": "ladmin", "fullName": "Local Admin", "passwordHash": hash_data, "hidden": True},
            {"shortName": "ignored", "fullName": "Only the first is used"},
        ],
        "SetPrimarySetupAccountAsRegularUser": True,
        "PrimaryAccountFullName": "Jane Appleseed",
        "PrimaryAccountUserName": "jane",
        "LockPrimaryAccountInfo": True,
        "ManagedLocalUserShortName": "ladmin",
    }
    # Before it: a Mac awaiting configuration that never got DeviceConfigured stays so (observable).
    state = (await client.get(f"/emulator/v1/devices/{mac}/mdm")).json()
    assert state["awaiting_configuration"] is True and state["accounts"] == []

    configured = _raw(nano, udid, command)
    results = await _poll(client, mac)
    assert results[configured]["Status"] == "Acknowledged"
    assert set(results[configured]) == {"Status", "CommandUUID", "UDID"}
    assert (await _acknowledged_by_nanomdm(endpoint, configured))["status"] == "Acknowledged"

    state = (await client.get(f"/emulator/v1/devices/{mac}/mdm")).json()
    assert state["awaiting_configuration"] is True  # AccountConfiguration does not end it
    kept = state["account_configuration"]
    assert kept["AutoSetupAdminAccounts"][0] == {
        "shortName": "ladmin",
        "fullName": "Local Admin",
        "hidden": True,
        "passwordHashBytes": len(hash_data),
    }
    assert state["accounts"] == [
        {
            "kind": "admin",
            "short_name": "ladmin",
            "full_name": "Local Admin",
            "hidden": True,
            "administrator": True,
            "password_set": True,
            "managed": True,
        },
        {
            "kind": "primary",
            "short_name": "jane",
            "full_name": "Jane Appleseed",
            "hidden": False,
            "administrator": False,
            "prefilled_fields_locked": True,
            "managed": False,
        },
    ]

    # An unreadable one is refused and the kept settings stay.
    bad = _raw(nano, udid, {"RequestType": "AccountConfiguration", "SkipPrimarySetupAccountCreation": True})
    results = await _poll(client, mac)
    assert results[bad]["Status"] == "Error"
    assert "need AutoSetupAdminAccounts" in results[bad]["ErrorChain"][0]["LocalizedDescription"]

    # DeviceConfigured ends Await Configuration; AccountConfiguration then fails, each time.
    done = _raw(nano, udid, {"RequestType": "DeviceConfigured"})
    late = _raw(nano, udid, command)
    again = _raw(nano, udid, command)
    results = await _poll(client, mac)
    assert results[done]["Status"] == "Acknowledged"
    for command_uuid in (late, again):
        assert results[command_uuid]["Status"] == "Error"
        assert results[command_uuid]["ErrorChain"] == [
            {
                "ErrorCode": 101,
                "ErrorDomain": "MDMDeviceEnrollment",
                "LocalizedDescription": "Device is not AwaitingConfiguration",
                "USEnglishDescription": "Device is not AwaitingConfiguration",
            }
        ]
        assert (await _acknowledged_by_nanomdm(endpoint, command_uuid))["status"] == "Error"
    state = (await client.get(f"/emulator/v1/devices/{mac}/mdm")).json()
    assert state["awaiting_configuration"] is False
    assert state["accounts"][0]["short_name"] == "ladmin"  # what Setup Assistant got stays


async def test_account_configuration_is_not_for_an_iphone(
    client: httpx.AsyncClient,
    mdm: httpx.AsyncClient,
    org: dict[str, Any],
    server: dict[str, Any],
    endpoint: MdmEndpoint,
    scep: ScepServer,
    nano: NanoMdm,
) -> None:
    iphone, udid = await _enrolled(client, mdm, org, server, endpoint, scep, nano, "iPhone", 32)
    command_uuid = _raw(nano, udid, {"RequestType": "AccountConfiguration", "PrimaryAccountUserName": "x"})
    results = await _poll(client, iphone)
    assert results[command_uuid]["Status"] == "Error"
    assert results[command_uuid]["ErrorChain"][0]["ErrorCode"] == 12021
    state = (await client.get(f"/emulator/v1/devices/{iphone}/mdm")).json()
    assert state["account_configuration"] is None and state["accounts"] == []
    # NanoMDM's raw payload had the bytes the device answered.
    event = await _acknowledged_by_nanomdm(endpoint, command_uuid)
    assert plistlib.loads(base64.b64decode(event["raw_payload"]))["Status"] == "Error"
