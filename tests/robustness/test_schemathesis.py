"""Schemathesis against our own OpenAPI document, in-process over ASGI (issue 8 §1).

Three fuzz runs, one per surface: Apple's DEP endpoints (with a real session), the control API,
and the Business Manager API (with a real bearer token). Each operation gets a small,
derandomized budget (`MAX_EXAMPLES`, positive and negative inputs) so the whole module stays
well under a few minutes on CI. Every response must be no 5xx, have a documented status and
content type, and match its documented schema — including Apple's text/plain error codes,
which a deserializer below turns into strings so their enums are checked too.

Schemathesis runs the app in its own event loop (its ASGI portal), so each test builds a fresh
app on the test database and seeds it through the API; the `pg` fixture empties every table
afterwards like for any other test.
"""

from __future__ import annotations

import time
import uuid
import zlib
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import jwt
import pytest
import schemathesis
from dep_emulator.core.config import Settings
from dep_emulator.main import create_app
from dep_emulator.testing.dep_client import OAuthCredentials, sign_session_request
from fastapi import FastAPI
from hypothesis import HealthCheck, given, settings
from hypothesis.errors import Unsatisfiable
from schemathesis import GenerationMode
from schemathesis.checks import not_a_server_error
from schemathesis.python import asgi
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from tests.conftest import make_certificate

MAX_EXAMPLES = 15
CHECKS = [not_a_server_error, status_code_conformance, content_type_conformance, response_schema_conformance]
FUZZ_SETTINGS = settings(
    max_examples=MAX_EXAMPLES,
    derandomize=True,
    deadline=None,
    database=None,
    suppress_health_check=list(HealthCheck),
)
USER_AGENT = "schemathesis-fuzz/1"
ADMIN_TOKEN = "fuzz-admin-token"  # Schemathesis' ASGI client is not a loopback peer
ADMIN = {"Authorization": f"Bearer {ADMIN_TOKEN}"}


@schemathesis.deserializer("text/plain")
def plain_text(ctx: Any, response: Any) -> str:
    """Apple's bare error codes (spec §1.5) are validated like JSON strings."""
    return str(response.content.decode("utf-8", errors="replace"))


@dataclass(frozen=True)
class Seed:
    org_id: str
    server_uuid: str
    serials: list[str]
    session_token: str
    abm_token: str
    abm_server_id: str
    business_ids: dict[str, str]


def business_seed(http: asgi.ASGIClient, org_id: str, serial: str, abm_token: str) -> dict[str, str]:
    """People, content and a Blueprint (issue 30), by the path parameter names that address them."""
    bearer = {"Authorization": f"Bearer {abm_token}"}
    base = f"/emulator/v1/orgs/{org_id}"
    assert (
        http.post(
            f"{base}/people/generate", json={"users": 30, "groups": 3, "units": 1, "seed": 1}
        ).status_code
        == 200
    )
    assert http.post(f"{base}/catalogue", json={"apps": 3, "packages": 2}).status_code == 200

    def first(path: str) -> str:
        response = http.get(path, headers=bearer)
        assert response.status_code == 200, response.text
        return str(response.json()["data"][0]["id"])

    ids = {
        "user_id": first("/v1/users"),
        "group_id": first("/v1/userGroups"),
        "unit_id": first("/v1/organizationalUnits"),
        "app_id": first("/v1/apps"),
        "package_id": first("/v1/packages"),
    }
    config = http.post(
        f"{base}/configurations", json={"type": "WIFI", "name": "Office Wi-Fi", "platforms": ["PLATFORM_IOS"]}
    )
    ids["config_id"] = config.json()["id"]
    relationships = {
        "apps": {"data": [{"type": "apps", "id": ids["app_id"]}]},
        "orgDevices": {"data": [{"type": "orgDevices", "id": serial}]},
    }
    blueprint = http.post(
        "/v1/blueprints",
        json={"data": {"type": "blueprints", "attributes": {"name": "Fuzz"}, "relationships": relationships}},
        headers=bearer,
    )
    assert blueprint.status_code == 201, blueprint.text
    ids["blueprint_id"] = blueprint.json()["data"]["id"]
    ids["rel"] = "apps"
    return ids


def seed(http: asgi.ASGIClient) -> Seed:
    """An org with a server, 20 assigned devices, a DEP session and an ABM bearer token."""

    def ok(response: Any, status: int = 200) -> Any:
        assert response.status_code == status, response.text
        return response.json()

    org_id = ok(http.post("/emulator/v1/orgs", json={"name": "Fuzz Org"}), 201)["id"]
    cert, _ = make_certificate()
    server = ok(
        http.post(
            f"/emulator/v1/orgs/{org_id}/mdm-servers",
            json={"server_name": "Fuzz MDM", "certificate_pem": cert.decode()},
        ),
        201,
    )
    server_uuid = server["server_uuid"]
    creds = OAuthCredentials.from_json(
        ok(http.post(f"/emulator/v1/mdm-servers/{server_uuid}/oauth-credentials"))
    )
    added = ok(
        http.post(f"/emulator/v1/orgs/{org_id}/devices", json={"generate": {"count": 20, "seed": 7}}), 201
    )
    serials = added["serials"]
    ok(
        http.post(
            f"/emulator/v1/orgs/{org_id}/assignments", json={"server_uuid": server_uuid, "serials": serials}
        )
    )
    url = f"http://{asgi.HOST}/session"
    session = http.get(
        "/session", headers={"Authorization": sign_session_request(creds, url), "User-Agent": USER_AGENT}
    )
    token = ok(session)["auth_session_token"]

    account = ok(
        http.post(f"/emulator/v1/orgs/{org_id}/api-accounts", json={"private_key_format": "pkcs8"}), 201
    )
    now = int(time.time())
    claims = {
        "sub": account["client_id"],
        "iss": account["client_id"],
        "aud": "https://account.apple.com/auth/oauth2/v2/token",
        "iat": now,
        "exp": now + 300,
        "jti": str(uuid.uuid4()),
    }
    assertion = jwt.encode(
        claims, account["private_key_pem"], algorithm="ES256", headers={"kid": account["key_id"]}
    )
    params = {
        "grant_type": "client_credentials",
        "client_id": account["client_id"],
        "client_assertion_type": "urn:ietf:params:oauth:client-assertion-type:jwt-bearer",
        "client_assertion": assertion,
        "scope": account["scope"],
    }
    abm_token = ok(http.post("/auth/oauth2/token", data=params))["access_token"]
    servers = ok(http.get("/v1/mdmServers", headers={"Authorization": f"Bearer {abm_token}"}))
    business = business_seed(http, org_id, serials[0], abm_token)
    return Seed(org_id, server_uuid, serials, token, abm_token, servers["data"][0]["id"], business)


@pytest.fixture
def fuzz_app(database_url: str, pg: Any) -> Iterator[tuple[FastAPI, Seed]]:
    app = create_app(
        Settings(
            database_url=database_url,
            log_level="ERROR",
            log_format="text",
            admin_token=ADMIN_TOKEN,
            abm_activity_delay_seconds=0,
        ),
        run_migrations=False,
    )
    try:
        with asgi.get_client(app) as http:  # starts the lifespan in Schemathesis' event loop
            http.headers.update(ADMIN)
            yielded = seed(http)
        yield app, yielded
    finally:
        asgi.shutdown_lifespans()


def load(app: FastAPI, path_regex: str) -> Any:
    schema = schemathesis.openapi.from_asgi("/openapi.json", app)
    schema.config.generation.update(
        modes=["positive", "negative"], max_examples=MAX_EXAMPLES, deterministic=True
    )
    return schema.include(path_regex=path_regex)


# /session is signed per request (OAuth nonces): its errors are covered in tests/session.
# /emulator/v1/reset would empty the seed under the other operations' feet; it has its own tests.
SURFACES = {
    "dep": r"^/(account|server/devices|devices|device/|profile|os-beta|account-driven)",
    "control": r"^/emulator/v1/(?!reset)",
    "abm": r"^/(v1|auth)/",
}


def known_ids(case: Any, seeded: Seed) -> None:
    """Half the cases (chosen by a stable hash) address seeded resources, so not everything is a 404."""
    if not case.path_parameters or zlib.crc32(repr(case.path_parameters).encode()) % 2:
        return
    values = {
        "org_id": seeded.org_id,
        "server_uuid": seeded.server_uuid,
        "serial": seeded.serials[0],
        "server_id": seeded.abm_server_id,
        **seeded.business_ids,
    }
    for name in list(case.path_parameters):
        if name in values:
            case.path_parameters[name] = values[name]


# A valid `generate` of up to 2,000,000 devices takes minutes (bench/bulk.py measures it); the fuzz
# is about shapes and errors, so generated counts are cut to this many.
FUZZ_GENERATE_COUNT = 500


def small_bulk(case: Any) -> None:
    """Cut a generated device count (valid up to 2,000,000) to FUZZ_GENERATE_COUNT."""
    body = case.body if isinstance(case.body, dict) else None
    generate = body.get("generate") if body else None
    if (
        isinstance(generate, dict)
        and isinstance(generate.get("count"), int)
        and not isinstance(generate["count"], bool)
    ):
        generate["count"] = min(generate["count"], FUZZ_GENERATE_COUNT)
    # People generated by the control API (issue 30): valid up to 1,000,000 users.
    if body is not None and case.path.endswith("/people/generate"):
        for key, cap in (("users", 200), ("groups", 20), ("members_per_group", 20), ("units", 5)):
            # 30701.0 is a valid integer to pydantic too
            if isinstance(body.get(key), int | float) and not isinstance(body[key], bool):
                body[key] = min(body[key], cap)


def headers_for(surface: str, case: Any, seeded: Seed) -> dict[str, str]:
    if surface == "dep":
        return {"User-Agent": USER_AGENT, "X-ADM-Auth-Session": seeded.session_token}
    if surface == "control":
        return ADMIN
    return {} if case.path.startswith("/auth/") else {"Authorization": f"Bearer {seeded.abm_token}"}


@pytest.mark.parametrize("surface", list(SURFACES))
def test_fuzz(surface: str, fuzz_app: tuple[FastAPI, Seed]) -> None:
    started = time.monotonic()
    """Every operation of the surface, positive and negative inputs, MAX_EXAMPLES each.

    Driven by hand (operation strategies under Hypothesis) rather than `schema.parametrize()`,
    whose pytest integration does not support pytest 9; failures are collected per operation.
    """
    app, seeded = fuzz_app
    schema = schemathesis.openapi.from_asgi("/openapi.json", app).include(path_regex=SURFACES[surface])
    failures: list[str] = []
    operations = [result.ok() for result in schema.get_all_operations()]
    assert operations
    for operation in operations:
        for mode in (GenerationMode.POSITIVE, GenerationMode.NEGATIVE):

            @FUZZ_SETTINGS
            @given(case=operation.as_strategy(generation_mode=mode))
            def run(case: Any) -> None:
                known_ids(case, seeded)
                small_bulk(case)
                case.call_and_validate(headers=headers_for(surface, case, seeded), checks=CHECKS)

            try:
                run()
            except Unsatisfiable:  # negative mode: nothing to negate (no parameters, no body)
                continue
            except (Exception, BaseExceptionGroup) as exc:  # reported together below
                failures.append(f"{operation.label} [{mode.value}]: {exc}")
    print(f"fuzzed {surface}: {len(operations)} operations in {time.monotonic() - started:.0f}s")  # noqa: T201
    assert not failures, "\n\n".join(failures)
