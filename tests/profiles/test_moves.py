"""A device moved to another MDM server and back, with profiles (spec §8.4; scenario 11, fleet#39871)."""

from __future__ import annotations

from typing import Any

import httpx
from fastapi import FastAPI

from tests.dep_helpers import assign, define, second_server
from tests.device_helpers import add_devices, move_devices
from tests.devices.helpers import fetch_all, sync_all


async def test_move_away_and_back(
    app: FastAPI,
    client: httpx.AsyncClient,
    mdm: httpx.AsyncClient,
    org: dict[str, Any],
    server: dict[str, Any],
) -> None:
    [serial] = await add_devices(client, org_id=org["id"], server_uuid=server["server_uuid"], count=1)
    _, cursor_a = await fetch_all(mdm)
    profile_a = (await define(mdm))["profile_uuid"]
    assert (await assign(mdm, profile_a, [serial])).json()["devices"] == {serial: "SUCCESS"}

    async with second_server(app, client, org["id"]) as (server_b, mdm_b):
        _, cursor_b = await fetch_all(mdm_b)
        await move_devices(client, org_id=org["id"], server_uuid=server_b["server_uuid"], serials=[serial])

        # A: deleted; its assign and remove now answer NOT_ACCESSIBLE.
        seen, cursor_a = await sync_all(mdm, cursor_a)
        assert [(e["op_type"], e.get("profile_status")) for e in seen] == [
            ("modified", "assigned"),
            ("deleted", "assigned"),
        ]
        assert (await assign(mdm, profile_a, [serial])).json()["devices"] == {serial: "NOT_ACCESSIBLE"}
        removed = await mdm.request("DELETE", "/profile/devices", json={"devices": [serial]})
        assert removed.json() == {"devices": {serial: "NOT_ACCESSIBLE"}}
        # B: modified with profile_status removed and A's profile_uuid (not added).
        seen, cursor_b = await sync_all(mdm_b, cursor_b)
        assert [(e["op_type"], e["profile_status"], e["profile_uuid"]) for e in seen] == [
            ("modified", "removed", profile_a)
        ]
        # The device gets no profile while it sits on B with none assigned there.
        activation = (await client.post(f"/emulator/v1/devices/{serial}/activate")).json()
        assert activation["outcome"] == "no_profile"
        # B can assign its own profile; A's profile is not B's to use.
        assert (await assign(mdm_b, profile_a, [serial])).status_code == 404
        profile_b = (await define(mdm_b))["profile_uuid"]
        assert (await assign(mdm_b, profile_b, [serial])).json()["devices"] == {serial: "SUCCESS"}

        # Back to A: A sees modified/removed carrying B's uuid, then can assign again.
        await move_devices(client, org_id=org["id"], server_uuid=server["server_uuid"], serials=[serial])
        seen, cursor_a = await sync_all(mdm, cursor_a)
        assert [(e["op_type"], e["profile_status"], e["profile_uuid"]) for e in seen] == [
            ("modified", "removed", profile_b)
        ]
        seen, _ = await sync_all(mdm_b, cursor_b)
        assert [e["op_type"] for e in seen][-1] == "deleted"
        assert (await assign(mdm_b, profile_b, [serial])).json()["devices"] == {serial: "NOT_ACCESSIBLE"}
    assert (await assign(mdm, profile_a, [serial])).json()["devices"] == {serial: "SUCCESS"}
    activation = (await client.post(f"/emulator/v1/devices/{serial}/activate")).json()
    assert (activation["outcome"], activation["profile_uuid"]) == ("downloaded", profile_a)


async def test_reassign_to_the_same_server_drops_the_profile(
    client: httpx.AsyncClient, mdm: httpx.AsyncClient, org: dict[str, Any], server: dict[str, Any]
) -> None:
    """fleet#39871: the profile is removed (uuid kept) and must be assigned again."""
    [serial] = await add_devices(client, org_id=org["id"], server_uuid=server["server_uuid"], count=1)
    profile = (await define(mdm))["profile_uuid"]
    await assign(mdm, profile, [serial])
    _, cursor = await fetch_all(mdm)
    await move_devices(client, org_id=org["id"], server_uuid=server["server_uuid"], serials=[serial])
    seen, _ = await sync_all(mdm, cursor)
    assert [(e["op_type"], e["profile_status"], e["profile_uuid"]) for e in seen] == [
        ("modified", "removed", profile)
    ]
    assert (await client.post(f"/emulator/v1/devices/{serial}/activate")).json()["outcome"] == "no_profile"
    assert (await assign(mdm, profile, [serial])).json()["devices"] == {serial: "SUCCESS"}
