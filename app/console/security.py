"""Who may use the console, and the CSRF check every form goes through.

As the control API (dep_emulator.core.control): without `DEPEMU_ADMIN_TOKEN` only loopback clients;
with it, a sign-in page that sets an HttpOnly, SameSite=Strict cookie. The cookie holds an HMAC
of the token, never the token, so every replica (which share the setting) can check it.

CSRF is the double-submit pattern: a random cookie (HttpOnly, SameSite=Strict) whose value every
form repeats in a hidden field. A cross-site page can neither read the cookie nor send it, so it
cannot forge a matching pair; no server-side state, so it holds across replicas.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from typing import Any
from urllib.parse import quote

from fastapi import Request
from starlette.datastructures import FormData

from ..core.config import Settings
from ..core.control import _is_loopback
from ..core.security import constant_time_equals

SESSION_COOKIE = "depemu_console"
CSRF_COOKIE = "depemu_csrf"
CSRF_FIELD = "csrf_token"
MAX_FORM_PART = 64 * 1024 * 1024  # a textarea of 100,000 serials is ~1.3 MB; starlette's default is 1 MB
MAX_FORM_FILES = 4
COOKIE_OPTIONS: dict[str, Any] = {"httponly": True, "samesite": "strict", "path": "/"}


class ConsoleRedirect(Exception):
    """Send the browser elsewhere (to sign in) instead of rendering the page."""

    def __init__(self, location: str) -> None:
        self.location = location


class ConsoleForbidden(Exception):
    """403 with a page saying why (a non-loopback client, a missing CSRF token)."""

    def __init__(self, message: str) -> None:
        self.message = message


def session_value(settings: Settings) -> str:
    assert settings.admin_token is not None
    key = settings.admin_token.get_secret_value().encode("utf-8")
    return hmac.new(key, b"dep-emulator console session", hashlib.sha256).hexdigest()


def token_matches(settings: Settings, presented: str) -> bool:
    assert settings.admin_token is not None
    return constant_time_equals(presented, settings.admin_token.get_secret_value())


async def require_console(request: Request) -> None:
    """Every console page: loopback only without an admin token, else a signed-in browser."""
    settings: Settings = request.app.state.settings
    if settings.admin_token is None:
        client = request.client.host if request.client else None
        if not _is_loopback(client):
            raise ConsoleForbidden(
                "The console only answers loopback clients unless DEPEMU_ADMIN_TOKEN is set."
            )
        return
    cookie = request.cookies.get(SESSION_COOKIE, "")
    if not constant_time_equals(cookie, session_value(settings)):
        target = request.url.path + (f"?{request.url.query}" if request.url.query else "")
        raise ConsoleRedirect(f"/console/sign-in?next={quote(target, safe='')}")


def csrf_token(request: Request) -> str:
    """The browser's CSRF token (a new one when it has none; `render` sets the cookie)."""
    existing = request.cookies.get(CSRF_COOKIE)
    if existing and len(existing) == 43:
        return existing
    token: str | None = getattr(request.state, "new_csrf", None)
    if token is None:
        token = secrets.token_urlsafe(32)
        request.state.new_csrf = token
    return token


async def read_form(request: Request) -> FormData:
    """The posted form, refused with 403 unless it repeats the browser's CSRF cookie.

    Files are spooled to disk by python-multipart as they arrive (never held whole in memory).
    """
    form = await request.form(max_files=MAX_FORM_FILES, max_part_size=MAX_FORM_PART)
    presented = form.get(CSRF_FIELD)
    cookie = request.cookies.get(CSRF_COOKIE, "")
    if not isinstance(presented, str) or not cookie or not constant_time_equals(presented, cookie):
        raise ConsoleForbidden("The form was refused: its CSRF token is missing or does not match.")
    return form


def safe_next(target: str | None) -> str:
    """Only a console path may follow sign-in (no open redirect)."""
    if target and target.startswith("/console") and "//" not in target and "\\" not in target:
        return target
    return "/console"
