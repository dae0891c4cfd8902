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
import contextlib
import logging

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

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


class ChurnWorker:
    def __init__(
        self, sessionmaker: async_sessionmaker[AsyncSession], *, poll_seconds: float, max_per_tick: int
    ) -> None:
        self._sessionmaker = sessionmaker
        self._poll = poll_seconds
        self._max = max_per_tick
        self._stop = asyncio.Event()
        self._task: asyncio.Task[None] | None = None

    def start(self) -> None:
        self._task = asyncio.create_task(self._loop(), name="churn-worker")

    async def stop(self, grace_seconds: float = 10.0) -> None:
        """Let the current event finish (it is one transaction), then end; cancel if it hangs."""
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
            ran = 0
            try:
                ran = await run_due(self._sessionmaker, limit=self._max, stop=self._stop)
            except asyncio.CancelledError:
                raise
            except Exception:  # a database outage must not kill the loop (logged, retried next tick)
                logger.exception("churn tick failed")
            if ran >= self._max:
                await asyncio.sleep(0)  # behind: next tick at once, after letting requests run
                continue
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._stop.wait(), self._poll)
