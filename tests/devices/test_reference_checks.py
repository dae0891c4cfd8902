"""Bulk writes skip PostgreSQL's per-row key checks only while they hold what the rows refer to.

`locking.references_held` sets `session_replication_role = replica` for the bulk statements (issue
14: the checks were a quarter of the 100,000-device seed file) when the database role may, and
leaves the checks on when it may not: both ways must write the same, complete rows.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import asyncpg
import httpx
import pytest
from dep_emulator.devices.locking import SKIP_CHECKS_FROM, references_held

from tests.conftest import create_server, raw_dsn
from tests.devices.helpers import assign, fetch_all, generate, sync_all, upload

PLAIN_ROLE = "depemu_plain"

# Every foreign key the bulk paths write, as "rows whose reference is missing".
ORPHANS = {
    "device.org_id": "SELECT count(*) FROM device d WHERE d.org_id IS NOT NULL"
    " AND NOT EXISTS (SELECT 1 FROM org o WHERE o.id = d.org_id)",
    "device.server_id": "SELECT count(*) FROM device d WHERE d.server_id IS NOT NULL"
    " AND NOT EXISTS (SELECT 1 FROM mdm_server s WHERE s.id = d.server_id)",
    "device_event.device_id": "SELECT count(*) FROM device_event e WHERE e.device_id IS NOT NULL"
    " AND NOT EXISTS (SELECT 1 FROM device d WHERE d.id = e.device_id)",
    "device_event.server_id": "SELECT count(*) FROM device_event e"
    " WHERE NOT EXISTS (SELECT 1 FROM mdm_server s WHERE s.id = e.server_id)",
    "device_assignment.device_id": "SELECT count(*) FROM device_assignment h"
    " WHERE NOT EXISTS (SELECT 1 FROM device d WHERE d.id = h.device_id)",
    "audit_event.org_id": "SELECT count(*) FROM audit_event a"
    " WHERE NOT EXISTS (SELECT 1 FROM org o WHERE o.id = a.org_id)",
}


def _as_role(url: str, role: str) -> str:
    parts = urlsplit(url)
    host = parts.netloc.rpartition("@")[2]
    return urlunsplit(parts._replace(netloc=f"{role}:{role}@{host}"))


@pytest.fixture
async def plain_url(database_url: str) -> AsyncIterator[str]:
    """The test database as a role that may read and write every table but not skip key checks."""
    admin = await asyncpg.connect(raw_dsn(database_url))
    try:
        may = "SELECT rolcreaterole OR rolsuper FROM pg_roles WHERE rolname = current_user"
        if not await admin.fetchval(may):
            pytest.skip("the test database's role cannot create roles")
        if not await admin.fetchval("SELECT true FROM pg_roles WHERE rolname = $1", PLAIN_ROLE):
            await admin.execute(f"CREATE ROLE {PLAIN_ROLE} LOGIN PASSWORD '{PLAIN_ROLE}'")
        await admin.execute(f"GRANT ALL ON ALL TABLES IN SCHEMA public TO {PLAIN_ROLE}")
        await admin.execute(f"GRANT ALL ON ALL SEQUENCES IN SCHEMA public TO {PLAIN_ROLE}")
    finally:
        await admin.close()
    yield _as_role(database_url, PLAIN_ROLE)


@pytest.fixture(params=["owner", "plain"])
def settings_overrides(request: pytest.FixtureRequest) -> dict[str, Any]:
    if request.param == "owner":
        return {}
    return {"database_url": request.getfixturevalue("plain_url")}


async def test_every_bulk_path_writes_complete_rows_with_or_without_the_checks(
    client: httpx.AsyncClient,
    org: dict[str, Any],
    server: dict[str, Any],
    mdm: httpx.AsyncClient,
    pg: asyncpg.Connection,
) -> None:
    """Generate into a server (several chunks), a CSV onto it, a move of them all, an unassignment
    (the CSV and the unassignment below SKIP_CHECKS_FROM: checked as usual), a release of 1,000:
    the feeds, history and audit trail as the op_type rules say, and no row refers to nothing."""
    other = await create_server(client, org["id"], server_name="Other MDM")
    # The release's `deleted` events are the documented behaviour (observed F1 writes none).
    await client.patch(f"/emulator/v1/orgs/{org['id']}/settings", json={"release_feed_event": "deleted"})
    _, cursor = await fetch_all(mdm)
    await generate(client, org["id"], 3000, seed=3, order_number="REF", server_uuid=server["server_uuid"])
    csv = "serial_number,model\r\n" + "".join(f"REFCSV{i:05d},iPhone 15\r\n" for i in range(50))
    imported = await upload(client, org["id"], csv, server_uuid=server["server_uuid"])
    assert imported.status_code == 201, imported.text
    moved = await client.post(
        f"/emulator/v1/orgs/{org['id']}/assignments",
        json={"server_uuid": other["server_uuid"], "order_number": "REF"},
    )
    assert moved.json()["summary"] == {"moved": 3000}
    csv_serials = [f"REFCSV{i:05d}" for i in range(50)]
    assert set((await assign(client, org["id"], None, *csv_serials)).values()) == {"unassigned"}
    churn = await client.post(
        f"/emulator/v1/orgs/{org['id']}/churn",
        json={"name": "release", "kind": "delete", "devices_per_event": 1000, "interval_in_seconds": 3600,
              "server_uuid": other["server_uuid"], "action": "release"},
    )  # fmt: skip
    released = await client.post(f"/emulator/v1/churn/{churn.json()['id']}/run")
    assert released.status_code == 200, released.text

    events, _ = await sync_all(mdm, cursor)
    first = await pg.fetchval("SELECT min(serial_number) FROM device WHERE order_number = 'REF'")
    assert [e["op_type"] for e in events if e["serial_number"] == first] == ["added", "deleted"]
    assert [e["op_type"] for e in events if e["serial_number"] == csv_serials[0]] == ["added", "deleted"]
    assert len(events) == 2 * 3050
    counts = await pg.fetchrow(
        "SELECT (SELECT count(*) FROM device) AS devices,"
        " (SELECT count(*) FROM device WHERE server_id IS NOT NULL) AS assigned,"
        " (SELECT count(*) FROM device_event) AS events,"
        " (SELECT count(*) FROM device_assignment) AS history,"
        " (SELECT count(*) FROM audit_event) AS audit"
    )
    # events: 3,050 added, 3,000 deleted + added on the move, 50 deleted, 1,000 deleted by the
    # release; audit: added and assigned for each, unassigned + assigned for each move, unassigned
    # for each of the 50, removed for each released.
    assert dict(counts) == {
        "devices": 3050,
        "assigned": 2000,
        "events": 3050 + 2 * 3000 + 50 + 1000,
        "history": 3050 + 3000 + 50 + 1000,
        "audit": 2 * 3050 + 2 * 3000 + 50 + 1000,
    }
    assert await pg.fetchval("SELECT count(*) FROM device WHERE org_id IS NULL") == 1000
    for key, sql in ORPHANS.items():
        assert await pg.fetchval(sql) == 0, key


async def test_the_checks_are_skipped_only_inside_and_only_when_allowed(
    org: dict[str, Any], pg: asyncpg.Connection, database_url: str, plain_url: str
) -> None:
    """Inside the block the role is `replica`, after it `origin` again (also after an exception the
    transaction survives); for a missing org, a small write or a role without the privilege the
    checks stay on."""
    org_id = int(await pg.fetchval("SELECT id FROM org"))  # the tables are emptied after each test
    role = "SELECT current_setting('session_replication_role')"
    async with pg.transaction():
        async with references_held(pg, org_id=org_id, rows=SKIP_CHECKS_FROM) as skipped:
            assert skipped and await pg.fetchval(role) == "replica"
        assert await pg.fetchval(role) == "origin"
        with pytest.raises(LookupError):
            async with references_held(pg, org_id=org_id, rows=SKIP_CHECKS_FROM):
                raise LookupError
        assert await pg.fetchval(role) == "origin"
        async with references_held(pg, org_id=-1, rows=SKIP_CHECKS_FROM) as skipped:
            assert not skipped and await pg.fetchval(role) == "origin"
        async with references_held(pg, org_id=org_id, rows=SKIP_CHECKS_FROM - 1) as skipped:
            assert not skipped and await pg.fetchval(role) == "origin"

    plain = await asyncpg.connect(raw_dsn(plain_url))
    try:
        async with plain.transaction():
            async with references_held(plain, org_id=org_id, rows=SKIP_CHECKS_FROM) as skipped:
                assert not skipped and await plain.fetchval(role) == "origin"
                with pytest.raises(asyncpg.ForeignKeyViolationError):
                    await plain.execute(
                        "INSERT INTO audit_event (org_id, event_type, occurred_at, group_id, actor_type,"
                        " serial_number, device_model) VALUES (-1, 'X', now(), 'g', 'USER', 'S', 'M')"
                    )
    finally:
        await plain.close()
