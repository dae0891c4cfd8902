"""Reading the plans of the hot pool's statements (dep_emulator.core.driver), for the plan tests."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime
from typing import Any

from dep_emulator.core import driver
from fastapi import FastAPI
from sqlalchemy import TextClause


def nodes(plan: dict[str, Any]) -> Iterator[dict[str, Any]]:
    yield plan
    for child in plan.get("Plans", []):
        yield from nodes(child)


async def explain(app: FastAPI, clause: TextClause, params: dict[str, Any], plan_kind: str) -> dict[str, Any]:
    """The plan of `clause` on a hot-pool connection (dep_emulator.core.driver), prepared, then executed
    with `params` under a generic plan (the pool's setting) or a custom one (`plan_kind`), inside a
    transaction rolled back after (EXPLAIN ANALYZE runs the statement, writes included)."""
    sql, names = driver.sql_of(clause)
    async with driver.connection(app.state) as conn:
        transaction = conn.transaction()
        await transaction.start()
        try:
            await conn.execute(f"SET LOCAL plan_cache_mode = force_{plan_kind}_plan")
            await conn.execute(f"PREPARE page_plan AS {sql}")
            types = await conn.fetchval(
                "SELECT parameter_types::text[] FROM pg_prepared_statements WHERE name = 'page_plan'"
            )
            # EXPLAIN EXECUTE takes no bind parameters: the values go in as quoted, typed literals
            literals = []
            for name, kind in zip(names, types, strict=True):
                value = params[name]
                text_value = (
                    None
                    if value is None
                    else value.isoformat()
                    if isinstance(value, datetime)
                    else str(value)
                )
                quoted = await conn.fetchval("SELECT quote_nullable($1::text)", text_value)
                literals.append(f"{quoted}::{kind}")
            explained = await conn.fetchval(
                f"EXPLAIN (ANALYZE, FORMAT JSON) EXECUTE page_plan({', '.join(literals)})"
            )
        finally:
            await transaction.rollback()
            await conn.execute("DEALLOCATE page_plan")
    plan: dict[str, Any] = explained[0]["Plan"]
    return plan


def scans(plan: dict[str, Any], table: str) -> set[str]:
    """How every part of the statement reads `table` (the page, and the probe for one more row):
    a sequential scan would read the whole feed to find, or not find, the next row."""
    return {node["Node Type"] for node in nodes(plan) if node.get("Relation Name") == table}


def page_read(plan: dict[str, Any], table: str) -> list[str]:
    """How the page's rows of `table` are read: the node types from a scan of it up to the plan's top."""

    def path_to(node: dict[str, Any], trail: list[str]) -> list[str] | None:
        trail = [*trail, node["Node Type"]]
        if node.get("Relation Name") == table and node.get("Actual Rows", 0) > 1:
            return trail
        for child in node.get("Plans", []):
            if (found := path_to(child, trail)) is not None:
                return found
        return None

    found = path_to(plan, [])
    assert found is not None, plan
    return found


def assert_keyset_read(plan: dict[str, Any], table: str) -> None:
    """The page is an index scan under its LIMIT, nothing reads `table` sequentially, nothing sorts."""
    read = page_read(plan, table)
    assert read[-1] == "Index Scan" and "Limit" in read and "Sort" not in read, read
    assert scans(plan, table) <= {"Index Scan", "Index Only Scan"}, plan
    assert all(node["Node Type"] != "Sort" for node in nodes(plan) if node.get("Actual Rows", 0) > 1), plan
