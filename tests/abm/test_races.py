"""DELETE /v1/mdmServers/{id} racing an assignment to that server: an error for the loser, never a 500.

The test holds the server's row lock from its own connection, queues both requests behind it in
a chosen order (waiting until PostgreSQL shows each one blocked on a lock), then lets go.
"""

from __future__ import annotations

import asyncio
from typing import Any

import asyncpg
import httpx

from tests.abm.conftest import assert_error
from tests.abm.test_flow import activity_body
from tests.devices.helpers import add


async def wait_for_lock_waiters(pg: asyncpg.Connection, count: int) -> None:
    for _ in range(250):
        # Statistics are snapshotted per transaction, and `pg` is inside one (it holds the lock).
        await pg.execute("SELECT pg_stat_clear_snapshot()")
        waiting = await pg.fetchval(
            "SELECT count(*) FROM pg_stat_activity WHERE wait_event_type = 'Lock' AND pid <> pg_backend_pid()"
        )
        if waiting >= count:
            return
        await asyncio.sleep(0.02)
    raise AssertionError(f"expected {count} request(s) waiting for a lock")


async def hold_server_lock(pg: asyncpg.Connection, server_uuid: str) -> asyncpg.transaction.Transaction:
    transaction = pg.transaction()
    await transaction.start()
    await pg.execute("SELECT id FROM mdm_server WHERE server_uuid = $1 FOR UPDATE", server_uuid)
    return transaction


async def test_delete_wins_then_the_assignment_is_409(
    client: httpx.AsyncClient,
    abm: httpx.AsyncClient,
    pg: asyncpg.Connection,
    org: dict[str, Any],
    server: dict[str, Any],
) -> None:
    await add(client, org["id"], "RACE000001")
    uuid = server["server_uuid"]
    held = await hold_server_lock(pg, uuid)
    delete = asyncio.create_task(abm.delete(f"/v1/mdmServers/{uuid}"))
    await wait_for_lock_waiters(pg, 1)
    body = activity_body("ASSIGN_DEVICES", ["RACE000001"], uuid)
    assignment = asyncio.create_task(abm.post("/v1/orgDeviceActivities", json=body))
    await wait_for_lock_waiters(pg, 2)
    await held.rollback()

    assert (await delete).status_code == 204
    error = assert_error(await assignment, 409, "ENTITY_ERROR.RELATIONSHIP.INVALID")
    assert error["source"] == {"pointer": "/data/relationships/mdmServer/data/id"}
    device = (await abm.get("/v1/orgDevices/RACE000001")).json()["data"]["attributes"]
    assert device["status"] == "UNASSIGNED"
    assert await pg.fetchval("SELECT count(*) FROM abm_activity") == 0  # the activity rolled back


async def test_assignment_wins_then_the_delete_is_refused(
    client: httpx.AsyncClient,
    abm: httpx.AsyncClient,
    pg: asyncpg.Connection,
    org: dict[str, Any],
    server: dict[str, Any],
) -> None:
    await add(client, org["id"], "RACE000002")
    uuid = server["server_uuid"]
    held = await hold_server_lock(pg, uuid)
    body = activity_body("ASSIGN_DEVICES", ["RACE000002"], uuid)
    assignment = asyncio.create_task(abm.post("/v1/orgDeviceActivities", json=body))
    await wait_for_lock_waiters(pg, 1)
    delete = asyncio.create_task(abm.delete(f"/v1/mdmServers/{uuid}"))
    await wait_for_lock_waiters(pg, 2)
    await held.rollback()

    assert (await assignment).status_code == 201
    assert_error(await delete, 403, "FORBIDDEN_ERROR")  # devices assigned (issue 29 item 9: not 409)
    assert (await abm.get(f"/v1/mdmServers/{uuid}")).json()["data"]["attributes"]["deviceCount"] == 1


async def test_control_api_assignment_to_a_deleted_server_is_409(
    client: httpx.AsyncClient,
    abm: httpx.AsyncClient,
    pg: asyncpg.Connection,
    org: dict[str, Any],
    server: dict[str, Any],
) -> None:
    await add(client, org["id"], "RACE000003")
    uuid = server["server_uuid"]
    held = await hold_server_lock(pg, uuid)
    delete = asyncio.create_task(abm.delete(f"/v1/mdmServers/{uuid}"))
    await wait_for_lock_waiters(pg, 1)
    assignment = asyncio.create_task(
        client.post(
            f"/emulator/v1/orgs/{org['id']}/assignments",
            json={"server_uuid": uuid, "serials": ["RACE000003"]},
        )
    )
    await wait_for_lock_waiters(pg, 2)
    await held.rollback()

    assert (await delete).status_code == 204
    response = await assignment
    assert response.status_code == 409, response.text
    assert response.json()["error"]["code"] == "server_deleted"
