"""The OpenAPI document is complete: every route, every body, Apple's error bodies per DEP endpoint
(issue 7 §6, issue 8 §1). Schemathesis fuzzes against this document (test_schemathesis.py), so
a gap here is a gap in the fuzzing too."""

from __future__ import annotations

from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from fastapi.routing import APIRoute, iter_route_contexts

# Served by FastAPI itself (the document and its viewers), not application routes.
FRAMEWORK_PATHS = {"/openapi.json", "/docs", "/docs/oauth2-redirect", "/redoc"}
# The web console's pages and the docs' assets are HTML and files for browsers, not API operations.
BROWSER_PREFIXES = ("/console", "/docs/assets")


def app_routes(app: FastAPI) -> set[tuple[str, str]]:
    """(METHOD, path) of every route the app answers, HEAD left out (Starlette adds it to GETs)."""
    found: set[tuple[str, str]] = set()
    for route in iter_route_contexts(app.router.routes):  # flattens included routers (FastAPI ≥ 0.16x)
        path = route.path
        methods = route.methods or set()
        if path is None or path in FRAMEWORK_PATHS or path.startswith(BROWSER_PREFIXES):
            continue
        assert isinstance(route.original_route, APIRoute), f"{path} is not a documented API route"
        found |= {(m, path) for m in methods if m != "HEAD"}
    return found


@pytest.fixture
async def document(client: httpx.AsyncClient) -> dict[str, Any]:
    response = await client.get("/openapi.json")
    assert response.status_code == 200
    doc: dict[str, Any] = response.json()
    return doc


def operations(doc: dict[str, Any]) -> dict[tuple[str, str], dict[str, Any]]:
    return {(m.upper(), p): op for p, ops in doc["paths"].items() for m, op in ops.items()}


async def test_every_route_is_documented(app: FastAPI, document: dict[str, Any]) -> None:
    routes = app_routes(app)
    assert len(routes) > 50
    assert routes == set(operations(document))


def plain_codes(operation: dict[str, Any], status: int) -> list[str]:
    response = operation["responses"][str(status)]
    codes: list[str] = response["content"]["text/plain"]["schema"]["enum"]
    return codes


DEP_CODES = {
    ("GET", "/account"): set(),
    ("POST", "/server/devices"): {"MALFORMED_REQUEST_BODY", "INVALID_CURSOR", "EXHAUSTED_CURSOR"},
    ("POST", "/devices/sync"): {
        "MALFORMED_REQUEST_BODY",
        "CURSOR_REQUIRED",
        "INVALID_CURSOR",
        "EXHAUSTED_CURSOR",
        "EXPIRED_CURSOR",
    },
    ("POST", "/devices"): {"MALFORMED_REQUEST_BODY", "DEVICE_ID_REQUIRED"},
    ("POST", "/devices/disown"): {"MALFORMED_REQUEST_BODY", "DEVICE_ID_REQUIRED"},
    ("GET", "/device/replacementDetails"): {"DEVICE_ID_REQUIRED", "DEVICE_NOT_FOUND", "BAD_REQUEST"},
    ("POST", "/profile"): {
        "MALFORMED_REQUEST_BODY",
        "CONFIG_NAME_REQUIRED",
        "CONFIG_URL_INVALID",
        "FLAGS_INVALID",
    },
    ("GET", "/profile"): {"PROFILE_UUID_REQUIRED", "NOT_FOUND"},
    ("PUT", "/profile/devices"): {"MALFORMED_REQUEST_BODY", "PROFILE_UUID_REQUIRED", "DEVICE_ID_REQUIRED"},
    ("POST", "/profile/devices"): {"MALFORMED_REQUEST_BODY", "PROFILE_UUID_REQUIRED", "DEVICE_ID_REQUIRED"},
    ("DELETE", "/profile/devices"): {"MALFORMED_REQUEST_BODY", "DEVICE_ID_REQUIRED"},
    ("POST", "/device/activationlock"): {"MALFORMED_REQUEST_BODY"},
    ("GET", "/os-beta-enrollment/tokens"): set(),
    ("POST", "/account-driven-enrollment/profile"): {
        "MDM_SERVICE_DISCOVERY_URL_REQUIRED",
        "ORG_NOT_SUPPORTED",
    },
    ("GET", "/account-driven-enrollment/profile"): {"ORG_NOT_SUPPORTED"},
    ("DELETE", "/account-driven-enrollment/profile"): {"ORG_NOT_SUPPORTED"},
}


async def test_every_dep_operation_documents_apples_error_bodies(document: dict[str, Any]) -> None:
    dep = {key: op for key, op in operations(document).items() if "dep" in op.get("tags", ())}
    session = dep.pop(("GET", "/session"))
    assert set(DEP_CODES) <= set(dep), "every DEP endpoint has an expected-codes row here"
    for key, operation in dep.items():
        assert {"400", "401", "403"} <= set(operation["responses"]), key
        assert "422" not in operation["responses"], key  # Apple answers 400, never FastAPI's 422
        expected = {"USER_AGENT_MISSING", "USER_AGENT_INVALID", *DEP_CODES.get(key, set())}
        assert set(plain_codes(operation, 400)) >= expected, key
        assert plain_codes(operation, 401) == ["UNAUTHORIZED"], key
        assert set(plain_codes(operation, 403)) >= {"FORBIDDEN", "ACCESS_DENIED", "T_C_NOT_SIGNED"}, key
        assert "application/json;charset=UTF8" in operation["responses"]["200"]["content"], key
        if key[0] in ("POST", "PUT") or key == ("DELETE", "/profile/devices"):
            assert "requestBody" in operation, key
            assert plain_codes(operation, 413) == ["REQUEST_ENTITY_TOO_LARGE"], key
    assert {"400", "401", "403"} <= set(session["responses"])


async def test_dep_success_bodies_have_schemas(document: dict[str, Any]) -> None:
    ops = operations(document)
    fetch = ops[("POST", "/server/devices")]["responses"]["200"]["content"]["application/json;charset=UTF8"]
    assert fetch["schema"] == {"$ref": "#/components/schemas/FetchDeviceResponse"}
    sync_body = ops[("POST", "/devices/sync")]["requestBody"]["content"]["application/json"]["schema"]
    assert sync_body["required"] == ["cursor"]


async def test_control_and_abm_errors_use_their_envelopes(document: dict[str, Any]) -> None:
    for (method, path), operation in operations(document).items():
        responses = operation["responses"]
        if path.startswith("/emulator/v1/"):
            assert {"401", "403"} <= set(responses), (method, path)
            schema = responses["401"]["content"]["application/json"]["schema"]
            assert schema == {"$ref": "#/components/schemas/ControlErrorBody"}
            if "422" in responses:
                schema = responses["422"]["content"]["application/json"]["schema"]
                assert schema == {"$ref": "#/components/schemas/ControlErrorBody"}, (method, path)
        elif path.startswith("/v1/"):
            schema = responses["400"]["content"]["application/json"]["schema"]
            assert schema == {"$ref": "#/components/schemas/JsonApiErrorBody"}
            assert "422" not in responses or method != "GET", (method, path)
    assert "HTTPValidationError" not in document["components"]["schemas"]


async def test_account_urls_still_list_only_dep_routes(mdm: httpx.AsyncClient) -> None:
    """/account builds `urls` from this document (spec §13): the touch-up must not change it."""
    urls = {u["uri"] for u in (await mdm.get("/account")).json()["urls"]}
    assert {"/session", "/account", "/server/devices", "/devices/sync", "/devices"} <= urls
    assert not any(u.startswith(("/v1", "/emulator")) for u in urls)


async def test_every_dep_success_body_has_a_named_schema(document: dict[str, Any]) -> None:
    """No DEP 200 is documented as a bare object: each names its schema (GET /profile included)."""
    for key, operation in operations(document).items():
        if "dep" not in operation.get("tags", ()) or key == ("GET", "/session"):
            continue
        content = operation["responses"]["200"]["content"]
        schemas = [c.get("schema", {}) for c in content.values()]
        assert schemas and all("$ref" in s for s in schemas), (key, schemas)
