"""The opt-in poll loop: each replica runs due device polls, each poll claimed once in Postgres.

Every `mdm_poll_loop_seconds` a replica claims one due device at a time (`service.claim_due`:
`FOR UPDATE SKIP LOCKED`, rescheduled and leased in the same statement, committed before the
device talks), runs its poll, and looks for the next. Two replicas never poll one device at
once, and a due poll is run by exactly one of them. Errors are logged, never raised.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from ..core.config import Settings
from . import service

logger = logging.getLogger("dep_emulator.device_mdm")


async def run_due(
    sessionmaker: async_sessionmaker[AsyncSession], *, settings: Settings, limit: int = 50
) -> int:
    """Run up to `limit` due polls, one after another; returns how many ran."""
    ran = 0
    while ran < limit:
        async with sessionmaker() as db, db.begin():
            lease = await service.claim_due(db)
        if lease is None:
            break
        try:
            await service.run_poll(sessionmaker, lease, settings=settings)
        except Exception:  # one device's failure must not stop the others' polls
            logger.exception("scheduled poll failed", extra={"device_id": lease.device_id})
        ran += 1
    return ran


class PollWorker:
    def __init__(self, sessionmaker: async_sessionmaker[AsyncSession], *, settings: Settings) -> None:
        self._sessionmaker = sessionmaker
        self._settings = settings
        self._stop = asyncio.Event()
        self._task: asyncio.Task[None] | None = None

    def start(self) -> None:
        self._task = asyncio.create_task(self._loop(), name="mdm-poll-worker")

    async def stop(self, grace_seconds: float = 10.0) -> None:
        self._stop.set()
        if self._task is None:
            return
        try:
            await asyncio.wait_for(asyncio.shield(self._task), grace_seconds)
        except TimeoutError:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task

    async def _loop(self) -> None:
        while not self._stop.is_set():
            try:
                await run_due(self._sessionmaker, settings=self._settings)
            except asyncio.CancelledError:
                raise
            except Exception:  # a database outage must not kill the loop (logged, retried next tick)
                logger.exception("poll loop tick failed")
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._stop.wait(), self._settings.mdm_poll_loop_seconds)
