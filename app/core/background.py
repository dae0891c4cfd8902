"""A replica's background loop (churn events, scheduled device polls), started by the app lifespan.

Nothing here keeps state that matters: replicas coordinate through row locks in PostgreSQL, in
the `tick` each loop runs. A failing tick is logged, never raised, and tried again next time.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable


class PeriodicTask:
    """Run `tick(stop)` every `every_seconds` until `stop()`; a tick that answers True was behind
    (it hit its bound), so the next one runs at once, after letting requests run."""

    def __init__(
        self,
        name: str,
        tick: Callable[[asyncio.Event], Awaitable[bool]],
        *,
        every_seconds: float,
        logger: logging.Logger,
    ) -> None:
        self._name = name
        self._tick = tick
        self._every = every_seconds
        self._logger = logger
        self._stop = asyncio.Event()
        self._task: asyncio.Task[None] | None = None

    def start(self) -> None:
        self._task = asyncio.create_task(self._loop(), name=self._name)

    async def stop(self, grace_seconds: float = 10.0) -> None:
        """Let the current unit of work finish (one transaction or one poll), then end; cancel if it hangs."""
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
            behind = False
            try:
                behind = await self._tick(self._stop)
            except asyncio.CancelledError:
                raise
            except Exception:  # a database outage must not kill the loop (logged, retried next tick)
                self._logger.exception("%s tick failed", self._name)
            if behind:
                await asyncio.sleep(0)
                continue
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._stop.wait(), self._every)
