"""Alembic environment: async engine, URL from the caller or DEPEMU_DATABASE_URL, advisory lock."""

from __future__ import annotations

import asyncio

from alembic import context
from dep_emulator.core.config import Settings
from dep_emulator.core.migrate import MIGRATION_LOCK_ID
from dep_emulator.models import Base
from sqlalchemy import text
from sqlalchemy.engine import Connection
from sqlalchemy.ext.asyncio import create_async_engine

target_metadata = Base.metadata


def _database_url() -> str:
    url = context.config.attributes.get("database_url") or Settings().async_database_url
    if not url:
        raise SystemExit(
            "set DEPEMU_DATABASE_URL (or run `dep-emulator migrate`, which can start the embedded one)"
        )
    return str(url)


def _run(connection: Connection) -> None:
    context.configure(connection=connection, target_metadata=target_metadata, compare_type=True)
    with context.begin_transaction():
        # Held until this transaction commits: concurrent replicas migrate one after another.
        connection.execute(text("SELECT pg_advisory_xact_lock(:id)"), {"id": MIGRATION_LOCK_ID})
        context.run_migrations()


async def _run_async() -> None:
    engine = create_async_engine(_database_url())
    try:
        async with engine.connect() as connection:
            await connection.run_sync(_run)
            await connection.commit()
    finally:
        await engine.dispose()


if context.is_offline_mode():
    context.configure(url=_database_url(), target_metadata=target_metadata, literal_binds=True)
    with context.begin_transaction():
        context.run_migrations()
else:
    asyncio.run(_run_async())
