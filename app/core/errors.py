"""Error types that carry their wire form, and the handlers that render them.

Two surfaces, two formats:
- Apple's surfaces (`DepError`): the bare upper-case code as `text/plain` (spec §1.5), or
  depsim's quoted form when `DEPEMU_ERROR_BODY_STYLE=quoted`.
- Our control API (`ControlError`): JSON `{"error": {"code", "message"}}`.
- Apple's Business Manager API (`JsonApiError`, under /v1/): the JSON:API error document
  `{"errors": [{"status", "code", "title", "detail"}]}` (abm-api.md §1.7); its token
  endpoint (`OAuth2Error`, under /auth/): OAuth 2 `{"error", "error_description"}` (§1.2).
Unknown paths and wrong methods follow the surface: empty 404/405 bodies on Apple's
DEP surface (spec §5), JSON envelopes under /emulator, /v1 and /auth.
"""

from __future__ import annotations

import json
import logging
import uuid
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, Response
from starlette.exceptions import HTTPException as StarletteHTTPException

from .config import ErrorBodyStyle, Settings

logger = logging.getLogger("dep_emulator.errors")

CONTROL_PREFIX = "/emulator/"
JSON_API_PREFIX = "/v1/"
OAUTH2_PREFIX = "/auth/"
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


class JsonApiError(Exception):
    """An error on the Business Manager API, rendered as a JSON:API error document."""

    def __init__(
        self,
        status_code: int,
        code: str,
        title: str,
        detail: str,
        *,
        source: dict[str, str] | None = None,
        headers: dict[str, str] | None = None,
    ) -> None:
        self.status_code = status_code
        self.code = code
        self.title = title
        self.detail = detail
        self.source = source
        self.headers = headers or {}
        super().__init__(f"{status_code} {code}: {detail}")

    def body(self) -> dict[str, Any]:
        error: dict[str, Any] = {
            "id": str(uuid.uuid4()),
            "status": str(self.status_code),  # a string, as Apple's ErrorResponse has it
            "code": self.code,
            "title": self.title,
            "detail": self.detail,
        }
        if self.source is not None:
            error["source"] = self.source
        return {"errors": [error]}


class OAuth2Error(Exception):
    """A token-endpoint error in RFC 6749 §5.2 form; Apple answers 400 (developer forums 818652)."""

    def __init__(self, error: str, description: str, *, status_code: int = 400) -> None:
        self.error = error
        self.description = description
        self.status_code = status_code
        super().__init__(f"{error}: {description}")

    def body(self) -> dict[str, str]:
        return {"error": self.error, "error_description": self.description}


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


def is_json_api_path(path: str) -> bool:
    return path.startswith(JSON_API_PREFIX)


def is_oauth2_path(path: str) -> bool:
    return path.startswith(OAUTH2_PREFIX)


# Statuses a middleware answers before any route runs: (control code, JSON:API / DEP code,
# JSON:API title, OAuth 2 error). DEP's body is the bare code, as Apple's front end sends it.
_MIDDLEWARE_REFUSALS = {  # fmt: skip
    413: (
        "payload_too_large",
        "REQUEST_ENTITY_TOO_LARGE",
        "The request entity is too large",
        "invalid_request",
    ),
    503: (
        "database_unavailable",
        "SERVICE_UNAVAILABLE",
        "The service is unavailable",
        "temporarily_unavailable",
    ),
}


def middleware_refusal(path: str, status: int, message: str) -> tuple[bytes, bytes]:
    """(body, content type) of a 413 or 503 sent by a middleware, in `path`'s surface's own format."""
    control_code, code, title, oauth2_error = _MIDDLEWARE_REFUSALS[status]
    document: dict[str, Any]
    if is_control_path(path):
        document = control_error_body(control_code, message)
    elif is_json_api_path(path):
        document = JsonApiError(status, code, title, message).body()
    elif is_oauth2_path(path):
        document = OAuth2Error(oauth2_error, message, status_code=status).body()
    else:
        return code.encode(), PLAIN_TEXT.encode()
    return json.dumps(document).encode(), b"application/json"


_HTTP_JSON_API = {
    404: ("NOT_FOUND", "The specified resource doesn't exist"),
    405: ("METHOD_NOT_ALLOWED", "The request method is not allowed for the resource"),
}


def json_api_response(exc: JsonApiError) -> Response:
    return JSONResponse(exc.body(), status_code=exc.status_code, headers=exc.headers)


def oauth2_response(exc: OAuth2Error) -> Response:
    # RFC 6749 §5.1: token responses are never cached.
    headers = {"Cache-Control": "no-store", "Pragma": "no-cache"}
    return JSONResponse(exc.body(), status_code=exc.status_code, headers=headers)


def register_error_handlers(app: FastAPI, settings: Settings) -> None:
    async def on_dep_error(request: Request, exc: Exception) -> Response:
        assert isinstance(exc, DepError)
        return dep_error_response(exc, settings.error_body_style)

    async def on_control_error(request: Request, exc: Exception) -> Response:
        assert isinstance(exc, ControlError)
        return JSONResponse(
            control_error_body(exc.code, exc.message, **exc.details), status_code=exc.status_code
        )

    async def on_json_api_error(request: Request, exc: Exception) -> Response:
        assert isinstance(exc, JsonApiError)
        return json_api_response(exc)

    async def on_oauth2_error(request: Request, exc: Exception) -> Response:
        assert isinstance(exc, OAuth2Error)
        return oauth2_response(exc)

    async def on_http_error(request: Request, exc: Exception) -> Response:
        assert isinstance(exc, StarletteHTTPException)
        path = request.url.path
        if is_json_api_path(path):
            code, title = _HTTP_JSON_API.get(exc.status_code, ("HTTP_ERROR", "The request failed"))
            detail = f"{request.method} {path}: {exc.detail}"
            return json_api_response(
                JsonApiError(exc.status_code, code, title, detail, headers=dict(exc.headers or {}))
            )
        if is_oauth2_path(path):
            return oauth2_response(
                OAuth2Error("invalid_request", str(exc.detail), status_code=exc.status_code)
            )
        if is_control_path(path):
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
        if is_json_api_path(request.url.path):
            detail = "; ".join(f"{p['location']}: {p['message']}" for p in problems) or "invalid request"
            return json_api_response(
                JsonApiError(400, "PARAMETER_ERROR.INVALID", "A parameter has an invalid value", detail)
            )
        if is_control_path(request.url.path):
            message = "; ".join(f"{p['location']}: {p['message']}" for p in problems) or "invalid request"
            return JSONResponse(
                control_error_body("validation_error", message, problems=problems), status_code=422
            )
        return dep_error_response(DepError("MALFORMED_REQUEST_BODY"), settings.error_body_style)

    async def on_unexpected(request: Request, exc: Exception) -> Response:
        logger.exception("unhandled error on %s %s", request.method, request.url.path)
        if is_json_api_path(request.url.path):
            return json_api_response(
                JsonApiError(500, "UNEXPECTED_ERROR", "An unexpected error occurred", "see the service log")
            )
        if is_control_path(request.url.path):
            return JSONResponse(
                control_error_body("internal_error", "internal error; see the service log"),
                status_code=500,
            )
        return Response("Internal Server Error", status_code=500, media_type=PLAIN_TEXT)

    app.add_exception_handler(DepError, on_dep_error)
    app.add_exception_handler(ControlError, on_control_error)
    app.add_exception_handler(JsonApiError, on_json_api_error)
    app.add_exception_handler(OAuth2Error, on_oauth2_error)
    app.add_exception_handler(StarletteHTTPException, on_http_error)
    app.add_exception_handler(RequestValidationError, on_validation_error)
    app.add_exception_handler(Exception, on_unexpected)
