"""Web authentication in Setup Assistant (configuration_web_url, issue 31 §4) completed through
the control API against the small test MDM: sign-in form, one cookie jar, redirect, profile."""

from __future__ import annotations

import itertools
from typing import Any

import httpx
from dep_emulator.device_mdm.web_page import host_allowed

from tests.dep_helpers import assign, define
from tests.device_helpers import add_devices, ok
from tests.device_setup.small_mdm import SmallMdm

SEEDS = itertools.count(300)


async def _web_device(
    client: httpx.AsyncClient,
    mdm: httpx.AsyncClient,
    org: dict[str, Any],
    server: dict[str, Any],
    small: SmallMdm,
    web_base: str | None = None,
) -> str:
    [serial] = await add_devices(
        client,
        org_id=org["id"],
        server_uuid=server["server_uuid"],
        count=1,
        families=["iPhone"],
        seed=next(SEEDS),
    )
    small.ca_pem = (await client.get("/emulator/v1/device-ca")).content
    profile = await define(
        mdm,
        url=small.base_url + "/enroll",
        configuration_web_url=(web_base or small.base_url) + "/web",
        await_device_configured=True,
    )
    await assign(mdm, profile["profile_uuid"], [serial])
    return serial


async def test_a_test_signs_in_and_the_device_enrolls(
    client: httpx.AsyncClient,
    mdm: httpx.AsyncClient,
    org: dict[str, Any],
    server: dict[str, Any],
    small: SmallMdm,
) -> None:
    serial = await _web_device(client, mdm, org, server, small)
    activated = await ok(
        await client.post(f"/emulator/v1/devices/{serial}/activate", json={"contact_mdm": True})
    )
    view = activated["web_view"]
    assert (view["state"], view["title"], view["status"]) == ("open", "Example MDM sign-in", 200)
    assert "Sign in to enroll" in view["text"]
    [form] = view["forms"]
    assert form["method"] == "POST" and form["action"] == small.base_url + "/web/login"
    assert [(f["name"], f["type"], f["label"]) for f in form["fields"]] == [
        ("serial", "hidden", "serial"),
        ("username", "text", "User name"),
        ("password", "password", "Password"),
    ]
    assert view["links"] == [{"index": 0, "href": small.base_url + "/web/help", "text": "Need help?"}]
    # The first load carried the signed MachineInfo in x-apple-aspen-deviceinfo.
    [first] = small.seen
    assert (first.method, first.path, first.verified) == ("GET", "/web", True)
    assert first.info is not None and first.info["SERIAL"] == serial
    assert await ok(await client.get(f"/emulator/v1/devices/{serial}/web-view")) == view

    # A wrong password: the MDM shows its form again, the device stays in the web view.
    wrong = await ok(
        await client.post(
            f"/emulator/v1/devices/{serial}/web-view/submit",
            json={"fields": {"username": "alice", "password": "nope"}},
        )
    )
    assert wrong["state"] == "open" and "Wrong user name or password." in wrong["text"]
    # The right one: the MDM sees the cookie it set on the first load, redirects to the profile.
    done = await ok(
        await client.post(
            f"/emulator/v1/devices/{serial}/web-view/submit",
            json={"fields": {"username": "alice", "password": "wonderland"}},
        )
    )
    assert done["state"] == "enrolled", done
    assert done["url"] == small.base_url + "/web/profile"
    assert done["enrollment"]["outcome"] == "enrolled", done["enrollment"]
    assert done["enrollment"]["awaiting_configuration"] is True
    assert [p["cookie"] for p in small.web_puts] == [f"pending-{serial}", f"pending-{serial}"]
    state = await ok(await client.get(f"/emulator/v1/devices/{serial}/mdm"))
    assert state["awaiting_configuration"] is True
    assert small.puts[0][1]["MessageType"] == "Authenticate"

    steps = (await ok(await client.get(f"/emulator/v1/devices/{serial}/mdm/exchanges")))["exchanges"]
    names = [s["step"] for s in steps]
    assert names[:5] == [
        "web_view.load",
        "web_view.submit",
        "web_view.submit",
        "web_view.redirect",
        "profile.fetch",
    ]
    assert steps[1]["sent"] == f"serial={serial}&username=alice&password=•••"  # passwords masked
    assert steps[2]["status"] == 302 and "redirected to" in steps[2]["detail"]
    # The view is closed now.
    closed = await client.post(f"/emulator/v1/devices/{serial}/web-view/follow", json={"link": 0})
    assert closed.status_code == 409 and closed.json()["error"]["code"] == "web_view_closed"


async def test_links_404_and_bad_requests(
    client: httpx.AsyncClient,
    mdm: httpx.AsyncClient,
    org: dict[str, Any],
    server: dict[str, Any],
    small: SmallMdm,
) -> None:
    serial = await _web_device(client, mdm, org, server, small)
    await ok(await client.post(f"/emulator/v1/devices/{serial}/activate", json={"contact_mdm": True}))
    for body, code in (
        ({"form": 3}, "no_such_form"),
        ({"fields": {"nope": "x"}}, "no_such_field"),
    ):
        response = await client.post(f"/emulator/v1/devices/{serial}/web-view/submit", json=body)
        assert response.status_code == 422 and response.json()["error"]["code"] == code
    for body, code in (
        ({"link": 5}, "no_such_link"),
        ({}, "validation_error"),
        ({"url": "javascript:x"}, "unsupported_link"),
    ):
        response = await client.post(f"/emulator/v1/devices/{serial}/web-view/follow", json=body)
        assert response.status_code == 422 and response.json()["error"]["code"] == code, response.text
    helped = await ok(await client.post(f"/emulator/v1/devices/{serial}/web-view/follow", json={"link": 0}))
    assert "Call the help desk." in helped["text"]
    gone = await ok(await client.post(f"/emulator/v1/devices/{serial}/web-view/follow", json={"link": 0}))
    assert gone["state"] == "cancelled" and "404" in gone["detail"]
    # Erasing closes it; a device without one answers 409.
    await client.post(f"/emulator/v1/devices/{serial}/erase")
    response = await client.get(f"/emulator/v1/devices/{serial}/web-view")
    assert response.status_code == 409 and response.json()["error"]["code"] == "no_web_view"


async def test_minimum_os_on_the_first_load_and_the_profile_host_rule(
    client: httpx.AsyncClient,
    mdm: httpx.AsyncClient,
    org: dict[str, Any],
    server: dict[str, Any],
    small: SmallMdm,
) -> None:
    # The MDM requires 26.5 on the web view's first load: the device updates and loads it again.
    serial = await _web_device(client, mdm, org, server, small)
    await client.patch(f"/emulator/v1/devices/{serial}", json={"os_version": "26.1"})
    small.required = "26.5"
    activated = await ok(
        await client.post(f"/emulator/v1/devices/{serial}/activate", json={"contact_mdm": True})
    )
    assert [u["to_version"] for u in activated["updates"]] == ["26.5"]
    assert activated["web_view"]["state"] == "open"
    assert [s.info["OS_VERSION"] for s in small.seen if s.info] == ["26.1", "26.5"]
    small.required = None

    # A profile from another host than configuration_web_url's is refused (whole-host rule).
    other = await _web_device(
        client, mdm, org, server, small, web_base=small.base_url.replace("127.0.0.1", "localhost")
    )
    await ok(await client.post(f"/emulator/v1/devices/{other}/activate", json={"contact_mdm": True}))
    small.profile_base = small.base_url
    refused = await ok(
        await client.post(
            f"/emulator/v1/devices/{other}/web-view/submit",
            json={"fields": {"username": "alice", "password": "wonderland"}},
        )
    )
    assert refused["state"] == "failed"
    assert "the profile came from 127.0.0.1, not from localhost" in refused["detail"]
    assert "enrollment" not in refused


def test_host_rules() -> None:
    assert host_allowed("https://mdm.example.com/p", "https://mdm.example.com/web", "whole_host")
    assert host_allowed("https://MDM.example.com/p", "https://mdm.example.com/web", "whole_host")
    assert not host_allowed("https://auth.example.com/p", "https://mdm.example.com/web", "whole_host")
    assert host_allowed("https://auth.example.com/p", "https://mdm.example.com/web", "last_two_labels")
    assert not host_allowed("https://auth.example.org/p", "https://mdm.example.com/web", "last_two_labels")
