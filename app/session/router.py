"""`GET /session`: exchange OAuth 1.0a credentials for a session token (spec §4)."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse

from ..core.db import DbSession
from ..core.dep import JSON_UTF8, SESSION_HEADER, SettingsDep
from ..core.openapi import session_errors
from . import oauth1, service

router = APIRouter(tags=["dep"])


def client_visible_url(request: Request, settings: SettingsDep) -> str:
    """The URL the client signed: `DEPEMU_PUBLIC_BASE_URL` behind a proxy, else what it called."""
    if settings.public_base_url:
        return settings.public_base_url + request.url.path
    return oauth1.normalize_base_url(request.url.scheme, request.url.netloc, request.url.path)


SESSION_OK = {
    "description": "A new session token, also in the X-ADM-Auth-Session header (spec §4.2)",
    "content": {
        JSON_UTF8: {
            "schema": {
                "type": "object",
                "required": ["auth_session_token"],
                "properties": {"auth_session_token": {"type": "string"}},
            }
        }
    },
}


@router.get("/session", responses={200: SESSION_OK, **session_errors()})
async def get_session(request: Request, db: DbSession, settings: SettingsDep) -> JSONResponse:
    """Authenticate with OAuth 1.0a HMAC-SHA1 and get an `auth_session_token` (spec §4.1–§4.2)."""
    token = await service.open_session(
        db,
        settings=settings,
        authorization=request.headers.get("authorization"),
        base_url=client_visible_url(request, settings),
    )
    return JSONResponse({"auth_session_token": token}, media_type=JSON_UTF8, headers={SESSION_HEADER: token})
