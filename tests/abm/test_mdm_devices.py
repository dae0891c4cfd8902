"""mdmDevices (abm-api-2.md §2.8, §4.1) and activationLockStatus (§2.9) through the Business API:
derived from the devices the emulator has, the built-in service's server row, and its enrollments."""

from __future__ import annotations

from typing import Any

import httpx
from fastapi import FastAPI

from tests.abm.conftest import assert_error, bearer_client, create_api_account, get_token
from tests.abm.test_flow import activity_body, run_activity
from tests.devices.helpers import add, assign

DETAILS = {
    "serialNumber", "deviceName", "deviceModel", "osVersion", "platform", "wifiMacAddress",
    "bluetoothMacAddress", "ethernetMacAddress", "imei", "meid", "deviceEraseStatus", "deviceLockStatus",
    "lostModeStatus", "isFileVaultEnabled", "isFirewallEnabled", "lastCheckInDateTime",
    "storageFreeCapacity", "storageTotalCapacity",
}  # fmt: skip


async def builtin_setup(client: httpx.AsyncClient, org_id: str) -> dict[str, Any]:
    base = f"/emulator/v1/orgs/{org_id}"
    service = (await client.post(f"{base}/builtin-service")).json()
    assert (await client.post(f"{base}/builtin-service")).json() == service  # made once
    serials = await add(client, org_id, "BUILTIN001", "BUILTIN002", "VENDOR0001")
    await assign(client, org_id, service["server_uuid"], "BUILTIN001", "BUILTIN002")
    user = (await client.post(f"{base}/users", json={"first_name": "Ada", "last_name": "Lovelace"})).json()
    ade = await client.post(
        f"{base}/builtin-enrollments",
        json={
            "serial_number": "BUILTIN001",
            "user": user["id"],
            "device_name": "Ada's iPhone",
            "lost_mode": True,
        },
    )
    assert ade.status_code == 201, ade.text
    byod = await client.post(
        f"{base}/builtin-enrollments",
        json={"serial_number": "BYOD000001", "account_driven": True, "device_family": "iPad"},
    )
    assert byod.status_code == 201 and byod.json()["enrollment_type"] == "ACCOUNT_DRIVEN"
    return {"service": service, "serials": serials, "user": user, "ade": ade.json(), "byod": byod.json()}


async def test_mdm_devices_are_the_built_in_services_enrollments(
    client: httpx.AsyncClient, abm: httpx.AsyncClient, org: dict[str, Any], server: dict[str, Any]
) -> None:
    setup = await builtin_setup(client, org["id"])
    servers = (await abm.get("/v1/mdmServers")).json()["data"]
    types = {s["id"]: s["attributes"]["serverType"] for s in servers}
    assert types[setup["service"]["server_uuid"]] == "APPLE_MDM" and types[server["server_uuid"]] == "MDM"
    listed = (await abm.get("/v1/mdmDevices")).json()["data"]
    by_serial = {d["attributes"]["serialNumber"]: d for d in listed}
    assert set(by_serial) == {"BUILTIN001", "BYOD000001"}  # BUILTIN002 is assigned but not enrolled
    ade = by_serial["BUILTIN001"]
    assert ade["type"] == "mdmDevices" and ade["id"] != "BUILTIN001"
    assert ade["attributes"] == {
        "serialNumber": "BUILTIN001",
        "deviceName": "Ada's iPhone",
        "productFamily": ade["attributes"]["productFamily"],
        "enrolledUserId": setup["user"]["id"],
    }
    assert by_serial["BYOD000001"]["attributes"]["enrolledUserId"] is None
    assert by_serial["BYOD000001"]["attributes"]["productFamily"] == "iPad"
    details_link = ade["relationships"]["details"]["links"]["related"]
    assert details_link.endswith(f"/v1/mdmDevices/{ade['id']}/details")
    details = (await abm.get(details_link)).json()["data"]
    assert details["type"] == "mdmDeviceDetails" and set(details["attributes"]) == DETAILS
    assert (
        details["attributes"]["lostModeStatus"] == "ENABLED"
        and details["attributes"]["deviceLockStatus"] == "UNLOCKED"
    )
    assert isinstance(details["attributes"]["ethernetMacAddress"], str)
    assert details["attributes"]["storageTotalCapacity"] > details["attributes"]["storageFreeCapacity"] > 0
    assert (await abm.get("/v1/mdmDevices?fields[mdmDevices]=serialNumber")).json()["data"][0][
        "attributes"
    ].keys() == {"serialNumber"}
    assert_error(await abm.get("/v1/mdmDevices/NOPE/details"), 404, "NOT_FOUND")
    refused = await client.post(
        f"/emulator/v1/orgs/{org['id']}/builtin-enrollments", json={"serial_number": "VENDOR0001"}
    )
    assert refused.status_code == 409 and refused.json()["error"]["code"] == "not_assigned"


async def test_migration_and_release_take_a_device_out_of_mdm_devices(
    client: httpx.AsyncClient, abm: httpx.AsyncClient, org: dict[str, Any], server: dict[str, Any]
) -> None:
    setup = await builtin_setup(client, org["id"])
    ade_id = setup["ade"]["id"]
    # Moving the device to a vendor's server (what a migration does) takes it out of mdmDevices.
    await run_activity(abm, activity_body("ASSIGN_DEVICES", ["BUILTIN001"], server["server_uuid"]))
    assert {d["attributes"]["serialNumber"] for d in (await abm.get("/v1/mdmDevices")).json()["data"]} == {
        "BYOD000001"
    }
    assert_error(await abm.get(f"/v1/mdmDevices/{ade_id}/details"), 404, "NOT_FOUND")
    # Enrolled again after coming back, then released from the org: gone again.
    await run_activity(abm, activity_body("ASSIGN_DEVICES", ["BUILTIN002"], setup["service"]["server_uuid"]))
    await client.post(
        f"/emulator/v1/orgs/{org['id']}/builtin-enrollments", json={"serial_number": "BUILTIN002"}
    )
    assert len((await abm.get("/v1/mdmDevices")).json()["data"]) == 2
    await run_activity(abm, activity_body("RELEASE_DEVICES", ["BUILTIN002"], None))
    assert {d["attributes"]["serialNumber"] for d in (await abm.get("/v1/mdmDevices")).json()["data"]} == {
        "BYOD000001"
    }


async def test_activation_lock_status_in_both_variants(
    app: FastAPI, client: httpx.AsyncClient, abm: httpx.AsyncClient, org: dict[str, Any]
) -> None:
    await add(client, org["id"], "LOCKED0001", "FREE000001")
    base = f"/emulator/v1/orgs/{org['id']}/devices"
    put = await client.put(f"{base}/LOCKED0001/activation-lock-status", json={"lock_type": "USER"})
    assert put.status_code == 204, put.text
    locked = (await abm.get("/v1/orgDevices/LOCKED0001/activationLockStatus")).json()
    assert locked["data"] == {
        "type": "activationLockStatus",
        "id": "LOCKED0001",
        "attributes": {"isLocked": True, "lockType": "USER"},
    }
    assert locked["links"]["self"].endswith("/v1/orgDevices/LOCKED0001/activationLockStatus")
    free = (await abm.get("/v1/orgDevices/FREE000001/activationLockStatus")).json()["data"]["attributes"]
    assert free == {"isLocked": False, "lockType": "NONE"}
    assert_error(await abm.get("/v1/orgDevices/NOPE/activationLockStatus"), 404, "NOT_FOUND")
    await client.put(
        f"{base}/LOCKED0001/activation-lock-status", json={"lock_type": "USER", "server_error": True}
    )
    assert_error(await abm.get("/v1/orgDevices/LOCKED0001/activationLockStatus"), 500, "INTERNAL_ERROR")
    school = await create_api_account(client, org["id"], scope="school.api")
    async with bearer_client(app, await get_token(client, school)) as asm:
        assert (await asm.get("/v1/orgDevices/FREE000001/activationLockStatus")).status_code == 200
        assert_error(await asm.get("/v1/mdmDevices"), 404, "NOT_FOUND")
