"""Small helpers shared by the profile, activation and activation-lock tests."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import httpx
from dep_emulator.testing.dep_client import dep_client
from fastapi import FastAPI

from tests.conftest import BASE_URL, create_server, issue_credentials

PROFILE = {"profile_name": "Default ADE", "url": "https://mdm.example.org/enroll"}


@asynccontextmanager
async def second_server(
    app: FastAPI, client: httpx.AsyncClient, org_id: str, name: str = "Other MDM", protocol_version: int = 10
) -> AsyncIterator[tuple[dict[str, Any], httpx.AsyncClient]]:
    """Another MDM server of `org_id` and a DEP client authenticated as it."""
    server = await create_server(client, org_id, server_name=name)
    credentials = await issue_credentials(client, server["server_uuid"])
    async with dep_client(
        credentials,
        base_url=BASE_URL,
        transport=httpx.ASGITransport(app=app),
        protocol_version=protocol_version,
    ) as other:
        yield server, other


async def define(mdm: httpx.AsyncClient, **fields: Any) -> dict[str, Any]:
    response = await mdm.post("/profile", json={**PROFILE, **fields})
    assert response.status_code == 200, response.text
    data: dict[str, Any] = response.json()
    return data


async def assign(
    mdm: httpx.AsyncClient, profile_uuid: str, serials: list[str], method: str = "PUT"
) -> httpx.Response:
    return await mdm.request(
        method, "/profile/devices", json={"profile_uuid": profile_uuid, "devices": serials}
    )


async def device_row(pg: Any, serial: str) -> dict[str, Any]:
    row = await pg.fetchrow(
        "SELECT profile_uuid, profile_status, profile_assign_time, profile_push_time, server_id "
        "FROM device WHERE serial_number = $1",
        serial,
    )
    assert row is not None
    return dict(row)


async def events(pg: Any, serial: str) -> list[dict[str, Any]]:
    rows = await pg.fetch(
        "SELECT e.op_type, e.snapshot, s.server_uuid FROM device_event e "
        "JOIN mdm_server s ON s.id = e.server_id WHERE e.serial_number = $1 ORDER BY e.op_at, e.seq",
        serial,
    )
    import json

    return [
        {"op_type": r["op_type"], "server_uuid": r["server_uuid"], **{"snapshot": json.loads(r["snapshot"])}}
        for r in rows
    ]
