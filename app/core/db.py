"""Database plumbing: the declarative base, engine factory and the per-request transaction.

One transaction per request, owned by `get_db`: services and repositories only add and
flush; the dependency commits after the handler returns and before the response is sent
(FastAPI's function-scoped dependencies), and rolls back when anything raises.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import datetime
from functools import lru_cache
from typing import Annotated, Any

from fastapi import Depends, Request
from sqlalchemy import DateTime, MetaData, TextClause, event, text
from sqlalchemy.exc import DisconnectionError
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker, create_async_engine
from sqlalchemy.orm import DeclarativeBase

NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING_CONVENTION)
    type_annotation_map = {datetime: DateTime(timezone=True)}


def create_engine(
    url: str, *, pool_size: int = 10, connect_timeout: float = 5.0, **kwargs: Any
) -> AsyncEngine:
    """A pool that drops closed connections on checkout; short timeouts so an outage fails fast.

    Instead of SQLAlchemy's pre-ping (BEGIN; ping; ROLLBACK: three round trips on every
    request), a connection is checked locally: asyncpg marks it closed as soon as the server
    ends it (a restart, an admin's pg_terminate_backend). One that died silently fails its
    first statement, which invalidates the pool, and dep_emulator.core.resilience re-runs the request.
    """
    options: dict[str, Any] = {
        "pool_pre_ping": False,
        "pool_size": pool_size,
        "max_overflow": pool_size * 2,
        "pool_timeout": connect_timeout,
        "connect_args": {"timeout": connect_timeout},
    }
    options.update(kwargs)
    engine = create_async_engine(url, **options)
    event.listen(engine.sync_engine, "checkout", _refuse_closed_connection)
    return engine


def _refuse_closed_connection(dbapi_connection: Any, record: Any, proxy: Any) -> None:
    """Pool checkout hook: a connection the server already closed is replaced, not handed out."""
    raw = record.driver_connection  # the asyncpg connection
    if raw is not None and raw.is_closed():
        raise DisconnectionError("connection closed by the server")


@lru_cache(maxsize=256)
def cached_text(sql: str) -> TextClause:
    """`text(sql)`, built once per distinct SQL: text() parses its SQL for bind parameters on
    every call, which costs on hot paths whose SQL is assembled from a few constant fragments."""
    return text(sql)


def create_sessionmaker(engine: AsyncEngine) -> async_sessionmaker[AsyncSession]:
    return async_sessionmaker(engine, expire_on_commit=False, autoflush=False)


# Key of `db.info` and of the ASGI scope's "state" (request.state): the fault script unit an
# endpoint consumed, as (fault id, label), for the request journal (dep_emulator.faults.service).
ENDPOINT_FAULT = "endpoint_fault"


async def get_db(request: Request) -> AsyncIterator[AsyncSession]:
    """The request's database session; commits on success, rolls back on any exception.

    A fault unit consumed by an endpoint hook is handed to the journal only once committed
    (a request that failed did not use it up).
    """
    sessionmaker: async_sessionmaker[AsyncSession] = request.app.state.sessionmaker
    async with sessionmaker() as db:
        try:
            yield db
            await db.commit()
        except BaseException:
            await db.rollback()
            raise
        fired = db.info.get(ENDPOINT_FAULT)
        if fired is not None:
            setattr(request.state, ENDPOINT_FAULT, fired)


DbSession = Annotated[AsyncSession, Depends(get_db, scope="function")]
