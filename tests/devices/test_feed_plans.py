"""Fetch and sync pages stay keyset reads when the feed has outgrown its statistics.

A client reads the tail of the feed, which is past the column statistics until the next
ANALYZE; right after a large assignment that tail is thousands of events. A page must still be
an ordered index scan stopped by its LIMIT, never a scan and sort of everything after the
cursor (whose cost grows with the events left: issue 3, "cost does not grow with position").
Both plans are read: the generic one the hot pool runs (dep_emulator.core.driver forces it) and the
custom one PostgreSQL would choose per call without that setting.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import asyncpg
import httpx
import pytest
from dep_emulator.core.security import hash_secret
from dep_emulator.feed.read import fetch_page_sql, sync_page_sql
from dep_emulator.testing.dep_client import OAuthCredentials
from dep_emulator.traffic.service import resolve_with_sync_page_sql
from fastapi import FastAPI

from tests.devices.helpers import generate
from tests.plan_helpers import assert_keyset_read, explain
from tests.traffic.support import open_session

pytestmark = [
    pytest.mark.parametrize("version", [3, 10]),
    pytest.mark.parametrize("plan_kind", ["generic", "custom"]),
    # The observed feed delay and lost events switched on (issue 29, F3, F4): still keyset reads.
    pytest.mark.parametrize("delay", [0, 30]),  # read when released: `now` is 2 × delay later
]


async def _outgrown_feed(
    client: httpx.AsyncClient,
    pg: asyncpg.Connection,
    org: dict[str, Any],
    server: dict[str, Any],
    delay: int = 0,
) -> tuple[int, int]:
    """A feed analysed at 300 events that has since grown by 4000: (server id, position at the analyse)."""

    async def assign_order(order: str, count: int, seed: int) -> None:
        await generate(client, org["id"], count, order_number=order, seed=seed)
        response = await client.post(
            f"/emulator/v1/orgs/{org['id']}/assignments",
            json={"server_uuid": server["server_uuid"], "order_number": order},
        )
        assert response.status_code == 200, response.text

    if delay:  # with the lost-events fault on too (issue 29, F4: dep_emulator.feed.lost)
        observed = {
            "feed_delay_seconds": delay,
            "lost_events": {"serials": ["LOSTPLAN01"], "probability": 0.05},
        }
        response = await client.patch(f"/emulator/v1/orgs/{org['id']}/settings", json=observed)
        assert response.status_code == 200, response.text
    await assign_order("PLAN-A", 300, 1)
    await pg.execute("ANALYZE device_event")
    await pg.execute("ANALYZE device")
    server_id, position = await pg.fetchrow(
        "SELECT id, feed_seq FROM mdm_server WHERE server_uuid = $1", server["server_uuid"]
    )
    await assign_order("PLAN-B", 4000, 2)
    return server_id, position


async def test_a_sync_page_past_the_statistics_is_an_index_scan_stopped_by_its_limit(
    app: FastAPI,
    client: httpx.AsyncClient,
    pg: asyncpg.Connection,
    org: dict[str, Any],
    server: dict[str, Any],
    version: int,
    plan_kind: str,
    delay: int,
) -> None:
    server_id, position = await _outgrown_feed(client, pg, org, server, delay)
    plan = await explain(
        app,
        sync_page_sql(version),
        {
            "server": server_id,
            "position": position,
            "n": 100,
            "now": datetime.now(UTC) + timedelta(seconds=2 * delay),
            "f_method": "POST",
            "f_path": "/devices/sync",
            "f_kind": "echo_cursor",
        },
        plan_kind,
    )
    assert_keyset_read(plan, "device_event")


async def test_the_sync_page_read_with_the_caller_past_the_statistics_is_an_index_scan_stopped_by_its_limit(
    app: FastAPI,
    client: httpx.AsyncClient,
    pg: asyncpg.Connection,
    org: dict[str, Any],
    server: dict[str, Any],
    credentials: OAuthCredentials,
    version: int,
    plan_kind: str,
    delay: int,
) -> None:
    """The same page inside the traffic middleware's resolve (dep_emulator.traffic.service), where the
    server is the session's row's, not a parameter."""
    server_id, position = await _outgrown_feed(client, pg, org, server, delay)
    token = await open_session(client, credentials)
    plan = await explain(
        app,
        resolve_with_sync_page_sql(version),
        {
            "token_hash": hash_secret(token),
            "position": position,
            "n": 100,
            "wall": datetime.now(UTC) + timedelta(seconds=2 * delay),
            "f_method": "POST",
            "f_path": "/devices/sync",
            "f_kind": "echo_cursor",
        },
        plan_kind,
    )
    assert_keyset_read(plan, "device_event")


async def test_a_fetch_page_past_the_statistics_is_an_index_scan_stopped_by_its_limit(
    app: FastAPI,
    client: httpx.AsyncClient,
    pg: asyncpg.Connection,
    org: dict[str, Any],
    server: dict[str, Any],
    version: int,
    plan_kind: str,
    delay: int,
) -> None:
    server_id, position = await _outgrown_feed(client, pg, org, server, delay)
    plan = await explain(
        app,
        fetch_page_sql(version),
        {
            "server": server_id,
            "position": position,
            "horizon": None,
            "n": 100,
            "now": datetime.now(UTC) + timedelta(seconds=2 * delay),
        },
        plan_kind,
    )
    assert_keyset_read(plan, "device")
