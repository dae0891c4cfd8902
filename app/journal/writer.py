"""Group commit of journal rows: the requests in flight at one moment share one INSERT.

Every request to an Apple surface waits for its own row to be committed before the last byte
of its response goes out (dep_emulator.traffic.middleware), so no read can begin after the answer
and miss the row. Waiting one at a time, each row cost a statement of its own; here the first
row queued starts a flush at once (no added latency when the service is idle) and the rows
queued while a flush is in flight go together in the next one: under load a statement carries
as many rows as there are requests finishing meanwhile. One writer per app (`app.state`); the
queue lives only as long as its requests wait, nothing is kept between flushes.
"""

from __future__ import annotations

import asyncio
from typing import Any

from ..core import driver
from ..core.config import Settings
from .service import JournalEntry, insert_batch

MAX_BATCH = 500


class JournalWriter:
    def __init__(self, app_state: Any, settings: Settings) -> None:
        self._state = app_state
        self._settings = settings
        self._queued: list[tuple[JournalEntry, asyncio.Future[None]]] = []
        self._flusher: asyncio.Task[None] | None = None

    async def write(self, entry: JournalEntry) -> None:
        """Return once `entry` is committed; raise what the database raised if it was not."""
        done: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self._queued.append((entry, done))
        if self._flusher is None:
            self._flusher = asyncio.ensure_future(self._flush())
        await asyncio.shield(done)

    async def _flush(self) -> None:
        try:
            while self._queued:
                batch, self._queued = self._queued[:MAX_BATCH], self._queued[MAX_BATCH:]
                try:
                    async with driver.connection(self._state) as conn:
                        await insert_batch(conn, [entry for entry, _ in batch], settings=self._settings)
                except Exception as exc:
                    for _, done in batch:
                        if not done.done():
                            done.set_exception(exc)
                else:
                    for _, done in batch:
                        if not done.done():
                            done.set_result(None)
        finally:
            self._flusher = None
