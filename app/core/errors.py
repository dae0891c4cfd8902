"""Error types that carry their wire form, and the handlers that render them.

Two surfaces, two formats:
- Apple's surfaces (`DepError`): the bare upper-case code as `text/plain` (spec §1.5), or
  depsim's quoted form when `DEPEMU_ERROR_BODY_STYLE=quoted`.
- Our control API (`ControlError`): JSON `{"error": {"code", "message"}}`.
Unknown paths and wrong methods follow the surface: empty 404/405 bodies on Apple's
surface (spec §5), JSON envelopes under /emulator.
"""

from __future__ import annotations

import logging
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, Response
from starlette.exceptions import HTTPException as StarletteHTTPException

from app.core.config import ErrorBodyStyle, Settings

logger = logging.getLogger("dep_emulator.errors")

CONTROL_PREFIX = "/emulator/"
PLAIN_TEXT = "text/plain;charset=UTF8"


class DepError(Exception):
    """An error on Apple's DEP surface: an HTTP status and Apple's bare code."""

    status_code: int = 400
    code: str = "BAD_REQUEST"

    def __init__(
        self,
        code: str | None = None,
        *,
        status_code: int | None = None,
        headers: dict[str, str] | None = None,
        raw_body: bool = False,
    ) -> None:
        self.code = code if code is not None else type(self).code
        self.status_code = status_code if status_code is not None else type(self).status_code
        self.headers = headers or {}
        # raw_body: the body is sent as is (OAuth problem reports are lower case, never quoted).
        self.raw_body = raw_body
        super().__init__(f"{self.status_code} {self.code}")


class ControlError(Exception):
    """An error on the control API, rendered as JSON."""

    def __init__(self, status_code: int, code: str, message: str, **details: Any) -> None:
        self.status_code = status_code
        self.code = code
        self.message = message
        self.details = details
        super().__init__(message)


def not_found(what: str, key: str) -> ControlError:
    return ControlError(404, "not_found", f"{what} {key!r} does not exist")


def dep_error_response(exc: DepError, style: ErrorBodyStyle) -> Response:
    body = exc.code
    if style is ErrorBodyStyle.QUOTED and not exc.raw_body and body:
        body = f'"{body}"'
    return Response(body, status_code=exc.status_code, media_type=PLAIN_TEXT, headers=exc.headers)


def control_error_body(code: str, message: str, **details: Any) -> dict[str, Any]:
    error: dict[str, Any] = {"code": code, "message": message}
    if details:
        error["details"] = details
    return {"error": error}


def is_control_path(path: str) -> bool:
    return path.startswith(CONTROL_PREFIX) or path == CONTROL_PREFIX.rstrip("/")


def register_error_handlers(app: FastAPI, settings: Settings) -> None:
    async def on_dep_error(request: Request, exc: Exception) -> Response:
        assert isinstance(exc, DepError)
        return dep_error_response(exc, settings.error_body_style)

    async def on_control_error(request: Request, exc: Exception) -> Response:
        assert isinstance(exc, ControlError)
        return JSONResponse(
            control_error_body(exc.code, exc.message, **exc.details), status_code=exc.status_code
        )

    async def on_http_error(request: Request, exc: Exception) -> Response:
        assert isinstance(exc, StarletteHTTPException)
        if is_control_path(request.url.path):
            code = {404: "not_found", 405: "method_not_allowed"}.get(exc.status_code, "http_error")
            return JSONResponse(
                control_error_body(code, str(exc.detail)),
                status_code=exc.status_code,
                headers=exc.headers,
            )
        # Apple's surface: unknown path 404 and wrong method 405 with an empty body (spec §5).
        return Response(b"", status_code=exc.status_code, headers=exc.headers)

    async def on_validation_error(request: Request, exc: Exception) -> Response:
        assert isinstance(exc, RequestValidationError)
        problems = [
            {"location": ".".join(str(p) for p in err.get("loc", ())), "message": err.get("msg", "")}
            for err in exc.errors()
        ]
        if is_control_path(request.url.path):
            message = "; ".join(f"{p['location']}: {p['message']}" for p in problems) or "invalid request"
            return JSONResponse(
                control_error_body("validation_error", message, problems=problems), status_code=422
            )
        return dep_error_response(DepError("MALFORMED_REQUEST_BODY"), settings.error_body_style)

    async def on_unexpected(request: Request, exc: Exception) -> Response:
        logger.exception("unhandled error on %s %s", request.method, request.url.path)
        if is_control_path(request.url.path):
            return JSONResponse(
                control_error_body("internal_error", "internal error; see the service log"),
                status_code=500,
            )
        return Response("Internal Server Error", status_code=500, media_type=PLAIN_TEXT)

    app.add_exception_handler(DepError, on_dep_error)
    app.add_exception_handler(ControlError, on_control_error)
    app.add_exception_handler(StarletteHTTPException, on_http_error)
    app.add_exception_handler(RequestValidationError, on_validation_error)
    app.add_exception_handler(Exception, on_unexpected)
