"""A feed's op_dates never go backwards (issue 8 §2, found by the 50-client test).

Events of one server commit in sequence order (dep_emulator.devices.events); their op_date must follow,
or a client that keeps the latest op_date per device (and `fetched_until`) goes back in time.
Here a profile assignment waits on a device lock while another change to the same feed
commits a second later; the assignment's event comes later in the feed,
so its op_date must not be earlier.
"""

from __future__ import annotations

import asyncio
from typing import Any

import asyncpg
import httpx

from tests.conftest import raw_dsn
from tests.devices.helpers import SYNC, add, assign, fetch_all


async def test_an_event_that_waited_for_a_lock_is_not_dated_before_its_predecessor(
    client: httpx.AsyncClient,
    org: dict[str, Any],
    server: dict[str, Any],
    mdm: httpx.AsyncClient,
    pg: asyncpg.Connection,
    database_url: str,
) -> None:
    await add(client, org["id"], "OPD1", "OPD2")
    await assign(client, org["id"], server["server_uuid"], "OPD1", "OPD2")
    _, cursor = await fetch_all(mdm)
    profile = await mdm.post("/profile", json={"profile_name": "P", "url": "https://mdm.test/enroll"})
    assert profile.status_code == 200, profile.text

    holder = await asyncpg.connect(raw_dsn(database_url))
    try:
        lock = holder.transaction()
        await lock.start()
        await holder.execute("SELECT 1 FROM device WHERE serial_number = 'OPD1' FOR UPDATE")
        body = {"profile_uuid": profile.json()["profile_uuid"], "devices": ["OPD1"]}
        assigning = asyncio.create_task(mdm.post("/profile/devices", json=body))
        await asyncio.sleep(0.5)  # the assignment is waiting for the lock
        assert not assigning.done()
        await asyncio.sleep(1.1)  # op_date has whole seconds
        patched = await client.patch("/emulator/v1/devices/OPD2", json={"asset_tag": "later"})
        assert patched.status_code == 200
        await lock.rollback()
        assert (await assigning).status_code == 200
    finally:
        await holder.close()

    events = (await mdm.post(SYNC, json={"cursor": cursor, "limit": 100})).json()["devices"]
    assert [(e["serial_number"], e["op_type"]) for e in events] == [
        ("OPD2", "modified"),
        ("OPD1", "modified"),
    ]
    dates = [e["op_date"] for e in events]
    assert dates == sorted(dates), dates
