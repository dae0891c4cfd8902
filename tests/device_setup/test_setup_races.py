"""The ordering races of device-2026.md §4 as states, not hangs (issue 31 §5): an MDM that sends
commands before the device's TokenUpdate (fleet#32009), and one that never sends DeviceConfigured
(fleet#25671). Against the small test MDM and NanoMDM, through the control API."""

from __future__ import annotations

import itertools
import plistlib
import uuid
from typing import Any

import httpx

from tests.dep_helpers import assign, define
from tests.device_helpers import add_devices, ok
from tests.device_setup.mdm_endpoint import MdmEndpoint, scep_enrollment_profile, sign_profile
from tests.device_setup.real_servers import NanoMdm, ScepServer
from tests.device_setup.small_mdm import SmallMdm

SEEDS = itertools.count(800)
ADMIN = {
    "RequestType": "AccountConfiguration",
    "AutoSetupAdminAccounts": [{"shortName": "ladmin", "fullName": "Local Admin", "hidden": True}],
    "PrimaryAccountUserName": "jane",
    "PrimaryAccountFullName": "Jane Appleseed",
}


async def _mac(
    client: httpx.AsyncClient, mdm: httpx.AsyncClient, org: dict[str, Any], server: dict[str, Any], url: str
) -> str:
    [serial] = await add_devices(
        client,
        org_id=org["id"],
        server_uuid=server["server_uuid"],
        count=1,
        families=["Mac"],
        seed=next(SEEDS),
    )
    profile = await define(mdm, url=url, await_device_configured=True)
    await assign(mdm, profile["profile_uuid"], [serial])
    return serial


async def _setup(client: httpx.AsyncClient, serial: str) -> dict[str, Any]:
    setup: dict[str, Any] = (await ok(await client.get(f"/emulator/v1/devices/{serial}/mdm")))["setup"]
    return setup


def _results(poll: dict[str, Any]) -> dict[str, dict[str, Any]]:
    results = {}
    for step in poll["steps"]:
        if step["step"].startswith("command."):
            sent = plistlib.loads(step["sent"].encode())
            results[sent["CommandUUID"]] = sent
    return results


async def test_commands_sent_before_token_update_wait_for_it(
    client: httpx.AsyncClient,
    mdm: httpx.AsyncClient,
    org: dict[str, Any],
    server: dict[str, Any],
    small: SmallMdm,
) -> None:
    small.ca_pem = (await client.get("/emulator/v1/device-ca")).content
    serial = await _mac(client, mdm, org, server, small.base_url + "/enroll")
    alone = await client.post(f"/emulator/v1/devices/{serial}/activate", json={"hold_token_update": True})
    assert alone.status_code == 422 and "hold_token_update needs enroll" in alone.text
    activated = await ok(
        await client.post(
            f"/emulator/v1/devices/{serial}/activate", json={"enroll": True, "hold_token_update": True}
        )
    )
    assert activated["enrollment"]["outcome"] == "authenticated", activated["enrollment"]
    assert [m["MessageType"] for _, m in small.puts] == ["Authenticate"]
    # The MDM acts on Authenticate (its enrollment webhook) and sends AccountConfiguration at once.
    small.commands.append({"CommandUUID": "AC-EARLY", "Command": ADMIN})

    setup = await _setup(client, serial)
    assert setup["state"] == "token_update_pending" and setup["stalled"] is False
    assert "TokenUpdate held" in setup["report"]
    # The device does not connect yet: a poll is refused with the state's name, not left hanging.
    refused = await client.post(f"/emulator/v1/devices/{serial}/mdm/poll")
    assert refused.status_code == 409 and refused.json()["error"]["code"] == "token_update_pending"
    assert small.commands and len(small.puts) == 1
    # Time passes on the emulator clock: still the same named state, now reported as stalled.
    await ok(await client.post("/emulator/v1/clock", json={"advance_seconds": 3600}))
    setup = await _setup(client, serial)
    assert setup["state"] == "token_update_pending" and setup["stalled"] is True
    assert setup["waited_seconds"] >= 3600

    sent = await ok(await client.post(f"/emulator/v1/devices/{serial}/mdm/token-update"))
    assert sent["ok"] is True and sent["setup"]["state"] == "awaiting_configuration"
    token_update = small.puts[1][1]
    assert token_update["MessageType"] == "TokenUpdate" and token_update["AwaitingConfiguration"] is True
    again = await client.post(f"/emulator/v1/devices/{serial}/mdm/token-update")
    assert again.status_code == 409 and again.json()["error"]["code"] == "token_update_sent"

    # Now the device connects and gets what the MDM queued early; it awaits configuration: it keeps it.
    results = _results(await ok(await client.post(f"/emulator/v1/devices/{serial}/mdm/poll")))
    assert results["AC-EARLY"]["Status"] == "Acknowledged"
    state = await ok(await client.get(f"/emulator/v1/devices/{serial}/mdm"))
    assert [a["short_name"] for a in state["accounts"]] == ["ladmin", "jane"]
    assert state["setup"]["commands_while_waiting"] == 1


async def test_device_configured_never_sent_is_a_state_with_a_report(
    client: httpx.AsyncClient,
    mdm: httpx.AsyncClient,
    org: dict[str, Any],
    server: dict[str, Any],
    small: SmallMdm,
) -> None:
    small.ca_pem = (await client.get("/emulator/v1/device-ca")).content
    serial = await _mac(client, mdm, org, server, small.base_url + "/enroll")
    enrolled = await ok(await client.post(f"/emulator/v1/devices/{serial}/activate", json={"enroll": True}))
    assert enrolled["enrollment"]["outcome"] == "enrolled"
    setup = await _setup(client, serial)
    assert (setup["state"], setup["stalled"], setup["commands_while_waiting"]) == (
        "awaiting_configuration",
        False,
        0,
    )

    # The MDM sends everything but DeviceConfigured.
    small.commands.append({"CommandUUID": "DI-1", "Command": {"RequestType": "DeviceInformation"}})
    poll = await ok(await client.post(f"/emulator/v1/devices/{serial}/mdm/poll"))
    assert poll["outcome"] == "idle"
    info = _results(poll)["DI-1"]["QueryResponses"]
    assert info["AwaitingConfiguration"] is True
    await ok(await client.post("/emulator/v1/clock", json={"advance_seconds": 2 * 3600}))
    setup = await _setup(client, serial)
    assert setup["state"] == "awaiting_configuration" and setup["stalled"] is True
    assert setup["waited_seconds"] >= 2 * 3600 and setup["commands_while_waiting"] == 1
    assert "the MDM has not sent DeviceConfigured for 2.0 hours" in setup["report"]
    # Waiting is not hanging: the device still polls and answers, and still awaits.
    again = await ok(await client.post(f"/emulator/v1/devices/{serial}/mdm/poll"))
    assert again["outcome"] == "idle"
    assert (await _setup(client, serial))["state"] == "awaiting_configuration"

    small.commands.append({"CommandUUID": "DC-1", "Command": {"RequestType": "DeviceConfigured"}})
    await ok(await client.post(f"/emulator/v1/devices/{serial}/mdm/poll"))
    setup = await _setup(client, serial)
    assert setup["state"] == "configured" and "after 2.0 hours of Awaiting Configuration" in setup["report"]
    # A device enrolled without await_device_configured never waited.
    other = await _mac(client, mdm, org, server, small.base_url + "/enroll")
    plain = await define(mdm, url=small.base_url + "/enroll")
    await assign(mdm, plain["profile_uuid"], [other])
    await ok(await client.post(f"/emulator/v1/devices/{other}/activate", json={"enroll": True}))
    assert (await _setup(client, other))["state"] == "not_awaiting"


async def test_nanomdm_keeps_what_was_queued_between_authenticate_and_token_update(
    client: httpx.AsyncClient,
    mdm: httpx.AsyncClient,
    org: dict[str, Any],
    server: dict[str, Any],
    endpoint: MdmEndpoint,
    scep: ScepServer,
    nano: NanoMdm,
) -> None:
    endpoint.profile = sign_profile(
        scep_enrollment_profile(scep_url=scep.url, challenge=scep.challenge, server_url=nano.mdm_url)
    )
    endpoint.ca_pem = (await client.get("/emulator/v1/device-ca")).content
    serial = await _mac(client, mdm, org, server, endpoint.base_url + "/enroll")
    activated = await ok(
        await client.post(
            f"/emulator/v1/devices/{serial}/activate", json={"enroll": True, "hold_token_update": True}
        )
    )
    assert activated["enrollment"]["outcome"] == "authenticated", activated["enrollment"]
    udid = (await ok(await client.get(f"/emulator/v1/devices/{serial}/mdm")))["udid"]
    hooks = await endpoint.webhooks_until(lambda hooks: len(hooks) >= 1)
    assert [w["topic"] for w in hooks] == ["mdm.Authenticate"]
    # NanoMDM's API takes the command although the enrollment is not enabled yet (no push token).
    command_uuid = str(uuid.uuid4()).upper()
    nano.enqueue_raw(udid, plistlib.dumps({"CommandUUID": command_uuid, "Command": ADMIN}))
    refused = await client.post(f"/emulator/v1/devices/{serial}/mdm/poll")
    assert refused.json()["error"]["code"] == "token_update_pending"

    sent = await ok(await client.post(f"/emulator/v1/devices/{serial}/mdm/token-update"))
    assert sent["ok"] is True, sent
    hooks = await endpoint.webhooks_until(lambda hooks: len(hooks) >= 2)
    assert [w["topic"] for w in hooks] == ["mdm.Authenticate", "mdm.TokenUpdate"]
    results = _results(await ok(await client.post(f"/emulator/v1/devices/{serial}/mdm/poll")))
    assert results[command_uuid]["Status"] == "Acknowledged"
    state = await ok(await client.get(f"/emulator/v1/devices/{serial}/mdm"))
    assert state["setup"]["state"] == "awaiting_configuration"
    assert [a["short_name"] for a in state["accounts"]] == ["ladmin", "jane"]
