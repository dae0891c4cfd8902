"""Fetch and sync cursors: shape, every cursor error, expiry by the clock, validity on every replica."""

from __future__ import annotations

import base64
import re
from typing import Any

import httpx
from dep_emulator.core.config import Settings
from dep_emulator.testing.dep_client import OAuthCredentials, dep_client

from tests.conftest import BASE_URL, start_app
from tests.devices.conftest import OtherServer
from tests.devices.helpers import SERVER_DEVICES, SYNC, fetch_all, generate

CURSOR_SHAPE = re.compile(r"^[A-Za-z0-9_-]{1,1000}$")


async def _error(response: httpx.Response, status: int, code: str) -> None:
    assert (response.status_code, response.text) == (status, code)
    assert response.headers["content-type"].startswith("text/plain")


async def _seed(
    client: httpx.AsyncClient, org: dict[str, Any], server: dict[str, Any], count: int
) -> list[str]:
    await generate(client, org["id"], count, seed=7, order_number="ORD-CURSOR")
    response = await client.post(
        f"/emulator/v1/orgs/{org['id']}/assignments",
        json={"server_uuid": server["server_uuid"], "order_number": "ORD-CURSOR"},
    )
    assert response.status_code == 200
    return sorted(response.json()["results"])


async def test_cursors_look_like_apples(
    client: httpx.AsyncClient, org: dict[str, Any], server: dict[str, Any], mdm: httpx.AsyncClient
) -> None:
    await _seed(client, org, server, 3)
    page = (await mdm.post(SERVER_DEVICES, json={"limit": 2})).json()
    for cursor in (
        page["cursor"],
        (await mdm.post(SERVER_DEVICES, json={"cursor": page["cursor"]})).json()["cursor"],
    ):
        assert CURSOR_SHAPE.match(cursor) and not cursor.endswith("=")
        decoded = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)).decode()
        fields = decoded.split(":")
        assert fields[4] in ("true", "false") and all(f.isdigit() for i, f in enumerate(fields) if i != 4)


async def test_sync_without_cursor_is_cursor_required(mdm: httpx.AsyncClient) -> None:
    for body in ({}, {"cursor": None}, {"cursor": ""}, {"limit": 5}):
        await _error(await mdm.post(SYNC, json=body), 400, "CURSOR_REQUIRED")
    await _error(await mdm.post(SYNC, content=b""), 400, "CURSOR_REQUIRED")


async def test_garbage_tampered_and_oversized_cursors_are_invalid(
    client: httpx.AsyncClient, org: dict[str, Any], server: dict[str, Any], mdm: httpx.AsyncClient
) -> None:
    await _seed(client, org, server, 2)
    _, cursor = await fetch_all(mdm)
    decoded = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)).decode().split(":")
    decoded[1] = str(int(decoded[1]) - 1)  # rewind the position without re-signing
    tampered = base64.urlsafe_b64encode(":".join(decoded).encode()).decode().rstrip("=")
    bad = [
        "garbage",
        "!!!!",
        "MTAwOjA6MTc0NjMwNjExNTA1OToxNzQ2MzA2NDgyNTM2OnRydWU6MTc0NjMwNjExNTA1OQ",
        tampered,
        cursor + "A",
        "A" * 1001,
        "ü",
        12345,
        ["x"],
        {"a": 1},
        True,
    ]
    for value in bad:
        await _error(await mdm.post(SYNC, json={"cursor": value}), 400, "INVALID_CURSOR")
        await _error(await mdm.post(SERVER_DEVICES, json={"cursor": value}), 400, "INVALID_CURSOR")


async def test_another_servers_cursor_is_invalid(
    client: httpx.AsyncClient,
    org: dict[str, Any],
    server: dict[str, Any],
    mdm: httpx.AsyncClient,
    other: OtherServer,
) -> None:
    _, foreign = await fetch_all(other.mdm)
    await _error(await mdm.post(SYNC, json={"cursor": foreign}), 400, "INVALID_CURSOR")
    await _error(await mdm.post(SERVER_DEVICES, json={"cursor": foreign}), 400, "INVALID_CURSOR")


async def test_mid_fetch_cursor_is_not_a_sync_cursor(
    client: httpx.AsyncClient, org: dict[str, Any], server: dict[str, Any], mdm: httpx.AsyncClient
) -> None:
    await _seed(client, org, server, 3)
    page = (await mdm.post(SERVER_DEVICES, json={"limit": 1})).json()
    assert page["more_to_follow"] is True
    await _error(await mdm.post(SYNC, json={"cursor": page["cursor"]}), 400, "INVALID_CURSOR")
    # ... but it may be retried on fetch: the same page again (a client retrying after a timeout)
    again = [
        (await mdm.post(SERVER_DEVICES, json={"cursor": page["cursor"], "limit": 1})).json() for _ in range(2)
    ]
    assert again[0]["devices"] == again[1]["devices"]


async def test_consumed_fetch_cursor_and_sync_cursor_are_exhausted_on_fetch(
    client: httpx.AsyncClient, org: dict[str, Any], server: dict[str, Any], mdm: httpx.AsyncClient
) -> None:
    await _seed(client, org, server, 3)
    _, last = await fetch_all(mdm, limit=2)
    await _error(await mdm.post(SERVER_DEVICES, json={"cursor": last}), 400, "EXHAUSTED_CURSOR")
    sync_cursor = (await mdm.post(SYNC, json={"cursor": last})).json()["cursor"]
    # nanodep and MicroMDM call fetch with their stored cursor at start-up (spec §8.1 step 2)
    await _error(await mdm.post(SERVER_DEVICES, json={"cursor": sync_cursor}), 400, "EXHAUSTED_CURSOR")


async def test_cursor_expires_after_seven_days_of_emulator_time(
    client: httpx.AsyncClient, org: dict[str, Any], server: dict[str, Any], mdm: httpx.AsyncClient
) -> None:
    await _seed(client, org, server, 3)
    page = (await mdm.post(SERVER_DEVICES, json={"limit": 1})).json()
    _, last = await fetch_all(mdm)
    assert (
        await client.post("/emulator/v1/clock", json={"advance_seconds": 7 * 86400 - 60})
    ).status_code == 200
    fresh = await mdm.post(SYNC, json={"cursor": last})
    assert fresh.status_code == 200
    assert (await client.post("/emulator/v1/clock", json={"advance_seconds": 120})).status_code == 200
    await _error(await mdm.post(SYNC, json={"cursor": last}), 400, "EXPIRED_CURSOR")
    await _error(await mdm.post(SERVER_DEVICES, json={"cursor": page["cursor"]}), 400, "EXPIRED_CURSOR")
    # the cursor issued a minute before the deadline is still good: every sync renews it
    assert (await mdm.post(SYNC, json={"cursor": fresh.json()["cursor"]})).status_code == 200


async def test_cursors_are_valid_on_every_replica(
    settings: Settings,
    client: httpx.AsyncClient,
    org: dict[str, Any],
    server: dict[str, Any],
    credentials: OAuthCredentials,
    mdm: httpx.AsyncClient,
) -> None:
    await _seed(client, org, server, 5)
    first = (await mdm.post(SERVER_DEVICES, json={"limit": 2})).json()
    replica, manager = await start_app(settings)
    try:
        async with dep_client(
            credentials, base_url=BASE_URL, transport=httpx.ASGITransport(app=replica)
        ) as other:
            second = await other.post(SERVER_DEVICES, json={"cursor": first["cursor"], "limit": 2})
            assert second.status_code == 200, second.text
            assert second.json()["devices"] != first["devices"]
    finally:
        await manager.__aexit__(None, None, None)
