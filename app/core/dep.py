"""What every endpoint of Apple's DEP surface shares: protocol version, User-Agent rules, auth.

Order of checks on an authenticated endpoint, as Apple answers them: User-Agent first
(400 USER_AGENT_MISSING / USER_AGENT_INVALID), then the session (401 / 403).
"""

from __future__ import annotations

import re
from typing import Annotated

import asyncpg
from fastapi import Depends, Request, Response
from fastapi.responses import JSONResponse

from ..orgs.models import MdmServer
from ..session import service as session_service
from .config import Settings
from .db import DbSession
from .errors import DepError

SESSION_HEADER = "X-ADM-Auth-Session"
JSON_UTF8 = "application/json;charset=UTF8"


class DepJSONResponse(JSONResponse):
    """Apple's JSON content type, written the way the real service writes it (spec §1.3)."""

    media_type = JSON_UTF8


def feed_json(content: bytes, caller: session_service.FeedCaller) -> Response:
    """A DEP answer already rendered (a page's JSON built by PostgreSQL), with the caller's session header."""
    return Response(
        content=content, status_code=200, media_type=JSON_UTF8, headers={SESSION_HEADER: caller.token}
    )


async def get_settings(request: Request) -> Settings:
    settings: Settings = request.app.state.settings
    return settings


SettingsDep = Annotated[Settings, Depends(get_settings)]


async def protocol_version(request: Request) -> int:
    """`X-Server-Protocol-Version`: missing or non-numeric → 1, above our maximum → our maximum (§2)."""
    settings: Settings = request.app.state.settings
    return version_of(request.headers.get("x-server-protocol-version"), settings)


def version_of(header: str | None, settings: Settings) -> int:
    """The protocol version an `X-Server-Protocol-Version` value asks for (see `protocol_version`)."""
    raw = (header or "").strip()
    version = int(raw) if raw.isdigit() and len(raw) < 6 else 1
    return max(1, min(version, settings.max_protocol_version))


ProtocolVersion = Annotated[int, Depends(protocol_version)]


async def check_user_agent(request: Request) -> None:
    """400 USER_AGENT_MISSING without one; USER_AGENT_INVALID when it matches the deny-list (§14.1)."""
    settings: Settings = request.app.state.settings
    user_agent = request.headers.get("user-agent", "").strip()
    if not user_agent:
        raise DepError("USER_AGENT_MISSING")
    if any(re.search(pattern, user_agent) for pattern in settings.user_agent_deny):
        raise DepError("USER_AGENT_INVALID")


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
