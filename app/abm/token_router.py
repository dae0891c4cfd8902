"""The token endpoint, as `account.apple.com` serves it (abm-api.md §1.2, §2.3 item 1)."""

from __future__ import annotations

from typing import Any
from urllib.parse import parse_qsl

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse

from ..core.db import DbSession
from . import tokens

router = APIRouter(tags=["abm"])

TOKEN_DOC: dict[str, Any] = {
    "responses": {
        200: {"description": '{"access_token", "token_type": "Bearer", "expires_in": 3600, "scope"}'},
        400: {"description": 'OAuth 2 error: {"error": "invalid_client" | "invalid_request" | ...}'},
    }
}


async def token_params(request: Request) -> dict[str, str]:
    """Query string and form body merged (the body wins). Apple's curl example and `applebusiness`
    use the query string with an empty body; pyaxm and nanoaxm a form body. The body is parsed as
    a form whatever its Content-Type says, and Host is never looked at."""
    params = dict(request.query_params)
    body = (await request.body()).decode("utf-8", errors="replace")
    params.update(parse_qsl(body, keep_blank_values=True))
    return params


@router.post("/auth/oauth2/token", **TOKEN_DOC)
@router.post("/auth/oauth2/v2/token", **TOKEN_DOC)
async def token(request: Request, db: DbSession) -> JSONResponse:
    """Client credentials grant with an ES256 JWT client assertion; a bearer token for one hour."""
    issued = await tokens.issue_token(db, params=await token_params(request))
    return JSONResponse(
        {
            "access_token": issued.access_token,
            "token_type": "Bearer",
            "expires_in": issued.expires_in,
            "scope": issued.scope,
        },
        headers={"Cache-Control": "no-store", "Pragma": "no-cache"},
    )
