"""Loading a seed file at start-up (`dep-emulator serve --seed FILE`, DEPEMU_SEED_FILE).

Runs after migrations and before the app serves, in one transaction of its own: a bad file
stops the start with the SeedError's message (line or key path) and leaves the database as
it was.
"""

from __future__ import annotations

import logging
from pathlib import Path

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from ..core.config import Settings
from . import parse, service
from .schemas import SeedResult

logger = logging.getLogger("dep_emulator.seed")


async def load_file(
    sessionmaker: async_sessionmaker[AsyncSession], path: Path, *, settings: Settings
) -> SeedResult:
    document = parse.read_file(path)
    try:
        async with sessionmaker() as db, db.begin():
            result = await service.apply_seed(db, document=document, settings=settings)
    except parse.SeedError as exc:
        logger.error("seed file %s refused: %s", path, exc.message)
        raise
    logger.info(
        "seed file %s loaded",
        path,
        extra={"changed": result.changed, "orgs": [o.name for o in result.orgs]},
    )
    return result
