"""The session as a FastAPI dependency: who is calling an authenticated DEP endpoint (spec §4.3).

`CurrentServer` for the ORM routes, `feed_caller` for the feed pages and /account on the hot pool;
both set the (possibly rotated) `X-ADM-Auth-Session` header on the answer. The checks that come
before the session (User-Agent, protocol version) are the ground floor's: dep_emulator.core.dep.
"""

from __future__ import annotations

from typing import Annotated

import asyncpg
from fastapi import Depends, Request, Response

from ..core.config import Settings
from ..core.db import DbSession
from ..core.dep import JSON_UTF8, SESSION_HEADER, SettingsDep
from ..orgs.models import MdmServer
from . import service as session_service


def feed_json(content: bytes, caller: session_service.FeedCaller) -> Response:
    """A DEP answer already rendered (a page's JSON built by PostgreSQL), with the caller's session header."""
    return Response(
        content=content, status_code=200, media_type=JSON_UTF8, headers={SESSION_HEADER: caller.token}
    )


async def current_server(
    request: Request, response: Response, db: DbSession, settings: SettingsDep
) -> MdmServer:
    """The MDM server behind `X-ADM-Auth-Session`; sets the (possibly rotated) header on the response."""
    resolved = await session_service.resolve_session(
        db, settings=settings, presented=request.headers.get(SESSION_HEADER)
    )
    response.headers[SESSION_HEADER] = resolved.token
    request.state.server_uuid = resolved.server.server_uuid  # for metrics and logs
    return resolved.server


CurrentServer = Annotated[MdmServer, Depends(current_server)]


async def feed_caller(request: Request, conn: asyncpg.Connection | None = None) -> session_service.FeedCaller:
    """`current_server` on the hot pool (dep_emulator.core.driver), for the feed pages and /account.

    Without `conn` a pool connection is taken only when a statement is needed.
    """
    settings: Settings = request.app.state.settings
    caller = await session_service.resolve_feed_caller(
        conn,
        settings=settings,
        presented=request.headers.get(SESSION_HEADER),
        prefetched=request.scope.get("state", {}).get(session_service.PREFETCHED_SESSION),
        state=request.app.state,
    )
    request.state.server_uuid = caller.server_uuid  # for metrics and logs
    return caller
