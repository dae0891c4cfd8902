"""Pruning the journal reads it by index, not whole, whatever its size (issue 15).

Every 100th journaled request prunes. The hot pool plans its statements once for any values
(dep_emulator.core.driver forces generic plans), and the generic plan of the prune was a
sequential scan of the whole journal, up to DEPEMU_JOURNAL_MAX_ROWS rows, once per 100 DEP calls:
most of PostgreSQL's CPU per call under load. The prune is now a statement of its own planned for
its values; this reads that plan on a large journal with nothing to prune, and with something.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import asyncpg
import httpx
import pytest
from dep_emulator.journal import service as journal_service
from fastapi import FastAPI

from tests.plan_helpers import explain, nodes
from tests.traffic.support import call

ROWS = 30_000


async def _prune_plan(app: FastAPI, **values: Any) -> dict[str, Any]:
    """The plan of `journal_service.prune`'s statement as it runs it: on the hot pool, custom-planned."""
    assert journal_service.PRUNE_PLAN == "SET LOCAL plan_cache_mode = force_custom_plan"
    return await explain(app, journal_service._PRUNE, {"now": datetime.now(UTC), **values}, "custom")


async def _large_journal(pg: asyncpg.Connection, *, old: int = 0) -> None:
    """ROWS recent rows (ids 1..ROWS), the first `old` of them two days old; analysed."""
    await pg.execute(
        "INSERT INTO request_journal (id, wall_at, emulated_at, method, path, status, latency_ms) "
        "SELECT i, CASE WHEN i <= $2 THEN now() - interval '2 days' ELSE now() END, now(), "
        "'GET', '/account', 200, 1 FROM generate_series(1, $1) AS i",
        ROWS,
        old,
    )
    await pg.execute("SELECT setval('request_journal_id_seq', $1)", ROWS)
    await pg.execute("ANALYZE request_journal")


async def test_a_prune_with_nothing_to_delete_reads_no_row_of_a_large_journal(
    app: FastAPI, pg: asyncpg.Connection
) -> None:
    await _large_journal(pg)
    plan = await _prune_plan(app, newest=ROWS, max_rows=200_000, retention_seconds=7 * 86400)
    scans = {n["Node Type"] for n in nodes(plan) if n.get("Relation Name") == "request_journal"}
    assert "Seq Scan" not in scans and scans, plan
    assert all(n.get("Actual Rows", 0) == 0 for n in nodes(plan) if "Scan" in n["Node Type"]), plan


async def test_a_prune_deletes_only_the_old_and_the_excess_rows_of_a_large_journal(
    app: FastAPI, pg: asyncpg.Connection
) -> None:
    await _large_journal(pg, old=500)
    plan = await _prune_plan(app, newest=ROWS, max_rows=ROWS - 1000, retention_seconds=86400)
    assert plan["Node Type"] == "ModifyTable" and plan["Plans"][0]["Actual Rows"] == 1000, plan


@pytest.mark.parametrize(
    "settings_overrides", [{"journal_retention_hours": 24, "journal_max_rows": ROWS - 1000}]
)
async def test_the_hundredth_request_prunes_a_large_journal_to_its_bounds(
    client: httpx.AsyncClient, pg: asyncpg.Connection
) -> None:
    await _large_journal(pg, old=500)
    await pg.execute("SELECT setval('request_journal_id_seq', $1)", ROWS + 98)  # next ids: 30099, 30100
    await call(client, "GET", "/account", None)
    assert await pg.fetchval("SELECT count(*) FROM request_journal") == ROWS + 1
    await call(client, "GET", "/account", None)  # id 30100 is due: rows up to id 1100 go
    assert await pg.fetchval("SELECT min(id), count(*) FROM request_journal") == 1101
    assert await pg.fetchval("SELECT count(*) FROM request_journal") == ROWS - 1100 + 2
