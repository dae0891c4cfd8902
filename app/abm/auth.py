"""Bearer authentication for `/v1` (abm-api.md §1.2: `Authorization: Bearer <access_token>`)."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request

from ..core.db import DbSession
from ..core.errors import JsonApiError
from ..orgs.settings import org_setting
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


# The resources that exist only while the org's built-in device management is on (abm-api-2.md
# §1.3: Apple says so of apps and packages; mdmDevices, Blueprints and Configurations are that
# service's devices and policy objects). The answer while it is off is *unverified*: 403.
BUILTIN_RESOURCES = frozenset({"apps", "packages", "mdmDevices", "blueprints", "configurations"})


def forbidden(detail: str) -> JsonApiError:
    return JsonApiError(403, "FORBIDDEN_ERROR", "This request is forbidden for security reasons", detail)


async def business_caller(request: Request, caller: CurrentCaller) -> Caller:
    """Callers of the Business-only resources (abm-api-2.md §1.2): a `school.api` token gets 404
    `NOT_FOUND`, as for any path the School API lacks (the answer is *unverified*, §1.3). Then the
    org's switches (§5 item 10): built-in device management off, and resources the API account's
    role has no permission for, answer 403 `FORBIDDEN_ERROR`."""
    if caller.account.scope != "business.api":
        raise JsonApiError(
            404,
            "NOT_FOUND",
            "The specified resource doesn't exist",
            "This resource is part of the Apple Business API only; Apple School Manager has no such path.",
        )
    resource = resource_of(request)
    if resource in BUILTIN_RESOURCES and not org_setting(caller.org, "builtin_device_management"):
        raise forbidden(
            f"The resource '{resource}' requires Apple's built-in device management, which is turned off "
            "for this organization. Use Apps and Books for Organizations instead."
        )
    if resource in org_setting(caller.org, "api_missing_permissions"):
        raise forbidden(f"The API account's role does not have the permission to access '{resource}'.")
    return caller


def resource_of(request: Request) -> str:
    """The resource family of the matched route: `blueprints` for /v1/blueprints/{id}/relationships/apps."""
    route = request.scope.get("route")
    template = getattr(route, "path", None) or request.url.path
    parts = template.split("/")
    return parts[2] if len(parts) > 2 else ""


BusinessCaller = Annotated[Caller, Depends(business_caller)]
