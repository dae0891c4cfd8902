"""Hot statements straight on asyncpg: the device feed pages and the traffic middleware.

Every DEP call paid about 3 ms of server CPU in SQLAlchemy (the ORM session, its BEGIN and
COMMIT, Core's execution and result machinery; py-spy, issue 3), several times what its
single-statement reads cost in PostgreSQL. The few statements every feed request runs go
through this pool instead: one statement, one round trip, no transaction around it (each is
atomic on its own), and no reset query when a connection is handed back (nothing here sets
session state). The SQL stays a SQLAlchemy `TextClause` with named binds, written once next to
its domain; `sql_of` compiles it to asyncpg's `$n` form once.

A connection the server closed is replaced on acquire (asyncpg checks); one that died silently
fails its statement with a connection error, which dep_emulator.core.resilience re-runs once.
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Mapping
from contextlib import asynccontextmanager
from functools import lru_cache
from typing import Any

import asyncpg
from sqlalchemy import TextClause
from sqlalchemy.dialects.postgresql import asyncpg as asyncpg_dialect

from .db import cached_text

_DIALECT = asyncpg_dialect.dialect()  # type: ignore[no-untyped-call]


async def create_pool(url: str, *, max_size: int, connect_timeout: float) -> asyncpg.Pool:
    """The pool; opens no connection until the first request (the database may still be starting)."""
    dsn = url.replace("postgresql+asyncpg://", "postgresql://", 1)
    pool: asyncpg.Pool = await asyncpg.create_pool(
        dsn,
        min_size=0,
        max_size=max_size,
        timeout=connect_timeout,
        init=_json_codecs,
        reset=_keep_session,
        server_settings={
            # Journal rows, budgets and fault counters may lose their last milliseconds in a
            # database crash; in exchange no request waits for a WAL flush of bookkeeping.
            "synchronous_commit": "off",
            # Every statement here is a keyset or key lookup whose best plan does not depend on
            # the values (the page statements hide the cursor position from the planner on
            # purpose). Left to choose, PostgreSQL re-planned the sync page on every call: about
            # 0.7 ms of a 3-4 ms statement. Tests read the generic plans (test_feed_plans.py).
            "plan_cache_mode": "force_generic_plan",
        },
    )
    return pool


async def _json_codecs(conn: asyncpg.Connection) -> None:
    """json/jsonb as SQLAlchemy's asyncpg dialect has them: values in, parsed values out."""
    for name in ("json", "jsonb"):
        await conn.set_type_codec(name, schema="pg_catalog", encoder=_json_text, decoder=json.loads)


def _json_text(value: Any) -> str:
    return value if isinstance(value, str) else json.dumps(value)


async def _keep_session(conn: asyncpg.Connection) -> None:
    """Nothing to reset: the default (RESET ALL; UNLISTEN …) is one more round trip per use."""


@asynccontextmanager
async def connection(state: Any) -> AsyncIterator[asyncpg.Connection]:
    """A connection from the app's hot pool (`app.state.driver_pool`)."""
    pool: asyncpg.Pool = state.driver_pool
    async with pool.acquire() as conn:
        yield conn


# Request state: the connection the traffic middleware resolved the request on, for the handler.
LEASE = "hot_connection"


class Lease:
    """A hot-pool connection held for one request: the traffic middleware takes it for its resolve
    and leaves it in the request state for the handler, so a feed page or /account costs one pool
    acquisition, not two (issue 15: acquire and release were about a tenth of an empty sync's CPU).

    Released once, by whichever comes first: the end of the handler's `request_connection` block,
    the start of the response, the end of the request. A request never waits for another hot
    connection while it holds this one (the journal's group commit takes its own only after the
    response has started), so a busy pool cannot deadlock on its own leases.
    """

    __slots__ = ("conn", "_pool", "_released")

    def __init__(self, pool: asyncpg.Pool, conn: asyncpg.Connection) -> None:
        self.conn, self._pool, self._released = conn, pool, False

    @classmethod
    async def acquire(cls, state: Any) -> Lease:
        pool: asyncpg.Pool = state.driver_pool
        return cls(pool, await pool.acquire())

    @property
    def released(self) -> bool:
        return self._released

    async def release(self) -> None:
        if not self._released:
            self._released = True
            await self._pool.release(self.conn)


@asynccontextmanager
async def request_connection(request: Any) -> AsyncIterator[asyncpg.Connection]:
    """The connection the traffic middleware handed over for this request (`Lease`), released when
    the block ends; else one from the pool, as `connection`."""
    lease: Lease | None = request.scope.get("state", {}).pop(LEASE, None)
    if lease is None or lease.released:
        async with connection(request.app.state) as conn:
            yield conn
        return
    try:
        yield lease.conn
    finally:
        await lease.release()


@lru_cache(maxsize=512)
def sql_of(clause: TextClause) -> tuple[str, tuple[str, ...]]:
    """asyncpg's SQL for a TextClause and the names of its `$1, $2, …` in order (compiled once)."""
    compiled = clause.compile(dialect=_DIALECT)
    return compiled.string, tuple(compiled.positiontup or ())


def _args(clause: TextClause | str, params: Mapping[str, Any]) -> tuple[str, list[Any]]:
    sql, names = sql_of(clause if isinstance(clause, TextClause) else cached_text(clause))
    return sql, [params[name] for name in names]


async def fetchrow(conn: asyncpg.Connection, clause: TextClause | str, params: Mapping[str, Any]) -> Any:
    """The statement's first row (an asyncpg Record: by name or by index), or None."""
    sql, args = _args(clause, params)
    return await conn.fetchrow(sql, *args)


async def fetchval(conn: asyncpg.Connection, clause: TextClause | str, params: Mapping[str, Any]) -> Any:
    """The first column of the statement's first row, or None."""
    sql, args = _args(clause, params)
    return await conn.fetchval(sql, *args)


async def fetch(conn: asyncpg.Connection, clause: TextClause | str, params: Mapping[str, Any]) -> list[Any]:
    """Every row of the statement (asyncpg Records)."""
    sql, args = _args(clause, params)
    rows: list[Any] = await conn.fetch(sql, *args)
    return rows


async def fetchrow_on(
    conn: asyncpg.Connection | None, state: Any, clause: TextClause | str, params: Mapping[str, Any]
) -> Any:
    """`fetchrow` on `conn`, or on a connection taken from the pool only for it (when `conn` is None):
    a request whose answer needs no statement (GET /account, its session prefetched) takes none."""
    if conn is not None:
        return await fetchrow(conn, clause, params)
    async with connection(state) as own:
        return await fetchrow(own, clause, params)


async def execute(conn: asyncpg.Connection, clause: TextClause | str, params: Mapping[str, Any]) -> None:
    sql, args = _args(clause, params)
    await conn.execute(sql, *args)
