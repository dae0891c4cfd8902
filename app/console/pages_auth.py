"""Sign In: with DEPEMU_ADMIN_TOKEN set, the admin token is exchanged for a console cookie."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import Response

from ..core.config import Settings
from .render import ConsoleRoute, redirect, render, text
from .security import COOKIE_OPTIONS, SESSION_COOKIE, read_form, safe_next, session_value, token_matches

router = APIRouter(route_class=ConsoleRoute)


@router.get("/sign-in")
async def sign_in(request: Request, next: str = "/console") -> Response:
    settings: Settings = request.app.state.settings
    if settings.admin_token is None:
        return redirect(request, safe_next(next))
    return render(request, "sign_in.html", title="Sign In", next=safe_next(next))


@router.post("/sign-in")
async def sign_in_submit(request: Request) -> Response:
    """The token travels in the POST body only; the cookie holds an HMAC of it."""
    form = await read_form(request)
    settings: Settings = request.app.state.settings
    target = safe_next(text(form, "next"))
    if settings.admin_token is None:
        return redirect(request, target)
    if not token_matches(settings, text(form, "admin_token")):
        return render(
            request,
            "sign_in.html",
            status_code=401,
            next=target,
            errors={"admin_token": "The admin token is not right"},
        )
    response = redirect(request, target)
    response.set_cookie(SESSION_COOKIE, session_value(settings), **COOKIE_OPTIONS)
    return response
