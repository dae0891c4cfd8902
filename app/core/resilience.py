"""Database trouble, handled where it is cheapest: around the whole request.

- Deadlocks and serialisation failures are PostgreSQL's "try again": the request is re-run
  (body buffered, only while nothing has been sent yet; `get_db` rolled the transaction back).
- A pooled connection that died silently fails the request's first statement; SQLAlchemy
  then invalidates the pool, and the request is re-run once on a fresh connection (the pool
  checks connections locally instead of pinging: dep_emulator.core.db).
- An unreachable database answers 503 at once, with `Retry-After` and a clear body, instead
  of a hang or a traceback; the pool reconnects by itself once it is back.
Pure ASGI, answering by sending.
"""

from __future__ import annotations

import asyncio
import logging
import random

import asyncpg
from sqlalchemy.exc import DBAPIError, InterfaceError, OperationalError
from sqlalchemy.exc import TimeoutError as PoolTimeout
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from .body_limit import is_streamed_upload, read_body, replay_once
from .errors import middleware_refusal

logger = logging.getLogger("dep_emulator.resilience")
RETRYABLE_SQLSTATES = frozenset({"40001", "40P01"})  # serialization_failure, deadlock_detected
UNAVAILABLE_RETRY_AFTER = "5"


def _sqlstate(exc: DBAPIError) -> str | None:
    for candidate in (exc.orig, getattr(exc.orig, "__cause__", None)):
        code = getattr(candidate, "sqlstate", None) or getattr(candidate, "pgcode", None)
        if code:
            return str(code)
    return None


def is_retryable(exc: BaseException) -> bool:
    return isinstance(exc, DBAPIError) and _sqlstate(exc) in RETRYABLE_SQLSTATES


def is_stale_connection(exc: BaseException) -> bool:
    """The connection was lost (the transaction with it): worth one more try on a new one.

    SQLAlchemy says so (`connection_invalidated`); on the hot pool (dep_emulator.core.driver) asyncpg does.
    """
    if isinstance(exc, DBAPIError):
        return exc.connection_invalidated
    return isinstance(exc, asyncpg.ConnectionDoesNotExistError | asyncpg.InterfaceError)


def is_database_unavailable(exc: BaseException) -> bool:
    """Connection-level failures (refused, reset, pool exhausted), not query errors."""
    if isinstance(exc, PoolTimeout | ConnectionError | TimeoutError):
        return True
    if isinstance(exc, OperationalError | InterfaceError):
        return True
    if isinstance(exc, DBAPIError) and exc.connection_invalidated:
        return True
    if isinstance(exc, OSError) and not isinstance(exc, PermissionError):
        return True
    name = type(exc).__name__
    return name in {"CannotConnectNowError", "ConnectionDoesNotExistError", "TooManyConnectionsError"}


class ResilienceMiddleware:
    def __init__(self, app: ASGIApp, attempts: int = 4) -> None:
        self.app = app
        self.attempts = attempts

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        if is_streamed_upload(scope):  # a body read as it arrives cannot be replayed: one run
            try:
                await self.app(scope, receive, send)
            except Exception as exc:
                if not is_database_unavailable(exc):
                    raise
                await _unavailable(scope, send)
            return
        body, receive = await read_body(scope, receive)
        if body is None:  # the client left before sending its body
            return
        await receive()  # the body's own message: every run below gets the body from replay_once

        for attempt in range(1, self.attempts + 1):
            started = False
            attempt_receive = replay_once(body, receive)

            async def tracking_send(message: Message) -> None:
                nonlocal started
                started = True
                await send(message)

            try:
                await self.app(scope, attempt_receive, tracking_send)
                return
            except Exception as exc:
                if started:
                    raise
                if is_retryable(exc) and attempt < self.attempts:
                    logger.info("retrying after a database conflict", extra={"attempt": attempt})
                    await asyncio.sleep(random.uniform(0.005, 0.05) * attempt)
                    continue
                if is_stale_connection(exc) and attempt == 1:
                    logger.info("retrying on a new connection after a lost one")
                    continue
                if is_database_unavailable(exc):
                    logger.warning("database unavailable: %s", type(exc).__name__)
                    await _unavailable(scope, send)
                    return
                raise


async def _unavailable(scope: Scope, send: Send) -> None:
    message = "the database is unreachable; retry shortly"
    body, content_type = middleware_refusal(scope["path"], 503, message)
    await send(
        {
            "type": "http.response.start",
            "status": 503,
            "headers": [
                (b"content-type", content_type),
                (b"content-length", str(len(body)).encode()),
                (b"retry-after", UNAVAILABLE_RETRY_AFTER.encode()),
            ],
        }
    )
    await send({"type": "http.response.body", "body": body})
