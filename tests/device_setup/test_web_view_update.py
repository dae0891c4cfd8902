"""The MDM requires a newer OS after the web view's first load (issue 31 §3, §4): a page of the
sign-in answers 403 com.apple.softwareupdate.required; the device installs exactly that version,
loads configuration_web_url anew with its new OS and a new cookie jar, and goes on; what it
cannot do fails with the reason in words. Through the control API against the small test MDM."""

from __future__ import annotations

import itertools
import json
from typing import Any

import httpx
import pytest

from tests.dep_helpers import assign, define
from tests.device_helpers import add_devices, ok
from tests.device_setup.small_mdm import SmallMdm

SEEDS = itertools.count(700)
SIGN_IN = {"fields": {"username": "alice", "password": "wonderland"}}


async def _open_web_view(
    client: httpx.AsyncClient,
    mdm: httpx.AsyncClient,
    org: dict[str, Any],
    server: dict[str, Any],
    small: SmallMdm,
    os_version: str,
) -> str:
    [serial] = await add_devices(
        client,
        org_id=org["id"],
        server_uuid=server["server_uuid"],
        count=1,
        families=["iPhone"],
        seed=next(SEEDS),
    )
    await ok(await client.patch(f"/emulator/v1/devices/{serial}", json={"os_version": os_version}))
    small.ca_pem = (await client.get("/emulator/v1/device-ca")).content
    profile = await define(
        mdm,
        url=small.base_url + "/enroll",
        configuration_web_url=small.base_url + "/web",
        await_device_configured=True,
    )
    await assign(mdm, profile["profile_uuid"], [serial])
    activated = await ok(
        await client.post(f"/emulator/v1/devices/{serial}/activate", json={"contact_mdm": True})
    )
    assert activated["web_view"]["state"] == "open", activated
    return serial


async def test_an_update_asked_after_sign_in_then_the_web_view_loads_again(
    client: httpx.AsyncClient,
    mdm: httpx.AsyncClient,
    org: dict[str, Any],
    server: dict[str, Any],
    small: SmallMdm,
) -> None:
    small.sign_in_required = "26.5"
    serial = await _open_web_view(client, mdm, org, server, small, "26.1")
    updated = await ok(await client.post(f"/emulator/v1/devices/{serial}/web-view/submit", json=SIGN_IN))
    # The device installed exactly 26.5 and is back at the MDM's first page, in a new cookie jar.
    assert updated["state"] == "open", updated
    assert updated["title"] == "Example MDM sign-in" and updated["steps"] == 1
    [update] = updated["updates"]
    assert (update["from_version"], update["to_version"], update["to_build"]) == ("26.1", "26.5", "23F77")
    assert update["requested"] == {"OSVersion": "26.5"}
    assert "enrollment" not in updated
    first_loads = [s for s in small.seen if s.path == "/web"]
    assert [s.info["OS_VERSION"] for s in first_loads if s.info] == ["26.1", "26.5"]
    assert first_loads[1].verified and "x-apple-aspen-deviceinfo" in first_loads[1].headers
    device = await ok(await client.get(f"/emulator/v1/devices/{serial}"))
    assert (device["software"]["os_version"], device["software"]["os_build"]) == ("26.5", "23F77")

    # Signing in again now passes the MDM's minimum; the device enrolls.
    done = await ok(await client.post(f"/emulator/v1/devices/{serial}/web-view/submit", json=SIGN_IN))
    assert done["state"] == "enrolled" and done["enrollment"]["outcome"] == "enrolled", done
    assert [p["cookie"] for p in small.web_puts] == [f"pending-{serial}", f"pending-{serial}"]

    # The exchanges show the refusal, the update and the new first load, in order.
    response = await client.get(f"/emulator/v1/devices/{serial}/mdm/exchanges")
    steps = [(s["step"], s["status"], s["ok"]) for s in (await ok(response))["exchanges"]]
    assert steps[:4] == [
        ("web_view.load", 200, True),
        ("web_view.submit", 403, True),
        ("software_update", None, True),
        ("web_view.load", 200, True),
    ]
    refused = (await ok(response))["exchanges"][1]
    assert json.loads(refused["answered"])["code"] == "com.apple.softwareupdate.required"


@pytest.mark.parametrize(
    ("os_version", "body", "reason"),
    [
        (
            "26.5",
            {"code": "com.apple.softwareupdate.required", "details": {"OSVersion": "26.5"}},
            "which the device already runs",
        ),
        (
            "26.5",
            {"code": "com.apple.softwareupdate.required", "details": {"OSVersion": "26.1"}},
            "a device never downgrades, update not possible",
        ),
        ("26.1", {"code": "com.apple.softwareupdate.required", "details": {}}, "has no details"),
        (
            "26.1",
            {"code": "com.apple.softwareupdate.required", "details": {"OSVersion": "twenty-six"}},
            "no usable details.OSVersion",
        ),
        (
            "16.7",
            {"code": "com.apple.softwareupdate.required", "details": {"OSVersion": "26.5"}},
            "did not offer one (no MDM_CAN_REQUEST_SOFTWARE_UPDATE)",
        ),
    ],
)
async def test_what_the_device_cannot_do_fails_in_words(
    client: httpx.AsyncClient,
    mdm: httpx.AsyncClient,
    org: dict[str, Any],
    server: dict[str, Any],
    small: SmallMdm,
    os_version: str,
    body: dict[str, Any],
    reason: str,
) -> None:
    serial = await _open_web_view(client, mdm, org, server, small, os_version)
    small.sign_in_refusal = ("application/json", json.dumps(body).encode())
    failed = await ok(await client.post(f"/emulator/v1/devices/{serial}/web-view/submit", json=SIGN_IN))
    assert failed["state"] == "failed" and reason in failed["detail"], failed
    assert "updates" not in failed and "enrollment" not in failed
    device = await ok(await client.get(f"/emulator/v1/devices/{serial}"))
    assert device["software"]["os_version"] == os_version  # nothing installed
    assert [s.path for s in small.seen].count("/web") == 1  # no new first load
    steps = (await ok(await client.get(f"/emulator/v1/devices/{serial}/mdm/exchanges")))["exchanges"]
    assert steps[-1]["step"] == "software_update" and not steps[-1]["ok"] and reason in steps[-1]["detail"]
    # The view is closed: the user cannot go on.
    again = await client.post(f"/emulator/v1/devices/{serial}/web-view/submit", json=SIGN_IN)
    assert again.status_code == 409 and again.json()["error"]["code"] == "web_view_closed"


async def test_other_403s_in_the_web_view_cancel(
    client: httpx.AsyncClient,
    mdm: httpx.AsyncClient,
    org: dict[str, Any],
    server: dict[str, Any],
    small: SmallMdm,
) -> None:
    serial = await _open_web_view(client, mdm, org, server, small, "26.5")
    small.sign_in_refusal = ("application/json", b'{"code": "com.example.not.allowed", "message": "No."}')
    cancelled = await ok(await client.post(f"/emulator/v1/devices/{serial}/web-view/submit", json=SIGN_IN))
    assert cancelled["state"] == "cancelled"
    assert cancelled["detail"] == "the MDM answered 403 com.example.not.allowed: No."
