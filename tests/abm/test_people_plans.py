"""100,000 users and 10,000 groups are listed page by page at the cost of the first page
(issue 30): every page statement is an index scan from the cursor stopped by its LIMIT, under
the generic plan the hot pool runs and the custom one PostgreSQL would choose per call. And a
client walking every page through the API sees every user exactly once."""

from __future__ import annotations

from typing import Any

import asyncpg
import httpx
import pytest
from dep_emulator.abm.people import GROUP_MEMBERS_SQL, GROUPS_PAGE_SQL, UNIT_MEMBERS_SQL, USERS_PAGE_SQL
from fastapi import FastAPI

from tests.plan_helpers import assert_keyset_read, explain, scans


@pytest.fixture
async def crowd(client: httpx.AsyncClient, pg: asyncpg.Connection, org: dict[str, Any]) -> dict[str, Any]:
    response = await client.post(
        f"/emulator/v1/orgs/{org['id']}/people/generate",
        json={"users": 100_000, "groups": 10_000, "units": 5, "members_per_group": 40, "seed": 30},
    )
    assert response.status_code == 200, response.text
    for table in ("org_user", "org_user_role", "user_group", "user_group_member", "org_unit"):
        await pg.execute(f"ANALYZE {table}")
    return response.json()


async def test_deep_pages_are_keyset_reads_and_a_client_walks_100000_users_once_each(
    app: FastAPI, abm: httpx.AsyncClient, pg: asyncpg.Connection, org: dict[str, Any], crowd: dict[str, Any]
) -> None:
    """One crowd for both checks (generating it is most of the cost)."""
    org_id = int(org["id"])
    deep_user = await pg.fetchval(
        "SELECT id FROM org_user WHERE org_id = $1 ORDER BY id OFFSET 95000 LIMIT 1", org_id
    )
    deep_group = await pg.fetchval(
        "SELECT id FROM user_group WHERE org_id = $1 ORDER BY id OFFSET 9000 LIMIT 1", org_id
    )
    unit = await pg.fetchval("SELECT ou_id FROM org_user_role GROUP BY ou_id ORDER BY count(*) DESC LIMIT 1")
    for plan_kind in ("generic", "custom"):
        plan = await explain(app, USERS_PAGE_SQL, {"org": org_id, "after": deep_user, "n": 101}, plan_kind)
        assert_keyset_read(plan, "org_user")
        plan = await explain(app, GROUPS_PAGE_SQL, {"org": org_id, "after": deep_group, "n": 101}, plan_kind)
        assert_keyset_read(plan, "user_group")
        plan = await explain(app, GROUP_MEMBERS_SQL, {"group": deep_group, "after": 0, "n": 11}, plan_kind)
        assert scans(plan, "user_group_member") <= {"Index Scan", "Index Only Scan"}, plan
        plan = await explain(app, UNIT_MEMBERS_SQL, {"unit": unit, "after": deep_user, "n": 101}, plan_kind)
        assert scans(plan, "org_user_role") <= {"Index Scan", "Index Only Scan"}, plan
        assert all(n.get("Node Type") != "Sort" for n in _nodes(plan)), plan
    await _walk(abm)


def _nodes(plan: dict[str, Any]) -> list[dict[str, Any]]:
    found = [plan]
    for child in plan.get("Plans", []):
        found.extend(_nodes(child))
    return found


async def _walk(abm: httpx.AsyncClient) -> None:
    seen = 0
    last = 0
    url: str | None = "/v1/users?limit=1000&fields[users]=status"
    while url:
        response = await abm.get(url)
        assert response.status_code == 200, response.text
        page = response.json()
        ids = [int(u["id"]) for u in page["data"]]
        assert ids == sorted(ids) and (not ids or ids[0] > last)
        last = ids[-1] if ids else last
        seen += len(ids)
        url = page["links"].get("next")
    assert seen == 100_000
    groups = (await abm.get("/v1/userGroups?limit=1000")).json()
    assert len(groups["data"]) == 1000 and groups["links"]["next"]
    group = groups["data"][0]
    counted = len(
        (await abm.get(group["relationships"]["users"]["links"]["self"] + "?limit=1000")).json()["data"]
    )
    assert counted == group["attributes"]["totalMemberCount"]
