"""POST /device/activationlock (spec §6.6; scenario 19) and the control API's view of the lock."""

from __future__ import annotations

from typing import Any

import asyncpg
import httpx
import pytest
from fastapi import FastAPI

from tests.conftest import snapshot
from tests.dep_helpers import second_server
from tests.device_helpers import add_devices

ESCROW = "5ba3f6b8c1d2e4f60718293a4b5c6d7e8f90a1b2c3d4e5f60718293a4b5c6d7e"
LOCK = "/device/activationlock"


@pytest.fixture
async def iphone(client: httpx.AsyncClient, org: dict[str, Any], server: dict[str, Any]) -> str:
    serials = await add_devices(
        client, org_id=org["id"], server_uuid=server["server_uuid"], count=1, families=["iPhone"]
    )
    return serials[0]


async def lock(mdm: httpx.AsyncClient, body: Any) -> tuple[int, Any]:
    response = await mdm.post(LOCK, json=body)
    if response.status_code == 200:
        assert response.headers["content-type"] == "application/json;charset=UTF8"
        return 200, response.json()
    return response.status_code, response.text


async def test_lock_with_escrow_key(
    client: httpx.AsyncClient, mdm: httpx.AsyncClient, server: dict[str, Any], iphone: str
) -> None:
    body = {"device": iphone, "escrow_key": ESCROW, "lost_message": "Return to IT"}
    assert await lock(mdm, body) == (200, {"serial_number": iphone, "response_status": "SUCCESS"})
    state = (await client.get(f"/emulator/v1/devices/{iphone}/activation-lock")).json()
    assert state["locked"] is True and state["locked_at"]
    assert (state["escrow_key"], state["lost_message"], state["locked_to"]) == (ESCROW, "Return to IT", None)
    assert state["server_uuid"] == server["server_uuid"]
    # A second request: already locked, and the stored key is kept.
    again = {"device": iphone, "escrow_key": "other"}
    assert await lock(mdm, again) == (
        200,
        {"serial_number": iphone, "response_status": "DEVICE_ALREADY_LOCKED"},
    )
    assert (await client.get(f"/emulator/v1/devices/{iphone}/activation-lock")).json()["escrow_key"] == ESCROW


async def test_lock_without_escrow_key_locks_to_the_admin(
    client: httpx.AsyncClient, mdm: httpx.AsyncClient, org: dict[str, Any], iphone: str
) -> None:
    assert (await lock(mdm, {"device": iphone}))[1]["response_status"] == "SUCCESS"
    state = (await client.get(f"/emulator/v1/devices/{iphone}/activation-lock")).json()
    assert (state["escrow_key"], state["locked_to"]) == (None, org["email"])


async def test_unlock_through_the_control_api(
    client: httpx.AsyncClient, mdm: httpx.AsyncClient, iphone: str
) -> None:
    await lock(mdm, {"device": iphone})
    response = await client.delete(f"/emulator/v1/devices/{iphone}/activation-lock")
    assert response.status_code == 200 and response.json()["locked"] is False
    assert (await lock(mdm, {"device": iphone}))[1]["response_status"] == "SUCCESS"


async def test_not_accessible(
    app: FastAPI,
    client: httpx.AsyncClient,
    mdm: httpx.AsyncClient,
    org: dict[str, Any],
    pg: asyncpg.Connection,
) -> None:
    async with second_server(app, client, org["id"]) as (other, _):
        theirs = await add_devices(client, org_id=org["id"], server_uuid=other["server_uuid"], count=1)
    unassigned = await add_devices(client, org_id=org["id"], server_uuid=None, count=1, seed=9)
    await mdm.get("/account")
    before = await snapshot(pg)
    for serial in (theirs[0], unassigned[0], "NOSUCHSERIAL", "bad\u0000serial"):
        assert await lock(mdm, {"device": serial}) == (
            200,
            {"serial_number": serial, "response_status": "NOT_ACCESSIBLE"},
        )
    assert await snapshot(pg) == before


async def test_org_not_supported(
    client: httpx.AsyncClient, mdm: httpx.AsyncClient, org: dict[str, Any], iphone: str
) -> None:
    response = await client.patch(
        f"/emulator/v1/orgs/{org['id']}/settings", json={"activation_lock_supported": False}
    )
    assert response.status_code == 200 and response.json()["activation_lock_supported"] is False
    assert await lock(mdm, {"device": iphone}) == (
        200,
        {"serial_number": iphone, "response_status": "ORG_NOT_SUPPORTED"},
    )
    assert (await client.get(f"/emulator/v1/devices/{iphone}/activation-lock")).json()["locked"] is False


async def test_device_not_supported(
    client: httpx.AsyncClient, mdm: httpx.AsyncClient, org: dict[str, Any], server: dict[str, Any]
) -> None:
    apple_tv = await add_devices(
        client, org_id=org["id"], server_uuid=server["server_uuid"], count=1, families=["AppleTV"]
    )
    assert await lock(mdm, {"device": apple_tv[0]}) == (
        200,
        {"serial_number": apple_tv[0], "response_status": "DEVICE_NOT_SUPPORTED"},
    )
    intel_mac = {
        "serial_number": "C02ZK0EMLVDL",
        "model": "MacBook Pro 13-inch",
        "device_family": "Mac",
        "os": "OSX",
        "description": "MBP 13.3 SPACE GRAY/2.0GHZ QC I5/16GB/512GB-USA",
    }
    added = await client.post(f"/emulator/v1/orgs/{org['id']}/devices", json={"devices": [intel_mac]})
    assert added.status_code == 201, added.text
    await client.post(
        f"/emulator/v1/orgs/{org['id']}/assignments",
        json={"server_uuid": server["server_uuid"], "serials": ["C02ZK0EMLVDL"]},
    )
    assert (await lock(mdm, {"device": "C02ZK0EMLVDL"}))[1]["response_status"] == "DEVICE_NOT_SUPPORTED"
    mac = await add_devices(
        client, org_id=org["id"], server_uuid=server["server_uuid"], count=1, families=["Mac"], seed=4
    )
    assert (await lock(mdm, {"device": mac[0]}))[1]["response_status"] in ("SUCCESS", "DEVICE_NOT_SUPPORTED")


async def test_scripted_failures(client: httpx.AsyncClient, mdm: httpx.AsyncClient, iphone: str) -> None:
    response = await client.put(f"/emulator/v1/devices/{iphone}/activation-lock/failures", json={"count": 2})
    assert response.status_code == 200 and response.json()["scripted_failures"] == 2
    statuses = [(await lock(mdm, {"device": iphone}))[1]["response_status"] for _ in range(3)]
    assert statuses == ["FAILED", "FAILED", "SUCCESS"]


@pytest.mark.parametrize(
    "content",
    [
        b"{",
        b"",
        b"[]",
        b"{}",
        b'{"device": ""}',
        b'{"device": 5}',
        b'{"device": "X", "escrow_key": 1}',
        b'{"device": "X", "lost_message": []}',
    ],
)
async def test_malformed(mdm: httpx.AsyncClient, content: bytes) -> None:
    response = await mdm.post(LOCK, content=content)
    assert (response.status_code, response.text) == (400, "MALFORMED_REQUEST_BODY")


async def test_control_api_unknown_device(client: httpx.AsyncClient) -> None:
    response = await client.get("/emulator/v1/devices/NOPE/activation-lock")
    assert response.status_code == 404 and response.json()["error"]["code"] == "not_found"
    response = await client.put("/emulator/v1/devices/NOPE/activation-lock/failures", json={"count": -1})
    assert response.status_code == 422


async def test_unauthenticated(client: httpx.AsyncClient) -> None:
    response = await client.post(LOCK, json={"device": "X"}, headers={"User-Agent": "x"})
    assert response.status_code == 401
    response = await client.post(LOCK, json={"device": "X"})
    assert response.status_code in (400, 401)
