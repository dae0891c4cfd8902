"""The floor under an empty `POST /devices/sync` for bench/http.py: what the contract alone costs.

A bare Starlette app (no FastAPI, no middleware, no access log) under the same uvicorn, on the
service's database, whose one route does only what the contract asks of every sync request:
- BENCH_FLOOR=service: the service's own functions in a row: the traffic resolve with the sync
  page read ahead (one statement), the session's checks, the cursor verified and the next one
  signed (`feed_read.sync`), the page rendered, and the journal row committed through the group
  commit before the answer goes out;
- BENCH_FLOOR=statements: the same two statements (resolve with the page; the journal row) and a
  fixed answer: no Python of ours between them at all;
- BENCH_FLOOR=roundtrip: `SELECT 1` instead of the resolve, then the journal row: what any
  implementation pays for one round trip and a journaled answer, whatever its statement reads.

No rules, faults, metrics or logs are applied, so this is not a way to serve DEP: it tells how far
the service's own layers are from what its statements and the framework cost (issue 15).
"""

from __future__ import annotations

import json
import os
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from dep_emulator.clock import service as clock
from dep_emulator.core import driver
from dep_emulator.core.config import Settings
from dep_emulator.core.security import hash_secret
from dep_emulator.feed import read as feed_read
from dep_emulator.journal.service import JournalEntry
from dep_emulator.journal.writer import JournalWriter
from dep_emulator.session import service as session_service
from dep_emulator.traffic import service as traffic_service
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

MODE = os.environ.get("BENCH_FLOOR", "service")
PATH = "/devices/sync"
JSON_UTF8 = "application/json;charset=UTF8"
FIXED_BODY = b'{"cursor":"","fetched_until":"","more_to_follow":false,"devices":[]}'


def _entry(
    wall: object, started: float, request: Request, status: int, server_uuid: str | None
) -> JournalEntry:
    headers = request.headers
    return JournalEntry(
        wall_at=wall,  # type: ignore[arg-type]
        server_uuid=server_uuid,
        client_addr=request.client.host if request.client else None,
        method="POST",
        path=PATH,
        query=None,
        protocol_version=headers.get("x-server-protocol-version"),
        user_agent=headers.get("user-agent"),
        status=status,
        error_code=None,
        latency_ms=round((time.perf_counter() - started) * 1000, 3),
        cursor=None,
        limit=None,
        device_count=None,
        response_cursor=None,
        more_to_follow=False,
        retry_after=None,
        fault_id=None,
        fault=None,
        rule=None,
    )


async def sync(request: Request) -> Response:
    started = time.perf_counter()
    wall = clock.wall_now()
    state = request.app.state
    settings: Settings = state.settings
    data = json.loads(await request.body())
    token = request.headers.get("x-adm-auth-session")
    version = int(request.headers.get("x-server-protocol-version") or 3)
    if MODE == "roundtrip":
        async with driver.connection(state) as conn:
            await conn.fetchval("SELECT 1")
        await state.journal_writer.write(_entry(wall, started, request, 200, None))
        return Response(FIXED_BODY, media_type=JSON_UTF8, headers={"X-ADM-Auth-Session": token or ""})
    ahead = feed_read.sync_read_ahead(data.get("cursor"), data.get("limit"), version, settings)
    async with driver.connection(state) as conn:
        resolved = await traffic_service.resolve(
            conn,
            method="POST",
            path=PATH,
            token_hash=hash_secret(token) if token else None,
            consumer_key=None,
            sync_read_ahead=ahead,
            wall=wall,
        )
        if MODE == "statements":
            body = FIXED_BODY
            token_out = token or ""
        else:
            caller = await session_service.resolve_feed_caller(
                conn, settings=settings, presented=token, prefetched=resolved.session, state=state
            )
            page = await feed_read.sync(
                conn,
                caller=caller,
                version=version,
                settings=settings,
                cursor=data.get("cursor"),
                limit=data.get("limit"),
                prefetched=resolved.sync_page,
            )
            body, token_out = page.render(), caller.token
    await state.journal_writer.write(_entry(wall, started, request, 200, resolved.server_uuid))
    return Response(body, media_type=JSON_UTF8, headers={"X-ADM-Auth-Session": token_out})


@asynccontextmanager
async def lifespan(app: Starlette) -> AsyncIterator[None]:
    settings = Settings()
    assert settings.database_url, "bench/http.py hands the floor its database in DEPEMU_DATABASE_URL"
    app.state.settings = settings
    app.state.driver_pool = await driver.create_pool(
        settings.database_url, max_size=settings.db_pool_size * 2, connect_timeout=10
    )
    app.state.journal_writer = JournalWriter(app.state, settings)
    try:
        yield
    finally:
        await app.state.driver_pool.close()


async def ready(request: Request) -> Response:
    """For bench/http.py's `wait_ready`, as the service's /readyz."""
    return Response(b"ok")


app = Starlette(routes=[Route(PATH, sync, methods=["POST"]), Route("/readyz", ready)], lifespan=lifespan)
