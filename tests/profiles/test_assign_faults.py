"""Scripted per-device outcomes on assign (fault kind `device_status`, spec §12.4)."""

from __future__ import annotations

from typing import Any

import asyncpg
import httpx
import pytest

from tests.dep_helpers import assign, define, device_row
from tests.device_helpers import add_devices
from tests.traffic.support import journal


@pytest.fixture
async def serials(client: httpx.AsyncClient, org: dict[str, Any], server: dict[str, Any]) -> list[str]:
    return await add_devices(client, org_id=org["id"], server_uuid=server["server_uuid"], count=2)


async def script(client: httpx.AsyncClient, endpoint: str, **entry: Any) -> None:
    response = await client.post("/emulator/v1/faults", json={"endpoint": endpoint, "responses": [entry]})
    assert response.status_code == 201, response.text


async def test_throttled_fault_fires_count_times_then_stops(
    client: httpx.AsyncClient, mdm: httpx.AsyncClient, pg: asyncpg.Connection, serials: list[str]
) -> None:
    uuid = (await define(mdm))["profile_uuid"]
    await script(client, "PUT /profile/devices", count=2, device_status="THROTTLED", retry_after_seconds=600)
    for _ in range(2):
        response = await assign(mdm, uuid, [*serials, "NOT-MINE"])
        assert response.json() == {
            "profile_uuid": uuid,
            "devices": {serials[0]: "THROTTLED", serials[1]: "THROTTLED", "NOT-MINE": "NOT_ACCESSIBLE"},
            "retry_after_seconds": 600,
        }
        assert (await device_row(pg, serials[0]))["profile_status"] == "empty"  # nothing was assigned
    response = await assign(mdm, uuid, serials)
    assert response.json() == {"profile_uuid": uuid, "devices": dict.fromkeys(serials, "SUCCESS")}
    # the journal says which requests the script shaped (applied by the endpoint, not the middleware)
    entries = await journal(client, endpoint="PUT /profile/devices")
    assert [(e["status"], e["fault"], e["fault_id"] is not None) for e in entries] == [
        (200, "device_status THROTTLED", True),
        (200, "device_status THROTTLED", True),
        (200, None, False),
    ]


async def test_throttled_is_failed_below_protocol_9_and_method_scoped(
    client: httpx.AsyncClient, mdm: httpx.AsyncClient, serials: list[str]
) -> None:
    uuid = (await define(mdm))["profile_uuid"]
    await script(client, "POST /profile/devices", count=1, device_status="THROTTLED", retry_after_seconds=60)
    # A PUT does not consume a POST-scoped fault.
    assert (await assign(mdm, uuid, serials[:1], "PUT")).json()["devices"] == {serials[0]: "SUCCESS"}
    mdm.headers["X-Server-Protocol-Version"] = "8"
    response = await assign(mdm, uuid, serials[:1], "POST")
    assert response.json() == {"profile_uuid": uuid, "devices": {serials[0]: "FAILED"}}


async def test_failed_fault_on_any_method(
    client: httpx.AsyncClient, mdm: httpx.AsyncClient, serials: list[str]
) -> None:
    uuid = (await define(mdm))["profile_uuid"]
    await script(client, "* /profile/devices", count=1, device_status="FAILED")
    response = await assign(mdm, uuid, serials, "POST")
    assert response.json() == {"profile_uuid": uuid, "devices": dict.fromkeys(serials, "FAILED")}
    fault = (await client.get("/emulator/v1/faults")).json()["faults"][0]
    assert fault["fired"] == 1 and fault["exhausted"] is True
