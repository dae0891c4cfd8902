"""Shared steps for device tests: everything goes through the HTTP APIs."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import httpx

SERVER_DEVICES = "/server/devices"
SYNC = "/devices/sync"


async def streamed(text: str, piece: int = 7) -> AsyncIterator[bytes]:
    """The body in small pieces, cut anywhere (inside UTF-8 characters and quoted cells too)."""
    data = text.encode()
    for start in range(0, len(data), piece):
        yield data[start : start + piece]


async def upload(client: httpx.AsyncClient, org_id: str, text: str, **params: str) -> httpx.Response:
    """A portal-style CSV to the org's device import, streamed (`params`: server_uuid, ...)."""
    return await client.post(
        f"/emulator/v1/orgs/{org_id}/devices",
        content=streamed(text),
        params=params,
        headers={"Content-Type": "text/csv"},
    )


async def add(client: httpx.AsyncClient, org_id: str, *serials: str, **fields: Any) -> list[str]:
    devices = [{"serial_number": s, "model": "iPhone 15", **fields} for s in serials]
    response = await client.post(f"/emulator/v1/orgs/{org_id}/devices", json={"devices": devices})
    assert response.status_code == 201, response.text
    result: list[str] = response.json()["serials"]
    return result


async def generate(client: httpx.AsyncClient, org_id: str, count: int, **options: Any) -> dict[str, Any]:
    response = await client.post(
        f"/emulator/v1/orgs/{org_id}/devices", json={"generate": {"count": count, **options}}
    )
    assert response.status_code == 201, response.text
    data: dict[str, Any] = response.json()
    return data


async def assign(
    client: httpx.AsyncClient, org_id: str, server_uuid: str | None, *serials: str
) -> dict[str, str]:
    response = await client.post(
        f"/emulator/v1/orgs/{org_id}/assignments", json={"server_uuid": server_uuid, "serials": list(serials)}
    )
    assert response.status_code == 200, response.text
    results: dict[str, str] = response.json()["results"]
    return results


async def fetch_all(mdm: httpx.AsyncClient, limit: int = 1000) -> tuple[list[dict[str, Any]], str]:
    """A full fetch as nanodep does it; returns the devices and the last cursor."""
    devices: list[dict[str, Any]] = []
    cursor = None
    while True:
        body: dict[str, Any] = {"limit": limit}
        if cursor:
            body["cursor"] = cursor
        response = await mdm.post(SERVER_DEVICES, json=body)
        assert response.status_code == 200, response.text
        page = response.json()
        devices += page["devices"]
        cursor = page["cursor"]
        if not page["more_to_follow"]:
            return devices, cursor


async def sync_all(
    mdm: httpx.AsyncClient, cursor: str, limit: int = 1000
) -> tuple[list[dict[str, Any]], str]:
    events: list[dict[str, Any]] = []
    while True:
        response = await mdm.post(SYNC, json={"cursor": cursor, "limit": limit})
        assert response.status_code == 200, response.text
        page = response.json()
        events += page["devices"]
        cursor = page["cursor"]
        if not page["more_to_follow"]:
            return events, cursor


def ops(events: list[dict[str, Any]]) -> list[tuple[str, str]]:
    return [(e["serial_number"], e["op_type"]) for e in events]
