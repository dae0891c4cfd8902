"""OpenAPI documentation helpers: each surface's error bodies, and the final touch-up of the document.

Why by hand: DEP handlers parse their bodies themselves (so bad JSON gets Apple's
`MALFORMED_REQUEST_BODY`, never FastAPI's 422), so FastAPI cannot infer request bodies or
error responses. Each DEP route declares `responses=dep_errors("CODE", ...)` listing the bare
codes it can answer (spec §11 and the endpoint's section), and `openapi_extra=json_request(...)`
for its body. `install_openapi` then replaces FastAPI's generic 422 with what each surface
really sends (our JSON envelope on the control API; nothing on Apple's surfaces, which answer
400 instead). The document is what Schemathesis fuzzes against (tests/robustness).
"""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI
from fastapi.openapi.utils import get_openapi
from pydantic import BaseModel

PLAIN = "text/plain"

# Every authenticated DEP endpoint can answer these (spec §6 preamble, §4.3, §11).
COMMON_400 = ("USER_AGENT_MISSING", "USER_AGENT_INVALID")
SESSION_401 = ("UNAUTHORIZED",)
SESSION_403 = ("FORBIDDEN", "ACCESS_DENIED", "T_C_NOT_SIGNED")
TOO_LARGE = "REQUEST_ENTITY_TOO_LARGE"  # app/core/body_limit.py
REFUSED = {429: ("TOO_MANY_REQUESTS",), 503: ("SERVICE_UNAVAILABLE",)}  # traffic rules, outages (§12)

STATUS_TEXT = {
    400: "Bad request",
    401: "Session missing or expired: authenticate again with /session",
    403: "Session or token not valid for this server",
    404: "Not found",
    413: "Request body over the size limit",
    429: "Throttled by a traffic rule (Retry-After)",
    503: "Refused by a traffic rule or the database is unreachable (Retry-After)",
}


def plain_codes(description: str, codes: tuple[str, ...] | list[str]) -> dict[str, Any]:
    """A response whose body is one of Apple's bare upper-case codes, as text/plain (spec §1.5)."""
    listed = ", ".join(f"`{c}`" for c in codes)
    return {
        "description": f"{description}. Body, as plain text: {listed}",
        "content": {PLAIN: {"schema": {"type": "string", "enum": list(dict.fromkeys(codes))}}},
    }


def dep_errors(
    *codes: str, body: bool = True, not_found: tuple[str, ...] = (), forbidden: tuple[str, ...] = ()
) -> dict[int | str, Any]:
    """`responses=` for an authenticated DEP route: 400 with the route's codes, 401, 403, 413, 429, 503.

    `codes` are the endpoint's own 400 codes; the User-Agent codes (and MALFORMED_REQUEST_BODY
    when the route reads a `body`) are added. `not_found` codes are documented as 404 (spec §6.7
    lets replacementDetails answer 404 when configured so), `forbidden` ones as 403 (§6.8).
    """
    bad = [*COMMON_400, *(("MALFORMED_REQUEST_BODY",) if body else ()), *codes]
    responses: dict[int | str, Any] = {
        400: plain_codes(STATUS_TEXT[400], bad),
        401: plain_codes(STATUS_TEXT[401], SESSION_401),
        403: plain_codes(STATUS_TEXT[403], (*SESSION_403, *forbidden)),
    }
    if not_found:
        responses[404] = plain_codes(STATUS_TEXT[404], not_found)
    if body:
        responses[413] = plain_codes(STATUS_TEXT[413], (TOO_LARGE,))
    for status, refused in REFUSED.items():
        responses[status] = plain_codes(STATUS_TEXT[status], refused)
    return responses


def session_errors() -> dict[int | str, Any]:
    """`/session` (spec §4.4): OAuth problem reports (lower case, optionally `oauth_problem=`-prefixed)."""
    oauth = {"type": "string", "pattern": r"^(oauth_problem=)?[a-z_]+$"}
    return {
        400: {
            "description": "Unusable OAuth header (parameter_absent, parameter_rejected, "
            "signature_method_rejected, version_rejected), plain text, optionally `oauth_problem=`-prefixed",
            "content": {PLAIN: {"schema": oauth}},
        },
        401: {
            "description": "consumer_key_unknown, token_rejected, signature_invalid, nonce_used, "
            "token_expired (plain text, optionally `oauth_problem=`-prefixed)",
            "content": {PLAIN: {"schema": oauth}},
        },
        403: {
            "description": "`T_C_NOT_SIGNED`, `ACCESS_DENIED`, or token_rejected when configured so",
            "content": {PLAIN: {"schema": {"anyOf": [oauth, {"enum": ["T_C_NOT_SIGNED", "ACCESS_DENIED"]}]}}},
        },
        **{s: plain_codes(STATUS_TEXT[s], c) for s, c in REFUSED.items()},
    }


OBJECT: dict[str, Any] = {"type": "object"}


def json_request(schema: dict[str, Any] | type[BaseModel], *, required: bool = False) -> dict[str, Any]:
    """`openapi_extra=` documenting a JSON body that the handler reads itself."""
    if isinstance(schema, type):
        schema = schema.model_json_schema(ref_template="#/components/schemas/{model}")
    return {"requestBody": {"required": required, "content": {"application/json": {"schema": schema}}}}


# --- control API and ABM error bodies -------------------------------------------------------------


class ControlErrorDetail(BaseModel):
    code: str
    message: str
    details: dict[str, Any] | None = None


class ControlErrorBody(BaseModel):
    """The control API's error envelope (dep_emulator.core.errors.control_error_body)."""

    error: ControlErrorDetail


class JsonApiErrorItem(BaseModel):
    id: str | None = None
    status: str
    code: str
    title: str
    detail: str
    source: dict[str, str] | None = None


class JsonApiErrorBody(BaseModel):
    """Apple Business Manager's ErrorResponse (abm-api.md §1.7)."""

    errors: list[JsonApiErrorItem]


class OAuth2ErrorBody(BaseModel):
    """RFC 6749 §5.2 token-endpoint error (abm-api.md §1.2)."""

    error: str
    error_description: str


CONTROL_TEXT = {
    400: "Bad request",
    401: "Admin token missing or wrong",
    403: "Not allowed from this address",
    404: "No such resource",
    409: "Conflicts with the current state",
    413: "Request body over the size limit",
    422: "Validation failed",
}


def control_errors(*statuses: int) -> dict[int | str, Any]:
    """`responses=` for control API routes: our JSON envelope for each status."""
    return {s: {"model": ControlErrorBody, "description": CONTROL_TEXT.get(s, "Error")} for s in statuses}


def abm_errors(*statuses: int) -> dict[int | str, Any]:
    """`responses=` for /v1 routes: JSON:API error documents."""
    return {s: {"model": JsonApiErrorBody, "description": "JSON:API error document"} for s in statuses}


# --- the document -----------------------------------------------------------------------------------

CONTROL_COMMON = (401, 403, 413, 503)
WRITES = {"post", "put", "patch", "delete"}


def _surface(path: str) -> str:
    if path.startswith("/emulator/v1/"):
        return "control"
    if path.startswith("/v1/"):
        return "abm"
    if path.startswith("/auth/"):
        return "oauth2"
    return "other"


def _ref(model: type[BaseModel]) -> dict[str, Any]:
    schema = {"$ref": f"#/components/schemas/{model.__name__}"}
    return {"content": {"application/json": {"schema": schema}}}


def _hoist_defs(node: Any, schemas: dict[str, Any]) -> Any:
    """Move inline `$defs` (a pydantic schema handed to `openapi_extra`) into components.schemas.

    `#/$defs/...` is a JSON Schema reference that OpenAPI 3.1 tools resolve against the document's
    root, where nothing is: ReDoc stops at it. Components are where every tool looks."""
    if isinstance(node, dict):
        for name, schema in node.pop("$defs", {}).items():
            schemas.setdefault(name, _hoist_defs(schema, schemas))
        ref = node.get("$ref")
        if isinstance(ref, str) and ref.startswith("#/$defs/"):
            node["$ref"] = "#/components/schemas/" + ref.removeprefix("#/$defs/")
        for value in node.values():
            _hoist_defs(value, schemas)
    elif isinstance(node, list):
        for item in node:
            _hoist_defs(item, schemas)
    return node


def build_openapi(app: FastAPI) -> dict[str, Any]:
    """FastAPI's document, with every surface's real error responses (see the module docstring).

    Rules, by surface: control API routes answer 401/403 (admin auth), 413, 503 (database
    unreachable), 404 when the path names a resource, 422 when they take input, 400 when
    they take a body (one FastAPI cannot even decode); /v1 routes
    answer JSON:API documents for 400/401/403, 404 with a path id, 409/422 on writes, 413 and
    503 (the middlewares answer before the app, in each surface's format). Route-specific statuses
    (400, 409) are declared on the routes with `control_errors`.
    """
    doc = get_openapi(
        title=app.title,
        version=app.version,
        summary=app.summary,
        description=app.description,
        routes=app.routes,
    )
    schemas = doc.setdefault("components", {}).setdefault("schemas", {})
    for model in (ControlErrorBody, ControlErrorDetail, JsonApiErrorBody, JsonApiErrorItem, OAuth2ErrorBody):
        schemas.setdefault(
            model.__name__, model.model_json_schema(ref_template="#/components/schemas/{model}")
        )
    schemas.pop("HTTPValidationError", None)
    schemas.pop("ValidationError", None)
    _hoist_defs([doc.get("paths", {}), *schemas.values()], schemas)
    for path, operations in doc.get("paths", {}).items():
        surface = _surface(path)
        for method, operation in operations.items():
            responses = operation.setdefault("responses", {})
            takes_input = responses.pop("422", None) is not None or "requestBody" in operation
            statuses: dict[int, dict[str, Any]] = {}
            if surface == "control":
                statuses = {s: _ref(ControlErrorBody) for s in CONTROL_COMMON}
                if "{" in path:
                    statuses[404] = _ref(ControlErrorBody)
                if takes_input:
                    statuses[422] = _ref(ControlErrorBody)
                if "requestBody" in operation:  # a body that is not even text: FastAPI's 400
                    statuses[400] = _ref(ControlErrorBody)
            elif surface == "abm":
                statuses = {s: _ref(JsonApiErrorBody) for s in (400, 401, 403)}
                if "{" in path:
                    statuses[404] = _ref(JsonApiErrorBody)
                if method in WRITES:
                    statuses[409] = statuses[422] = _ref(JsonApiErrorBody)
                # 413 and 503 come from core.errors.middleware_refusal
                statuses[413] = statuses[503] = _ref(JsonApiErrorBody)
            elif surface == "oauth2":
                statuses = {s: _ref(OAuth2ErrorBody) for s in (400, 401, 413, 503)}
            for status, response in statuses.items():
                text = CONTROL_TEXT.get(status, "Error") if surface == "control" else "Error"
                responses.setdefault(str(status), {"description": text, **response})
    return doc


def install_openapi(app: FastAPI) -> None:
    """Serve `build_openapi` at /openapi.json (built once, on first use)."""

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is None:
            app.openapi_schema = build_openapi(app)
        return app.openapi_schema

    app.openapi = openapi  # type: ignore[method-assign]
