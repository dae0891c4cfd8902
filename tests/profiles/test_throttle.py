"""Per-device assignment throttling and the cooldown that hides devices from sync (§12; scenarios 10, 12)."""

from __future__ import annotations

from typing import Any

import asyncpg
import httpx
import pytest

from tests.conftest import snapshot
from tests.dep_helpers import assign, define, device_row, events
from tests.device_helpers import add_devices, move_devices
from tests.devices.helpers import fetch_all, sync_all

DAY = 86400
RULE = {"max_assigns": 2, "window_seconds": 600, "cooldown_seconds": DAY}


@pytest.fixture
async def serials(client: httpx.AsyncClient, org: dict[str, Any], server: dict[str, Any]) -> list[str]:
    return await add_devices(client, org_id=org["id"], server_uuid=server["server_uuid"], count=2)


async def set_rule(client: httpx.AsyncClient, org_id: str, **rule: Any) -> dict[str, Any]:
    response = await client.put(f"/emulator/v1/orgs/{org_id}/assignment-throttle", json=rule)
    assert response.status_code == 200, response.text
    data: dict[str, Any] = response.json()
    return data


async def advance(client: httpx.AsyncClient, seconds: float) -> None:
    response = await client.post("/emulator/v1/clock", json={"advance_seconds": seconds})
    assert response.status_code == 200, response.text


async def test_rule_defaults_and_validation(client: httpx.AsyncClient, org: dict[str, Any]) -> None:
    url = f"/emulator/v1/orgs/{org['id']}/assignment-throttle"
    assert (await client.get(url)).json() == {
        "max_assigns": None,
        "window_seconds": 3600,
        "cooldown_seconds": DAY,
        "hide_from_sync": True,
    }
    assert await set_rule(client, org["id"], **RULE) == {**RULE, "hide_from_sync": True}
    assert (await client.get(url)).json()["max_assigns"] == 2
    assert (await client.put(url, json={"max_assigns": -1})).status_code == 422
    assert (await client.put(url, json={"bogus": 1})).status_code == 422
    assert (await client.get("/emulator/v1/orgs/999/assignment-throttle")).status_code == 404
    # The rule lives beside the org's other switches without disturbing them.
    patched = await client.patch(f"/emulator/v1/orgs/{org['id']}/settings", json={"apple_seed_for_it": False})
    assert patched.status_code == 200
    assert (await client.get(url)).json()["max_assigns"] == 2


async def test_no_throttling_by_default(mdm: httpx.AsyncClient, serials: list[str]) -> None:
    uuid = (await define(mdm))["profile_uuid"]
    for _ in range(6):
        assert (await assign(mdm, uuid, serials[:1])).json()["devices"] == {serials[0]: "SUCCESS"}


async def test_throttled_then_cooldown_ends(
    client: httpx.AsyncClient,
    mdm: httpx.AsyncClient,
    pg: asyncpg.Connection,
    org: dict[str, Any],
    serials: list[str],
) -> None:
    await set_rule(client, org["id"], **RULE)
    uuid = (await define(mdm))["profile_uuid"]
    other = (await define(mdm, profile_name="Other"))["profile_uuid"]
    for _ in range(2):
        assert (await assign(mdm, uuid, serials[:1])).json() == {
            "profile_uuid": uuid,
            "devices": {serials[0]: "SUCCESS"},
        }
    before = await snapshot(pg)
    throttled = await assign(mdm, other, serials[:1])
    assert throttled.status_code == 200
    assert throttled.json() == {
        "profile_uuid": other,
        "devices": {serials[0]: "THROTTLED"},
        "retry_after_seconds": DAY,
    }
    # The throttled device is unchanged; only the cooldown was written.
    assert (await device_row(pg, serials[0]))["profile_uuid"] == uuid
    after = await snapshot(pg)
    assert {t for t in after if after[t] != before[t]} <= {
        "assignment_cooldown",
        "assignment_attempt",
        "auth_session",
    }

    # Still throttled near the end of the cooldown, with the remaining time; other devices are not.
    await advance(client, DAY - 100)
    response = await assign(mdm, other, serials)
    assert response.json() == {
        "profile_uuid": other,
        "devices": {serials[0]: "THROTTLED", serials[1]: "SUCCESS"},
        "retry_after_seconds": 100,
    }
    listed = (await client.get(f"/emulator/v1/orgs/{org['id']}/assignment-cooldowns")).json()["cooldowns"]
    assert [(c["serial_number"], c["hidden_from_sync"]) for c in listed] == [(serials[0], True)]

    await advance(client, 101)
    assert (await assign(mdm, other, serials[:1])).json()["devices"] == {serials[0]: "SUCCESS"}
    assert (await device_row(pg, serials[0]))["profile_uuid"] == other
    assert (await client.get(f"/emulator/v1/orgs/{org['id']}/assignment-cooldowns")).json() == {
        "cooldowns": []
    }


@pytest.mark.parametrize(
    ("version", "expected"),
    [
        ("10", {"status": "THROTTLED", "retry_after_seconds": DAY}),
        ("9", {"status": "THROTTLED"}),
        ("8", {"status": "FAILED"}),
        ("3", {"status": "FAILED"}),
    ],
)
async def test_throttled_by_protocol_version(
    client: httpx.AsyncClient,
    mdm: httpx.AsyncClient,
    org: dict[str, Any],
    serials: list[str],
    version: str,
    expected: dict[str, Any],
) -> None:
    await set_rule(client, org["id"], max_assigns=1, window_seconds=600, cooldown_seconds=DAY)
    uuid = (await define(mdm))["profile_uuid"]
    await assign(mdm, uuid, serials[:1])
    mdm.headers["X-Server-Protocol-Version"] = version
    body = (await assign(mdm, uuid, serials[:1])).json()
    assert body["devices"] == {serials[0]: expected["status"]}
    assert body.get("retry_after_seconds") == expected.get("retry_after_seconds")
    assert set(body) <= {"profile_uuid", "devices", "retry_after_seconds"}


async def test_define_with_devices_reports_failed(
    client: httpx.AsyncClient, mdm: httpx.AsyncClient, org: dict[str, Any], serials: list[str]
) -> None:
    """Define knows only SUCCESS, NOT_ACCESSIBLE and FAILED (spec §11)."""
    await set_rule(client, org["id"], max_assigns=1, window_seconds=600)
    await define(mdm, devices=serials[:1])
    response = await mdm.post(
        "/profile", json={"profile_name": "p", "url": "https://x.example", "devices": serials}
    )
    assert response.json()["devices"] == {serials[0]: "FAILED", serials[1]: "SUCCESS"}


async def test_window_slides(
    client: httpx.AsyncClient, mdm: httpx.AsyncClient, org: dict[str, Any], serials: list[str]
) -> None:
    await set_rule(client, org["id"], **RULE)
    uuid = (await define(mdm))["profile_uuid"]
    await assign(mdm, uuid, serials[:1])
    await assign(mdm, uuid, serials[:1])
    await advance(client, 601)
    assert (await assign(mdm, uuid, serials[:1])).json()["devices"] == {serials[0]: "SUCCESS"}
    assert (await assign(mdm, uuid, serials[:1])).json()["devices"] == {serials[0]: "SUCCESS"}
    assert (await assign(mdm, uuid, serials[:1])).json()["devices"] == {serials[0]: "THROTTLED"}


async def test_counting_restarts_after_a_cooldown(
    client: httpx.AsyncClient, mdm: httpx.AsyncClient, org: dict[str, Any], serials: list[str]
) -> None:
    await set_rule(client, org["id"], max_assigns=2, window_seconds=10 * DAY, cooldown_seconds=60)
    uuid = (await define(mdm))["profile_uuid"]
    results = []
    for _ in range(3):
        results.append((await assign(mdm, uuid, serials[:1])).json()["devices"][serials[0]])
    await advance(client, 61)
    for _ in range(3):
        results.append((await assign(mdm, uuid, serials[:1])).json()["devices"][serials[0]])
    assert results == ["SUCCESS", "SUCCESS", "THROTTLED"] * 2


async def test_turning_the_rule_off_ends_cooldowns(
    client: httpx.AsyncClient, mdm: httpx.AsyncClient, org: dict[str, Any], serials: list[str]
) -> None:
    await set_rule(client, org["id"], max_assigns=0, window_seconds=60)
    uuid = (await define(mdm))["profile_uuid"]
    assert (await assign(mdm, uuid, serials[:1])).json()["devices"] == {serials[0]: "THROTTLED"}
    await set_rule(client, org["id"], max_assigns=None)
    assert (await assign(mdm, uuid, serials[:1])).json()["devices"] == {serials[0]: "SUCCESS"}


async def test_device_in_cooldown_is_left_out_of_sync(
    client: httpx.AsyncClient,
    mdm: httpx.AsyncClient,
    pg: asyncpg.Connection,
    org: dict[str, Any],
    server: dict[str, Any],
    serials: list[str],
) -> None:
    """Scenario 10: no events of a device in cooldown reach sync, not even `deleted`; fetch still lists it."""
    _, cursor = await fetch_all(mdm)
    await set_rule(client, org["id"], max_assigns=1, window_seconds=600, cooldown_seconds=DAY)
    uuid = (await define(mdm))["profile_uuid"]
    await assign(mdm, uuid, serials)  # both: one modified event each
    assert (await assign(mdm, uuid, serials[:1])).json()["devices"] == {serials[0]: "THROTTLED"}
    await mdm.request("DELETE", "/profile/devices", json={"devices": serials})  # modified each

    seen, cursor = await sync_all(mdm, cursor)
    assert [(e["serial_number"], e["op_type"]) for e in seen] == [
        (serials[1], "modified"),
        (serials[1], "modified"),
    ]
    assert len([e for e in await events(pg, serials[0]) if e["op_type"] == "modified"]) == 2  # recorded
    fetched, _ = await fetch_all(mdm)
    assert {d["serial_number"] for d in fetched} == set(serials)

    # Moved away to another server while hidden: the old server gets no `deleted` either.
    other = (
        await client.post(f"/emulator/v1/orgs/{org['id']}/mdm-servers", json={"server_name": "B"})
    ).json()
    await move_devices(client, org_id=org["id"], server_uuid=other["server_uuid"], serials=serials[:1])
    seen, cursor = await sync_all(mdm, cursor)
    assert seen == []

    # After the cooldown, new events show up again (what was hidden stays lost, as observed).
    await advance(client, DAY + 1)
    await move_devices(client, org_id=org["id"], server_uuid=server["server_uuid"], serials=serials[:1])
    seen, _ = await sync_all(mdm, cursor)
    assert [(e["serial_number"], e["op_type"], e["profile_status"]) for e in seen] == [
        (serials[0], "modified", "removed")
    ]


async def test_hiding_can_be_switched_off(
    client: httpx.AsyncClient, mdm: httpx.AsyncClient, org: dict[str, Any], serials: list[str]
) -> None:
    _, cursor = await fetch_all(mdm)
    await set_rule(client, org["id"], max_assigns=1, window_seconds=600, hide_from_sync=False)
    uuid = (await define(mdm))["profile_uuid"]
    assert (await assign(mdm, uuid, serials[:1])).json()["devices"] == {serials[0]: "SUCCESS"}
    assert (await assign(mdm, uuid, serials[:1])).json()["devices"] == {serials[0]: "THROTTLED"}
    await mdm.request("DELETE", "/profile/devices", json={"devices": serials[:1]})
    await move_devices(client, org_id=org["id"], server_uuid=None, serials=serials[:1])
    seen, _ = await sync_all(mdm, cursor)
    assert [(e["serial_number"], e["op_type"]) for e in seen] == [
        (serials[0], "modified"),
        (serials[0], "modified"),
        (serials[0], "deleted"),
    ]
