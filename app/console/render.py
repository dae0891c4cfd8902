"""Templates, the console's response headers, and the form helpers every page uses."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable, Coroutine
from datetime import datetime
from pathlib import Path
from typing import Any

from fastapi import Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from fastapi.routing import APIRoute
from fastapi.templating import Jinja2Templates
from starlette.datastructures import FormData, UploadFile

from ..clock import service as clock
from ..core.errors import ControlError, JsonApiError
from . import security
from .paging import BAD_CURSOR

HERE = Path(__file__).parent
templates = Jinja2Templates(directory=HERE / "templates")  # autoescape on for .html
CSP = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "connect-src 'self'; form-action 'self'; base-uri 'none'; object-src 'none'; frame-ancestors 'none'"
)
HEADERS = {
    "Content-Security-Policy": CSP,
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "same-origin",
    "Cache-Control": "no-store",
}


def when(moment: datetime | None) -> str:
    """A time as the emulator clock shows it (UTC, to the second)."""
    return clock.isoformat(moment) if moment is not None else "—"


templates.env.filters["when"] = when


def secure(request: Request, response: Response) -> Response:
    for key, value in HEADERS.items():
        response.headers[key] = value
    new = getattr(request.state, "new_csrf", None)
    if new is not None:
        response.set_cookie(security.CSRF_COOKIE, new, **security.COOKIE_OPTIONS)
    return response


def render(request: Request, name: str, status_code: int = 200, **context: Any) -> Response:
    """Render a template with the CSRF token and the console's security headers."""
    context.setdefault("errors", {})
    context.setdefault("values", {})
    context["csrf_token"] = security.csrf_token(request)
    context["request"] = request
    response = templates.TemplateResponse(request, name, context, status_code=status_code)
    return secure(request, response)


def redirect(request: Request, location: str) -> Response:
    """POST then redirect (303): a reload never submits the form again."""
    return secure(request, RedirectResponse(location, status_code=303))


def text(form: FormData, name: str) -> str:
    value = form.get(name)
    return value.strip() if isinstance(value, str) else ""


def upload(form: FormData, name: str) -> UploadFile | None:
    value = form.get(name)
    if isinstance(value, UploadFile) and (value.filename or value.size):
        return value
    return None


async def upload_chunks(file: UploadFile, size: int = 1 << 16) -> AsyncIterator[bytes]:
    """An uploaded file as the byte stream the control API's CSV import reads."""
    while data := await file.read(size):
        yield data


def page_error(request: Request, status_code: int, message: str) -> Response:
    return render(request, "error.html", status_code=status_code, message=message)


def html(request: Request, body: str) -> Response:
    return secure(request, HTMLResponse(body))


class ConsoleRoute(APIRoute):
    """Renders the console's exceptions as pages instead of the control API's JSON.

    A service's `ControlError` (a missing org, a server without a certificate) or `JsonApiError` (an
    unknown Blueprint, a cursor that is not ours) becomes a page with the same status, after the
    request's transaction rolled back (the exception passed `get_db`)."""

    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        handler = super().get_route_handler()

        async def route(request: Request) -> Response:
            try:
                return await handler(request)
            except security.ConsoleRedirect as exc:
                return secure(request, RedirectResponse(exc.location, status_code=303))
            except security.ConsoleForbidden as exc:
                return page_error(request, 403, exc.message)
            except ControlError as exc:
                return page_error(request, exc.status_code, exc.message)
            except JsonApiError as exc:  # the Business API's reads (Users, Blueprints, ...): its detail
                bad_cursor = (exc.source or {}).get("parameter") == "cursor"
                return page_error(request, exc.status_code, BAD_CURSOR if bad_cursor else exc.detail)

        return route
