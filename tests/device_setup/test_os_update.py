"""MachineInfo as of 26 (issue 31 §2) and the MDM that requires a newer OS (§3), against the small
test MDM: the device updates exactly as asked and asks again; what it cannot do fails in words."""

from __future__ import annotations

import itertools
import json
import plistlib
from typing import Any

import asyncpg
import httpx
import pytest

from tests.dep_helpers import assign, define, events
from tests.device_helpers import add_devices
from tests.device_setup.small_mdm import SmallMdm


async def _device(
    client: httpx.AsyncClient,
    mdm: httpx.AsyncClient,
    org: dict[str, Any],
    server: dict[str, Any],
    small: SmallMdm,
    family: str,
    **software: Any,
) -> str:
    [serial] = await add_devices(
        client,
        org_id=org["id"],
        server_uuid=server["server_uuid"],
        count=1,
        families=[family],
        seed=next(SEEDS),
    )
    if software:
        response = await client.patch(f"/emulator/v1/devices/{serial}", json=software)
        assert response.status_code == 200, response.text
    small.ca_pem = (await client.get("/emulator/v1/device-ca")).content
    uuid = (await define(mdm, url=small.base_url + "/enroll", await_device_configured=True))["profile_uuid"]
    await assign(mdm, uuid, [serial])
    return serial


async def _activate(client: httpx.AsyncClient, serial: str, **body: Any) -> dict[str, Any]:
    response = await client.post(f"/emulator/v1/devices/{serial}/activate", json=body)
    assert response.status_code == 200, response.text
    data: dict[str, Any] = response.json()
    return data


async def _exchanges(client: httpx.AsyncClient, serial: str) -> list[dict[str, Any]]:
    response = await client.get(f"/emulator/v1/devices/{serial}/mdm/exchanges")
    assert response.status_code == 200
    exchanges: list[dict[str, Any]] = response.json()["exchanges"]
    return exchanges


SEEDS = itertools.count(100)
BASE = {"UDID", "SERIAL", "PRODUCT", "VERSION", "LANGUAGE"}
SINCE_17 = {"OS_VERSION", "SUPPLEMENTAL_BUILD_VERSION"}


@pytest.mark.parametrize(
    ("family", "software", "keys", "values"),
    [
        (
            "iPhone",
            {},
            BASE | SINCE_17 | {"IMEI", "MDM_CAN_REQUEST_SOFTWARE_UPDATE", "SOFTWARE_UPDATE_DEVICE_ID"},
            {"OS_VERSION": "26.5", "VERSION": "23F77", "SUPPLEMENTAL_BUILD_VERSION": "23F77"},
        ),
        (
            "iPhone",
            {"os_version": "26.5", "os_supplemental_extra": "(a)"},
            BASE
            | SINCE_17
            | {
                "SUPPLEMENTAL_OS_VERSION_EXTRA",
                "IMEI",
                "MDM_CAN_REQUEST_SOFTWARE_UPDATE",
                "SOFTWARE_UPDATE_DEVICE_ID",
            },
            {"SUPPLEMENTAL_BUILD_VERSION": "23F77a", "SUPPLEMENTAL_OS_VERSION_EXTRA": "(a)"},
        ),
        ("iPhone", {"os_version": "16.7"}, BASE | {"IMEI"}, {"VERSION": "20H19"}),
        (
            "iPhone",
            {"os_version": "17.4"},
            BASE | SINCE_17 | {"IMEI", "MDM_CAN_REQUEST_SOFTWARE_UPDATE", "SOFTWARE_UPDATE_DEVICE_ID"},
            {"OS_VERSION": "17.4"},
        ),
        (
            "Mac",
            {"product_type": "Mac14,2"},
            BASE
            | SINCE_17
            | {"MDM_CAN_REQUEST_SOFTWARE_UPDATE", "SOFTWARE_UPDATE_DEVICE_ID", "MDM_CAN_REQUEST_PSSO_CONFIG"},
            {
                "OS_VERSION": "26.5.1",
                "VERSION": "25F80",
                "SOFTWARE_UPDATE_DEVICE_ID": "J413AP",
                "PRODUCT": "Mac14,2",
            },
        ),
        (
            "Mac",
            {"os_version": "15.1"},
            BASE | SINCE_17 | {"MDM_CAN_REQUEST_SOFTWARE_UPDATE", "SOFTWARE_UPDATE_DEVICE_ID"},
            {},
        ),
        (
            "AppleTV",
            {},
            BASE | SINCE_17,
            {"OS_VERSION": "26.5", "VERSION": "23L471", "PRODUCT": "AppleTV14,1"},
        ),
        ("Vision", {}, BASE | SINCE_17 | {"SOFTWARE_UPDATE_DEVICE_ID"}, {"VERSION": "23O471"}),
    ],
)
async def test_machine_info_keys_per_platform_and_version(
    client: httpx.AsyncClient,
    mdm: httpx.AsyncClient,
    org: dict[str, Any],
    server: dict[str, Any],
    small: SmallMdm,
    family: str,
    software: dict[str, Any],
    keys: set[str],
    values: dict[str, Any],
) -> None:
    serial = await _device(client, mdm, org, server, small, family, **software)
    await _activate(client, serial, contact_mdm=True)
    [seen] = small.seen
    assert seen.verified and seen.info is not None
    record = (await client.get(f"/emulator/v1/devices/{serial}")).json()["fields"]
    if "IMEI" in keys and record.get("meid"):  # CDMA-capable models report their MEID too
        keys = keys | {"MEID"}
    assert set(seen.info) == keys
    assert {k: seen.info[k] for k in values} == values
    assert seen.info["SERIAL"] == serial
    if "MDM_CAN_REQUEST_SOFTWARE_UPDATE" in keys:
        assert seen.info["MDM_CAN_REQUEST_SOFTWARE_UPDATE"] is True
    assert seen.headers["content-type"] == "application/pkcs7-signature"


async def test_mac_flags_mandatory_update_and_visionos_switch(
    client: httpx.AsyncClient,
    mdm: httpx.AsyncClient,
    org: dict[str, Any],
    server: dict[str, Any],
    small: SmallMdm,
) -> None:
    mac = await _device(client, mdm, org, server, small, "Mac", os_version="26.1")
    await _activate(client, mac, contact_mdm=True, mandatory_software_update=True)
    assert (
        small.seen[-1].info is not None and small.seen[-1].info["MANDATORY_SOFTWARE_UPDATE_REQUIRED"] is True
    )
    vision = await _device(client, mdm, org, server, small, "Vision")
    await _activate(client, vision, contact_mdm=True, visionos_software_update=True)
    assert small.seen[-1].info is not None and small.seen[-1].info["MDM_CAN_REQUEST_SOFTWARE_UPDATE"] is True


async def test_mdm_requiring_26_5_gets_a_device_on_26_1_enrolled_on_26_5(
    client: httpx.AsyncClient,
    mdm: httpx.AsyncClient,
    org: dict[str, Any],
    server: dict[str, Any],
    small: SmallMdm,
    pg: asyncpg.Connection,
) -> None:
    serial = await _device(client, mdm, org, server, small, "iPhone", os_version="26.1")
    small.required = "26.5"
    feed_before = len(await events(pg, serial))
    result = await _activate(client, serial, enroll=True)

    assert result["enrollment"]["outcome"] == "enrolled", result
    assert "stopped" not in result
    [update] = result["updates"]
    assert (update["from_version"], update["from_build"], update["to_version"], update["to_build"]) == (
        "26.1",
        "23B85",
        "26.5",
        "23F77",
    )
    assert update["requested"] == {"OSVersion": "26.5"}
    # The device record runs 26.5 now; DEP's record has no OS, so the update wrote no feed event
    # (the activation's own `modified`, profile pushed, is the only new one).
    soft = (await client.get(f"/emulator/v1/devices/{serial}")).json()["software"]
    assert (soft["os_version"], soft["os_build"]) == ("26.5", "23F77")
    assert [e["op_type"] for e in (await events(pg, serial))[feed_before:]] == ["modified"]
    # The MDM saw 26.1, refused it, then 26.5.
    assert [s.info["OS_VERSION"] for s in small.seen if s.info] == ["26.1", "26.5"]
    assert [s.info["VERSION"] for s in small.seen if s.info] == ["23B85", "23F77"]
    # The exchanges show the refusal, the update and the retry, then enrollment.
    steps = await _exchanges(client, serial)
    names = [s["step"] for s in steps]
    assert names[:3] == ["machine_info", "software_update", "profile.fetch"]
    refused, updated, retried = steps[:3]
    assert (refused["status"], refused["ok"]) == (403, False)
    assert "requires OS 26.5" in refused["detail"] and "Update to 26.5 to enroll." in refused["detail"]
    assert plistlib.loads(refused["sent"].encode())["OS_VERSION"] == "26.1"
    assert json.loads(refused["answered"])["code"] == "com.apple.softwareupdate.required"
    assert updated["ok"] and "installed iOS 26.5 (23F77), was 26.1 (23B85)" in updated["detail"]
    assert (retried["status"], retried["ok"]) == (200, True)
    assert names[-2:] == ["checkin.Authenticate", "checkin.TokenUpdate"]
    authenticate = plistlib.loads(steps[-2]["sent"].encode())
    assert (authenticate["OSVersion"], authenticate["BuildVersion"]) == ("26.5", "23F77")


async def test_what_the_device_cannot_do_fails_in_words(
    client: httpx.AsyncClient,
    mdm: httpx.AsyncClient,
    org: dict[str, Any],
    server: dict[str, Any],
    small: SmallMdm,
) -> None:
    cases: list[tuple[dict[str, Any], dict[str, Any], str]] = [
        # An MDM that asks for a version the device already has (its own minimum is wrong).
        ({"os_version": "26.5"}, {"OSVersion": "26.5"}, "which the device already runs"),
        # A downgrade.
        ({"os_version": "26.5"}, {"OSVersion": "26.1"}, "older than the installed 26.5"),
        # A version nobody offers, without a build.
        ({"os_version": "26.1"}, {"OSVersion": "26.9"}, "not offered for this device"),
        # Malformed: details empty, OSVersion missing.
        ({"os_version": "26.1"}, {}, "has no details"),
        ({"os_version": "26.1"}, {"BuildVersion": "23F77"}, "no usable details.OSVersion"),
    ]
    for software, details, words in cases:
        serial = await _device(client, mdm, org, server, small, "iPhone", **software)
        body = {"code": "com.apple.softwareupdate.required", "details": details}
        small.refusal = ("application/json", json.dumps(body).encode())
        result = await _activate(client, serial, enroll=True)
        assert words in result["stopped"], (details, result["stopped"])
        assert result["enrollment"]["outcome"] == "failed"
        assert words in result["enrollment"]["failure"]
        assert "updates" not in result
        soft = (await client.get(f"/emulator/v1/devices/{serial}")).json()["software"]
        assert soft["os_version"] == software["os_version"]  # nothing installed
        steps = [s["step"] for s in await _exchanges(client, serial)]
        assert steps[0] == "machine_info" and steps[-1] == "profile.fetch"

    # Not a predefined error at all, and a 403 to a device that never offered updates.
    serial = await _device(client, mdm, org, server, small, "iPhone", os_version="26.1")
    small.refusal = ("application/json", b"<html>denied</html>")
    result = await _activate(client, serial, contact_mdm=True)
    assert "HTTP 403" in result["stopped"]
    old = await _device(client, mdm, org, server, small, "iPhone", os_version="16.7")
    small.refusal = None
    small.required = "26.5"
    result = await _activate(client, old, contact_mdm=True)
    assert "did not offer one (no MDM_CAN_REQUEST_SOFTWARE_UPDATE)" in result["stopped"]
    # A property-list body is read as well as JSON; the build the MDM names wins over the table.
    plist = await _device(client, mdm, org, server, small, "iPhone", os_version="26.1")
    body = {
        "code": "com.apple.softwareupdate.required",
        "details": {"OSVersion": "26.4.2 (a)", "BuildVersion": "23E262"},
    }
    small.refusal = ("application/xml", plistlib.dumps(body))
    result = await _activate(client, plist, contact_mdm=True)
    # It installs 26.4.2 (a), is refused again for the same version: stops, after one update.
    assert [(u["to_version"], u["to_build"], u["supplemental_extra"]) for u in result["updates"]] == [
        ("26.4.2", "23E262", "(a)")
    ]
    assert "which the device already runs" in result["stopped"]


async def test_platform_sso_needs_the_callers_token(
    client: httpx.AsyncClient,
    mdm: httpx.AsyncClient,
    org: dict[str, Any],
    server: dict[str, Any],
    small: SmallMdm,
) -> None:
    small.psso_token = "idp-token-123"
    mac = await _device(client, mdm, org, server, small, "Mac")
    result = await _activate(client, mac, contact_mdm=True)
    assert "Platform SSO required" in result["stopped"] and "psso_access_token" in result["stopped"]
    assert small.seen[-1].info is not None and small.seen[-1].info["MDM_CAN_REQUEST_PSSO_CONFIG"] is True

    result = await _activate(client, mac, enroll=True, psso_access_token="idp-token-123")
    assert result["enrollment"]["outcome"] == "enrolled", result
    retry = small.seen[-1]
    assert retry.headers["authorization"] == "Bearer idp-token-123"
    assert retry.info is not None and "MDM_CAN_REQUEST_PSSO_CONFIG" not in retry.info
    steps = [s["step"] for s in await _exchanges(client, mac)]
    assert steps[:4] == ["machine_info", "machine_info", "psso.sign_in", "profile.fetch"]

    wrong = await _device(client, mdm, org, server, small, "Mac")
    result = await _activate(client, wrong, contact_mdm=True, psso_access_token="wrong")
    assert "refused the Mac again after Platform SSO sign-in" in result["stopped"]
    iphone = await _device(client, mdm, org, server, small, "iPhone")
    result = await _activate(client, iphone, contact_mdm=True, psso_access_token="idp-token-123")
    assert "did not offer it" in result["stopped"]
