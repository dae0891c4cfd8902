"""What every endpoint of Apple's DEP surface shares before its session: protocol version, User-Agent rules.

Order of checks on an authenticated endpoint, as Apple answers them: User-Agent first
(400 USER_AGENT_MISSING / USER_AGENT_INVALID), then the session (401 / 403:
dep_emulator.session.dependencies).
"""

from __future__ import annotations

import re
from typing import Annotated

from fastapi import Depends, Request
from fastapi.responses import JSONResponse

from .config import Settings
from .errors import DepError

SESSION_HEADER = "X-ADM-Auth-Session"
JSON_UTF8 = "application/json;charset=UTF8"


class DepJSONResponse(JSONResponse):
    """Apple's JSON content type, written the way the real service writes it (spec §1.3)."""

    media_type = JSON_UTF8


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
