"""`dep-emulator serve --workers N` (DEPEMU_WORKERS): N uvicorn worker processes behind one port.

The parent does what must happen once: it starts the embedded PostgreSQL (unless a database is
configured), upgrades the schema and loads the seed file. uvicorn's supervisor then starts N
workers, each calling the app factory with no arguments; the factory reads its settings from the
environment prepared here (the database URL, no migrations, no seed). Workers share nothing but
PostgreSQL, exactly as replicas do: every piece of state that must agree (sessions, nonces,
budgets, fault scripts, the journal) lives there. The embedded database stops when the parent
exits, after its workers.
"""

from __future__ import annotations

import asyncio
import atexit
import os
from pathlib import Path

from .. import main
from ..core import embedded_pg, migrate
from ..core.config import Settings
from ..core.db import create_engine, create_sessionmaker
from ..seed import loader as seed_loader

FACTORY = f"{main.__name__}:{main.create_app.__name__}"


def prepare(settings: Settings) -> str:
    """Once, in the parent: database, schema, seed, the workers' environment; the factory's name."""
    url = settings.async_database_url
    if url is None:
        embedded = embedded_pg.start(settings.data_dir)
        atexit.register(embedded.stop)
        url = embedded.url
    migrate.upgrade(url)
    if settings.seed_file is not None:
        asyncio.run(_load_seed(url, settings.seed_file, settings))
    os.environ.update(
        DEPEMU_DATABASE_URL=url,
        DEPEMU_MIGRATE_ON_START="false",
        DEPEMU_HOST=settings.host,
        DEPEMU_PORT=str(settings.port),
    )
    os.environ.pop("DEPEMU_SEED_FILE", None)
    return FACTORY


async def _load_seed(url: str, path: Path, settings: Settings) -> None:
    engine = create_engine(url, pool_size=1, connect_timeout=settings.db_connect_timeout_seconds)
    try:
        await seed_loader.load_file(create_sessionmaker(engine), path, settings=settings)
    finally:
        await engine.dispose()
