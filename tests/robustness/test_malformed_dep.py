"""Malformed input on every Apple DEP endpoint: Apple's exact answer, and nothing written (issue 8 §1).

The matrix is rows (`ENDPOINTS`: what an endpoint reads) × kinds of bad input (`cases_for`).
Each case is sent raw (no client-side re-authentication) and must get exactly the status and
bare-code body of spec §11, while a dump of every table (`snapshot`) stays identical.

Adding an endpoint is one `Endpoint(...)` row: say where it reads serials (`serials=` for a
JSON list, `serial=` for one JSON string, `query=` for a query parameter), which other fields a
valid body needs (`base=`), and the code for a body missing what it needs (`missing=`).
Rows for endpoints not on main yet are listed in `LATER` and join the matrix once their route
exists (profiles branch: issue 4).
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import asyncpg
import httpx
import pytest
from dep_emulator.testing.dep_client import OAuthCredentials
from fastapi import FastAPI
from fastapi.routing import iter_route_contexts

from tests.conftest import snapshot
from tests.devices.helpers import assign, generate
from tests.traffic.support import open_session

MAX_BODY = 1_000_000
UA = {"User-Agent": "fleetdm/nanodep", "X-Server-Protocol-Version": "10"}
MALFORMED = (400, "MALFORMED_REQUEST_BODY")
TOO_LARGE = (413, "REQUEST_ENTITY_TOO_LARGE")
NOT_JSON = object()  # marker: `body` is raw bytes


@pytest.fixture
def settings_overrides() -> dict[str, Any]:
    return {"max_body_bytes": MAX_BODY}


@dataclass(frozen=True)
class Endpoint:
    method: str
    path: str
    serials: str | None = None  # JSON field holding a list of serials
    serial: str | None = None  # JSON field holding one serial
    query: str | None = None  # query parameter holding one serial
    cursor: bool = False  # reads `cursor` and `limit`
    base: dict[str, Any] = field(default_factory=dict)  # the rest of a valid body
    missing: tuple[int, str] | None = None  # answer to a body lacking its required field
    required_body: bool = False  # an empty body is MALFORMED_REQUEST_BODY rather than `missing`
    body: bool = True  # reads a JSON body at all
    unknown_serials: Any = None  # answer (status, parsed JSON) for serials it does not know, if 200

    @property
    def id(self) -> str:
        return f"{self.method} {self.path}"


ENDPOINTS = [
    Endpoint("GET", "/account", body=False),
    Endpoint("POST", "/server/devices", cursor=True),
    Endpoint("POST", "/devices/sync", cursor=True, missing=(400, "CURSOR_REQUIRED")),
    Endpoint("POST", "/devices", serials="devices", missing=(400, "DEVICE_ID_REQUIRED")),
    Endpoint("POST", "/devices/disown", serials="devices", missing=(400, "DEVICE_ID_REQUIRED")),
    Endpoint(
        "GET",
        "/device/replacementDetails",
        body=False,
        query="device",
        missing=(400, "DEVICE_ID_REQUIRED"),
    ),
]
PROFILE = {"profile_uuid": "C1F123098EB5074580041E69883004C3"}
# spec §6.6–§6.13, from the profiles branch (on main now). A row whose route is not served is
# skipped, so rows can be listed before their endpoint lands.
LATER = [
    Endpoint("POST", "/profile", missing=(400, "CONFIG_NAME_REQUIRED"), required_body=True),
    Endpoint("GET", "/profile", body=False),
    *(
        Endpoint(
            m,
            "/profile/devices",
            serials="devices",
            base=PROFILE,
            missing=(400, "DEVICE_ID_REQUIRED"),
            required_body=True,
        )
        for m in ("POST", "PUT")
    ),
    Endpoint("DELETE", "/profile/devices", serials="devices", missing=(400, "DEVICE_ID_REQUIRED")),
    Endpoint("POST", "/device/activationlock", serial="device", missing=MALFORMED, required_body=True),
    Endpoint("GET", "/os-beta-enrollment/tokens", body=False),
    Endpoint(
        "POST",
        "/account-driven-enrollment/profile",
        missing=(400, "MDM_SERVICE_DISCOVERY_URL_REQUIRED"),
        required_body=True,
    ),
    Endpoint("GET", "/account-driven-enrollment/profile", body=False),
    Endpoint("DELETE", "/account-driven-enrollment/profile", body=False),
]


@dataclass(frozen=True)
class Case:
    name: str
    expect: tuple[int, str]
    body: Any = None  # JSON value, or bytes
    params: dict[str, str] | None = None
    headers: dict[str, str] | None = None  # replaces the session header set
    json_body: Any = None  # expected parsed JSON body instead of text, for 200 answers


def serial_body(endpoint: Endpoint, value: Any) -> dict[str, Any]:
    key = endpoint.serials or endpoint.serial
    assert key is not None
    return {**endpoint.base, key: value}


def cases_for(endpoint: Endpoint) -> Iterator[Case]:
    """Every kind of bad input that applies to `endpoint`, with Apple's answer."""
    if endpoint.body:
        yield Case("not JSON", MALFORMED, b"{not json")
        yield Case("not UTF-8", MALFORMED, b"\xff\xfe\x00{")
        yield Case("truncated JSON", MALFORMED, b'{"devices": ["A"')
        yield Case("nested 100k deep", MALFORMED, b"[" * 100_000 + b"]" * 100_000)
        for name, value in (("array", []), ("string", "x"), ("number", 1), ("null", None), ("bool", True)):
            yield Case(f"top-level {name}", MALFORMED, json.dumps(value).encode())
        # a lone surrogate is valid JSON but not text: never stored, never echoed back
        yield Case("lone surrogate", MALFORMED, b'{"cursor": "\\ud800", "devices": ["\\udfff"]}')
        yield Case(
            "lone surrogate, valid fields", MALFORMED, json.dumps({**endpoint.base, "x": "\ud800"}).encode()
        )
        yield Case("over the size limit", TOO_LARGE, b'{"devices": ["' + b"A" * (MAX_BODY + 10) + b'"]}')
        yield Case("NUL inside the JSON text", MALFORMED, b'{"devices": ["A"]}\x00')
    if endpoint.missing is not None and endpoint.body:
        yield Case("empty body", MALFORMED if endpoint.required_body else endpoint.missing, b"")
        yield Case("empty object", endpoint.missing, {**endpoint.base})
        yield Case("only unknown fields", endpoint.missing, {**endpoint.base, "serial": "X", "extra": [1]})
    if endpoint.serials:
        yield Case("empty array", endpoint.missing or MALFORMED, serial_body(endpoint, []))
        yield Case("explicit null", endpoint.missing or MALFORMED, serial_body(endpoint, None))
        for name, value in (
            ("a string", "SERIAL1"),
            ("a number", 42),
            ("an object", {"serial": "A"}),
            ("numbers", [1, 2]),
            ("a null item", ["A", None]),
            ("nested lists", [["A"]]),
            ("booleans", [True]),
        ):
            yield Case(f"serials as {name}", MALFORMED, serial_body(endpoint, value))
    if endpoint.serial:
        for name, value in (("a list", ["A"]), ("a number", 1), ("an object", {})):
            yield Case(f"serial as {name}", MALFORMED, serial_body(endpoint, value))
    if endpoint.cursor:
        # A cursor that is not a string is not one we issued: INVALID_CURSOR (tests/devices/test_cursors.py)
        for name, value in (("a number", 5), ("a list", ["c"]), ("an object", {"c": 1}), ("a bool", True)):
            yield Case(f"cursor as {name}", (400, "INVALID_CURSOR"), {"cursor": value})
        for name, value in (("a string", "10"), ("a float", 1.5), ("a bool", True), ("a list", [10])):
            yield Case(f"limit as {name}", MALFORMED, {"cursor": "MTAwOjA6MTc0", "limit": value})
        invalid = (400, "INVALID_CURSOR")
        yield Case("1,000-character cursor", invalid, {"cursor": "A" * 1000})
        yield Case("1,001-character cursor", invalid, {"cursor": "A" * 1001})
        yield Case("100,000-character cursor", invalid, {"cursor": "QUJD" * 25_000})
        yield Case("unicode cursor", invalid, {"cursor": "çürsör-序列-😀"})
        yield Case("control characters in the cursor", invalid, {"cursor": "MTAw\u0000\u001f\n\t"})
        yield Case("base64 of garbage", invalid, {"cursor": "Ojo6Ojo6Ojo6Ojo"})
        yield Case("negative numbers in the cursor", invalid, {"cursor": "LTE6LTE6LTE6LTE6dHJ1ZTotMQ"})
    if endpoint.query:
        not_found = (400, "DEVICE_NOT_FOUND")
        yield Case("no query parameter", endpoint.missing or not_found)
        yield Case("empty query parameter", endpoint.missing or not_found, params={endpoint.query: ""})
        for name, value in (
            ("1,000 characters", "A" * 1000),
            ("unicode", "序列-😀-é"),
            ("control characters", "A\u0000B\u001f"),
            ("SQL", "' OR 1=1 --"),
        ):
            yield Case(f"serial of {name}", not_found, params={endpoint.query: value})
    if endpoint.serials or endpoint.serial:
        # duplicate keys: the last one wins, as in Python
        raw = json.dumps({**endpoint.base, "devices": ["A"]})[:-1].encode() + b', "devices": "x"}'
        if endpoint.serials == "devices":
            yield Case("duplicate JSON keys", MALFORMED, raw)
    # Authentication comes before the body: no session, no look at it (spec §4.3).
    yield Case("bad body, no session", (401, "UNAUTHORIZED"), b"{not json", headers=dict(UA))
    yield Case(
        "bad body, unknown session", (403, "FORBIDDEN"), b"{", headers={**UA, "X-ADM-Auth-Session": "x"}
    )
    yield Case("bad body, no User-Agent", (400, "USER_AGENT_MISSING"), b"{", headers={"User-Agent": ""})


def success_cases_for(endpoint: Endpoint) -> Iterator[tuple[str, Any, dict[str, Any]]]:
    """Large and odd but valid serial lists: 200, every serial NOT_ACCESSIBLE, nothing written."""
    if endpoint.serials != "devices" or endpoint.base:
        return
    many = [f"UNKNOWN{i:06d}" for i in range(10_000)]
    odd = ["序列号", "😀", "é" * 64, "A\u0000B", "\u001f\u007f", " ", "' OR 1=1 --", "A" * 1000]
    for name, serials in (
        ("10,000 serials", many),
        ("duplicate serials", ["DUP1", "DUP1", "DUP1"]),
        ("odd", odd),
    ):
        if endpoint.path == "/devices":
            expected = {"devices": {s: {"response_status": "NOT_ACCESSIBLE"} for s in serials}}
        else:
            expected = {"devices": {s: "NOT_ACCESSIBLE" for s in serials}}
        yield name, {endpoint.serials: serials}, expected


def served(app: FastAPI) -> set[tuple[str, str]]:
    return {(m, r.path) for r in iter_route_contexts(app.router.routes) if r.path for m in (r.methods or ())}


async def send(
    client: httpx.AsyncClient, endpoint: Endpoint, token: str, case: Case | None, body: Any
) -> httpx.Response:
    headers = dict(case.headers) if case is not None and case.headers is not None else {**UA}
    if case is None or case.headers is None:
        headers["X-ADM-Auth-Session"] = token
    params = case.params if case is not None else None
    if isinstance(body, bytes):
        return await client.request(
            endpoint.method, endpoint.path, headers=headers, content=body, params=params
        )
    if body is None:
        return await client.request(endpoint.method, endpoint.path, headers=headers, params=params)
    return await client.request(endpoint.method, endpoint.path, headers=headers, json=body, params=params)


@pytest.mark.parametrize("endpoint", ENDPOINTS + LATER, ids=lambda e: e.id)
async def test_malformed_input_matrix(
    endpoint: Endpoint,
    app: FastAPI,
    client: httpx.AsyncClient,
    org: dict[str, Any],
    server: dict[str, Any],
    credentials: OAuthCredentials,
    pg: asyncpg.Connection,
) -> None:
    if (endpoint.method, endpoint.path) not in served(app):
        assert endpoint in LATER, f"{endpoint.id} is not served"
        pytest.skip(f"{endpoint.id} is not on this branch yet")
    serials = (await generate(client, org["id"], 5))["serials"]
    await assign(client, org["id"], server["server_uuid"], *serials[:3])
    token = await open_session(client, credentials)
    before = await snapshot(pg)

    wrong: list[str] = []
    for case in cases_for(endpoint):
        body = case.body if case.body is not None or case.name == "explicit null" else None
        response = await send(client, endpoint, token, case, body)
        if (response.status_code, response.text) != case.expect:
            wrong.append(
                f"{case.name}: got {response.status_code} {response.text[:80]!r}, want {case.expect}"
            )
        if await snapshot(pg) != before:
            wrong.append(f"{case.name}: the database changed")
            before = await snapshot(pg)
    for name, body, expected in success_cases_for(endpoint):
        response = await send(client, endpoint, token, None, body)
        if response.status_code != 200 or response.json() != expected:
            wrong.append(f"{name}: got {response.status_code} {response.text[:120]!r}")
        if await snapshot(pg) != before:
            wrong.append(f"{name}: the database changed")
    assert not wrong, "\n".join(wrong)
