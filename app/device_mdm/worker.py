"""The opt-in poll loop: each replica runs due device polls, each poll claimed once in Postgres.

Every `mdm_poll_loop_seconds` a replica claims one due device at a time (`polls.claim_due`:
`FOR UPDATE SKIP LOCKED`, rescheduled and leased in the same statement, committed before the
device talks), runs its poll, and looks for the next. Two replicas never poll one device at
once, and a due poll is run by exactly one of them. Errors are logged, never raised.
"""

from __future__ import annotations

import asyncio
import logging

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from ..core.background import PeriodicTask
from ..core.config import Settings
from . import polls

logger = logging.getLogger("dep_emulator.device_mdm")


async def run_due(
    sessionmaker: async_sessionmaker[AsyncSession], *, settings: Settings, limit: int = 50
) -> int:
    """Run up to `limit` due polls, one after another; returns how many ran."""
    ran = 0
    while ran < limit:
        async with sessionmaker() as db, db.begin():
            lease = await polls.claim_due(db)
        if lease is None:
            break
        try:
            await polls.run_poll(sessionmaker, lease, settings=settings)
        except Exception:  # one device's failure must not stop the others' polls
            logger.exception("scheduled poll failed", extra={"device_id": lease.device_id})
        ran += 1
    return ran


def poll_worker(sessionmaker: async_sessionmaker[AsyncSession], *, settings: Settings) -> PeriodicTask:
    """Every `mdm_poll_loop_seconds`, the due polls (up to 50 a tick)."""

    async def tick(stop: asyncio.Event) -> bool:
        await run_due(sessionmaker, settings=settings)
        return False  # a poll takes the network's time: the next tick waits its interval

    return PeriodicTask("mdm-poll-worker", tick, every_seconds=settings.mdm_poll_loop_seconds, logger=logger)
