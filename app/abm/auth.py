"""Bearer authentication for `/v1` (abm-api.md §1.2: `Authorization: Bearer <access_token>`)."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request

from ..core.db import DbSession
from ..core.errors import JsonApiError
from .tokens import Caller, resolve_bearer


async def current_caller(request: Request, db: DbSession) -> Caller:
    """401 without a live token (the client then fetches a new one, as Apple advises); 403 while the
    org has not accepted the current terms (the portal refuses API use, like DEP's T_C_NOT_SIGNED)."""
    scheme, _, token = request.headers.get("authorization", "").partition(" ")
    caller = await resolve_bearer(db, token=token.strip()) if scheme.lower() == "bearer" else None
    if caller is None:
        raise JsonApiError(
            401,
            "NOT_AUTHORIZED",
            "Authentication credentials are missing or invalid.",
            "Provide a valid access token from the token endpoint in the Authorization header (Bearer).",
            headers={"WWW-Authenticate": 'Bearer realm="AxM"'},
        )
    if not caller.org.terms_accepted:
        raise JsonApiError(
            403,
            "FORBIDDEN_ERROR",
            "This request is forbidden for security reasons",
            "The organization must accept the latest terms and conditions before using the API.",
        )
    return caller


CurrentCaller = Annotated[Caller, Depends(current_caller)]


async def business_caller(caller: CurrentCaller) -> Caller:
    """Callers of the Business-only resources (abm-api-2.md §1.2): a `school.api` token gets 404
    `NOT_FOUND`, as for any path the School API lacks (the answer is *unverified*, §1.3)."""
    if caller.account.scope != "business.api":
        raise JsonApiError(
            404,
            "NOT_FOUND",
            "The specified resource doesn't exist",
            "This resource is part of the Apple Business API only; Apple School Manager has no such path.",
        )
    return caller


BusinessCaller = Annotated[Caller, Depends(business_caller)]
