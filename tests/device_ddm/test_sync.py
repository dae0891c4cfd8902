"""Declarative Device Management on the virtual device against a small DDM server (device-2026.md
§3.1–§3.5): the command, the check-in endpoints, the sync algorithm, the status reports, all
through the control API and the device's exchanges."""

from __future__ import annotations

import json

import httpx

from tests.device_ddm.ddm_server import (
    SIMPLE,
    SUBSCRIPTIONS,
    TEST,
    DdmServer,
    by_id,
    poll,
    reported,
    state,
)


async def test_first_sync_applies_and_reports_then_incremental_and_removal(
    client: httpx.AsyncClient, device: str, ddm: DdmServer
) -> None:
    before = await state(client, device)
    assert before["enabled"] is False and before["declarations"] == []
    ddm.put(TEST, "cfg-ok", {"Echo": "hello"})
    ddm.put(TEST, "cfg-broken", {"Echo": "no", "ReturnStatus": "Failed"})
    ddm.put(TEST, "cfg-idle", {"Echo": "not referenced"})
    ddm.put("com.apple.configuration.example.unsupported", "cfg-unsupported", {"A": 1})
    ddm.put(TEST, "cfg-extra-keys", {"Echo": "x", "Bogus": True})
    ddm.put(
        SIMPLE,
        "act-1",
        {"StandardConfigurations": ["cfg-ok", "cfg-broken", "cfg-unsupported", "cfg-extra-keys"]},
    )
    ddm.put("com.apple.management.organization-info", "org", {"Name": "Example"})
    command_uuid = ddm.sync(with_tokens=False)

    polled = await poll(client, device)
    assert polled["outcome"] == "idle" and polled["commands"] == 1
    assert ddm.results[command_uuid]["Status"] == "Acknowledged"
    # No token in Data: tokens first, then the manifest, each declaration, the status report.
    endpoints = ddm.endpoints()
    assert endpoints[:2] == ["tokens", "declaration-items"] and endpoints[-1] == "status"
    assert sorted(endpoints[2:-1]) == sorted(
        f"declaration/{d['Type'].split('.')[2]}/{i}" for i, d in ddm.declarations.items()
    )
    assert all(m["UDID"] and m["MessageType"] == "DeclarativeManagement" for m in ddm.checkins)
    steps = [s["step"] for s in polled["steps"]]
    assert steps[:2] == ["connect.Idle", "command.DeclarativeManagement"] and steps[-1] == "ddm.status"

    ddm_state = await state(client, device)
    assert ddm_state["enabled"] is True and ddm_state["declarations_token"] == ddm.token
    assert ddm_state["last_sync"]["outcome"] == "applied" and ddm_state["last_sync"]["fetched"] == 7
    held = by_id(ddm_state)
    assert (held["act-1"]["active"], held["act-1"]["valid"]) == (True, "valid")
    assert (held["cfg-ok"]["active"], held["cfg-ok"]["valid"]) == (True, "valid")
    assert held["cfg-broken"]["valid"] == "invalid"
    assert [r["code"] for r in held["cfg-broken"]["reasons"]] == ["Error.ConfigurationFailed"]
    assert [r["code"] for r in held["cfg-unsupported"]["reasons"]] == ["Error.ConfigurationNotSupported"]
    assert held["cfg-extra-keys"]["reasons"][0]["code"] == "Error.UnknownPayloadKeys"
    assert held["cfg-extra-keys"]["reasons"][0]["details"] == {"Keys": ["Bogus"]}
    assert (held["cfg-idle"]["active"], held["cfg-idle"]["valid"]) == (False, "valid")
    assert (held["org"]["active"], held["org"]["valid"]) == (False, "valid")

    # The first report: the device's identity and OS, client capabilities, every declaration.
    assert len(ddm.reports) == 1
    first = ddm.reports[0]
    assert first["Errors"] == [] and "FullReport" in first
    assert first["StatusItems"]["device"]["identifier"]["serial-number"] == device
    assert first["StatusItems"]["device"]["operating-system"]["family"] == "iOS"
    capabilities = first["StatusItems"]["management"]["client-capabilities"]
    assert TEST in capabilities["supported-payloads"]["declarations"]["configurations"]
    assert reported(first, "configurations")["cfg-broken"] == {
        "identifier": "cfg-broken",
        "server-token": ddm.declarations["cfg-broken"]["ServerToken"],
        "active": False,
        "valid": "invalid",
        "reasons": [
            {
                "code": "Error.ConfigurationFailed",
                "description": "Configuration failed",
                "details": {"Echo": "no"},
            }
        ],
    }
    assert reported(first, "activations")["act-1"]["active"] is True
    assert ddm_state["last_report"] == first and ddm_state["reports_sent"] == 1

    # Same token in Data: nothing fetched, nothing reported.
    ddm.checkins.clear()
    ddm.sync()
    await poll(client, device)
    assert ddm.checkins == [] and len(ddm.reports) == 1
    assert (await state(client, device))["last_sync"]["outcome"] == "unchanged"

    # One changed, one removed from the manifest: only the changed one fetched; incremental report.
    ddm.put(TEST, "cfg-ok", {"Echo": "changed"})
    del ddm.declarations["cfg-idle"]
    ddm.sync()
    await poll(client, device)
    assert ddm.endpoints() == ["declaration-items", "declaration/configuration/cfg-ok", "status"]
    second = ddm.reports[-1]
    assert "device" not in second["StatusItems"] and second["FullReport"] is False
    assert "cfg-idle" not in reported(second, "configurations")
    assert (
        reported(second, "configurations")["cfg-ok"]["server-token"]
        == ddm.declarations["cfg-ok"]["ServerToken"]
    )
    after = await state(client, device)
    assert "cfg-idle" not in by_id(after) and after["last_sync"]["removed"] == 1

    # The daily safety sync, asked for through the control API: a full report at the next poll.
    response = await client.put(f"/emulator/v1/devices/{device}/mdm/ddm", json={"full_report": True})
    assert response.status_code == 200 and response.json()["full_report_due"] is True
    assert response.json()["while_awaiting_set"] is False  # left as it was
    ddm.checkins.clear()
    await poll(client, device)
    assert ddm.endpoints() == ["status"]
    full = ddm.reports[-1]
    assert full["FullReport"] is True and full["StatusItems"]["device"]["identifier"]["udid"]
    assert set(reported(full, "configurations")) == {
        "cfg-ok",
        "cfg-broken",
        "cfg-unsupported",
        "cfg-extra-keys",
    }
    assert (await state(client, device))["full_report_due"] is False

    # The device's console page shows the same DDM state.
    page = await client.get(f"/console/devices/{device}")
    assert page.status_code == 200
    part = page.text.split("<h2>Declarative management</h2>", 1)[1].split("<h2>MDM exchanges</h2>", 1)[0]
    assert ddm.token in part and "<code>cfg-broken</code>" in part and "Error.ConfigurationFailed" in part
    assert "cfg-idle" not in part


async def test_404_removes_a_declaration_and_5xx_fails_the_sync(
    client: httpx.AsyncClient, device: str, ddm: DdmServer
) -> None:
    ddm.put(TEST, "cfg-a", {"Echo": "a"})
    ddm.put(TEST, "cfg-b", {"Echo": "b"})
    ddm.put(SIMPLE, "act", {"StandardConfigurations": ["cfg-a", "cfg-b"]})
    ddm.forced["declaration/configuration/cfg-b"] = 404
    ddm.sync()
    await poll(client, device)
    held = by_id(await state(client, device))
    assert "cfg-b" not in held  # a 404 on a fetch: gone, removed
    assert held["act"]["valid"] == "invalid"
    assert held["act"]["reasons"][0] == {
        "code": "Error.MissingConfigurations",
        "description": "Activation references missing configurations",
        "details": {"Identifiers": ["cfg-b"]},
    }
    assert held["cfg-a"]["active"] is False  # its activation failed

    # A 5xx (NanoMDM's answer for a missing declaration) is a failed sync: nothing changes.
    del ddm.forced["declaration/configuration/cfg-b"]
    ddm.put(TEST, "cfg-a", {"Echo": "a2"})
    ddm.forced["declaration/configuration/cfg-a"] = 500
    reports = len(ddm.reports)
    ddm.sync()
    polled = await poll(client, device)
    failed = await state(client, device)
    assert failed["last_sync"]["outcome"] == "failed"
    assert "declaration/configuration/cfg-a" in failed["last_sync"]["problem"]
    assert "HTTP 500" in failed["last_sync"]["problem"]
    assert by_id(failed)["cfg-a"]["payload"] == {"Echo": "a"} and len(ddm.reports) == reports
    assert any(s["step"] == "ddm.declaration" and not s["ok"] and s["status"] == 500 for s in polled["steps"])

    # Once the server answers, the next sync catches up.
    del ddm.forced["declaration/configuration/cfg-a"]
    ddm.sync()
    await poll(client, device)
    healed = by_id(await state(client, device))
    assert healed["act"]["active"] is True and healed["cfg-a"]["payload"] == {"Echo": "a2"}


async def test_a_manifest_without_all_four_arrays_is_a_failed_sync(
    client: httpx.AsyncClient, device: str, ddm: DdmServer
) -> None:
    ddm.forced["declaration-items"] = 200  # answered "forced": not JSON
    ddm.sync()
    await poll(client, device)
    problem = (await state(client, device))["last_sync"]["problem"]
    assert problem == "declaration-items: the answer is not JSON"


async def test_status_subscriptions_and_unknown_items(
    client: httpx.AsyncClient, device: str, ddm: DdmServer
) -> None:
    ddm.put(
        SUBSCRIPTIONS,
        "subs",
        {
            "StatusItems": [
                {"Name": "device.operating-system.version"},
                {"Name": "device.power.battery-health"},
            ]
        },
    )
    ddm.put(SIMPLE, "act", {"StandardConfigurations": ["subs"]})
    ddm.sync()
    await poll(client, device)
    ddm_state = await state(client, device)
    assert ddm_state["subscribed_status_items"] == [
        "device.operating-system.version",
        "device.power.battery-health",
    ]
    report = ddm.reports[-1]
    assert report["Errors"] == [
        {
            "StatusItem": "device.power.battery-health",
            "Reasons": [
                {
                    "Code": "Error.StatusItemNotSupported",
                    "Description": "device.power.battery-health is not a status item of this device",
                }
            ],
        }
    ]
    assert report["StatusItems"]["device"]["operating-system"]["version"]


async def test_a_broken_declaration_and_the_bare_token_shape(
    client: httpx.AsyncClient, device: str, ddm: DdmServer
) -> None:
    ddm.put(TEST, "cfg", {"Echo": "x"})
    ddm.declarations["cfg"]["Type"] = "com.apple.configuration.management.test"
    ddm.declarations["cfg"].pop("Payload")
    # Apple's article words Data as a bare {"DeclarationsToken": ...}: accepted too.
    ddm.sync(data=json.dumps({"DeclarationsToken": ddm.token}).encode())
    await poll(client, device)
    held = by_id(await state(client, device))
    assert held["cfg"]["valid"] == "invalid"
    assert held["cfg"]["reasons"][0]["code"] == "Error.ConfigurationCannotBeDeserialized"

    # Data that holds no tokens: the command fails, no sync.
    ddm.checkins.clear()
    command_uuid = ddm.sync(data=b"not json")
    await poll(client, device)
    assert ddm.results[command_uuid]["Status"] == "Error" and ddm.checkins == []
