"""The background task that runs due churn events, one per replica, started by the app lifespan.

Every `churn_poll_seconds` it claims due schedules one event at a time, each in its own
transaction (claim, run, advance `next_run_at`, commit), at most `churn_max_events_per_tick`
per tick, and goes straight on to the next tick when that bound was hit; so a clock jump is
caught up event by event without starving the rest of the process. Nothing here keeps state
that matters: replicas coordinate through the row locks in PostgreSQL only. Errors are
logged, never raised; `stop()` ends the loop between two events.
"""

from __future__ import annotations

import asyncio
import logging

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from ..core.background import PeriodicTask
from . import service

logger = logging.getLogger("dep_emulator.churn")


async def run_due(
    sessionmaker: async_sessionmaker[AsyncSession], *, limit: int, stop: asyncio.Event | None = None
) -> int:
    """Run up to `limit` due events (each in its own transaction); returns how many ran."""
    ran = 0
    while ran < limit and not (stop is not None and stop.is_set()):
        async with sessionmaker() as db, db.begin():
            schedule = await service.claim_due(db)
            if schedule is None:
                break
            await service.run_event(db, schedule=schedule, scheduled=True, swallow_errors=True)
        ran += 1
    return ran


def churn_worker(
    sessionmaker: async_sessionmaker[AsyncSession], *, poll_seconds: float, max_per_tick: int
) -> PeriodicTask:
    """Every `poll_seconds`, up to `max_per_tick` due events; straight on when that bound was hit."""

    async def tick(stop: asyncio.Event) -> bool:
        return await run_due(sessionmaker, limit=max_per_tick, stop=stop) >= max_per_tick

    return PeriodicTask("churn-worker", tick, every_seconds=poll_seconds, logger=logger)
