"""The journal under `serve --workers 2` (issue 15): rows are committed before the answer goes out.

Rows of concurrent requests share one INSERT (dep_emulator.journal.writer); none may be lost, and a
read that begins after a client got its answer, on the other worker, must already show it.
"""

from __future__ import annotations

import asyncio
from collections import Counter
from typing import Any

import asyncpg
import httpx
from dep_emulator.testing.dep_client import OAuthCredentials, sign_session_request
from dep_emulator.testing.replicas import PUBLIC_BASE_URL, AlternatingTransport, Replica, worker_transports

UA = {"X-Server-Protocol-Version": "3"}


async def _setup(client: httpx.AsyncClient) -> str:
    """An org, a server and a session; the session token."""
    org = (await client.post("/emulator/v1/orgs", json={"name": "Journal"})).json()
    server = (
        await client.post(f"/emulator/v1/orgs/{org['id']}/mdm-servers", json={"server_name": "J"})
    ).json()
    creds = OAuthCredentials.from_json(
        (await client.post(f"/emulator/v1/mdm-servers/{server['server_uuid']}/oauth-credentials")).json()
    )
    header = sign_session_request(creds, f"{PUBLIC_BASE_URL}/session")
    opened = await client.get(
        "/session", headers={**UA, "User-Agent": "journal/setup", "Authorization": header}
    )
    assert opened.status_code == 200, opened.text
    token: str = opened.json()["auth_session_token"]
    return token


async def _journal(client: httpx.AsyncClient, **params: Any) -> list[dict[str, Any]]:
    entries: list[dict[str, Any]] = []
    cursor = None
    while True:
        page = (
            await client.get(
                "/emulator/v1/journal",
                params={"limit": 1000, **params, **({"cursor": cursor} if cursor else {})},
            )
        ).json()
        entries += page["entries"]
        cursor = page["next_cursor"]
        if cursor is None:
            return entries


async def test_a_read_on_the_other_worker_sees_every_answered_request(
    two_workers: Replica, pg: asyncpg.Connection
) -> None:
    a, b = await worker_transports(two_workers, 2)
    on_a = httpx.AsyncClient(base_url=PUBLIC_BASE_URL, transport=AlternatingTransport([two_workers.url], [a]))
    on_b = httpx.AsyncClient(base_url=PUBLIC_BASE_URL, transport=AlternatingTransport([two_workers.url], [b]))
    async with on_a, on_b:
        token = await _setup(on_a)
        for i in range(25):
            answered = await on_a.get(
                "/account", headers={**UA, "User-Agent": f"probe/{i}", "X-ADM-Auth-Session": token}
            )
            assert answered.status_code == 200
            newest = (await on_b.get("/emulator/v1/journal", params={"order": "desc", "limit": 1})).json()
            assert newest["entries"][0]["user_agent"] == f"probe/{i}"


async def test_concurrent_requests_on_both_workers_each_leave_one_row(
    two_workers: Replica, pg: asyncpg.Connection
) -> None:
    async with httpx.AsyncClient(base_url=two_workers.url, timeout=30) as client:
        token = await _setup(client)
        await client.delete("/emulator/v1/journal")
        agents = [f"burst/{i}" for i in range(150)]
        # fresh connections: the kernel spreads them over both workers
        async with httpx.AsyncClient(base_url=two_workers.url, timeout=30) as burst:
            answers = await asyncio.gather(
                *(
                    burst.get("/account", headers={**UA, "User-Agent": ua, "X-ADM-Auth-Session": token})
                    for ua in agents
                )
            )
        assert Counter(r.status_code for r in answers) == {200: 150}
        entries = await _journal(client)
    assert sorted(e["user_agent"] for e in entries) == sorted(agents)
    assert [int(e["id"]) for e in entries] == sorted(int(e["id"]) for e in entries)
