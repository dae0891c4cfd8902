"""The emulator clock: read, advance, never backwards."""

from __future__ import annotations

from datetime import UTC, datetime

import asyncpg
import httpx
import pytest

from tests.conftest import snapshot


async def test_read_and_advance(client: httpx.AsyncClient) -> None:
    first = (await client.get("/emulator/v1/clock")).json()
    assert first["offset_seconds"] == 0
    now = datetime.fromisoformat(first["now"])
    assert now.tzinfo is not None and abs((now - datetime.now(UTC)).total_seconds()) < 5
    moved = await client.post("/emulator/v1/clock", json={"advance_seconds": 8 * 86400})
    assert moved.status_code == 200
    assert moved.json()["offset_seconds"] == 8 * 86400
    later = datetime.fromisoformat((await client.get("/emulator/v1/clock")).json()["now"])
    assert 8 * 86400 - 5 < (later - now).total_seconds() < 8 * 86400 + 5


@pytest.mark.parametrize("body", [{"advance_seconds": -1}, {"advance_seconds": "soon"}, {}])
async def test_bad_advance_is_422(client: httpx.AsyncClient, pg: asyncpg.Connection, body: object) -> None:
    before = await snapshot(pg)
    response = await client.post("/emulator/v1/clock", json=body)
    assert response.status_code == 422
    assert response.json()["error"]["code"] == "validation_error"
    assert await snapshot(pg) == before
