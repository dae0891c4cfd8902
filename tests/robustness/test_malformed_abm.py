"""Malformed input on the Business Manager API (/v1, abm-api.md §1.7): the JSON:API error with
the right status and code, and nothing written (issue 8 §1). Rows: (method, path, kind, input,
expected status, expected `errors[0].code`)."""

from __future__ import annotations

import json
from typing import Any

import asyncpg
import httpx
import pytest

from tests.abm.conftest import create_api_account, get_token
from tests.conftest import snapshot
from tests.devices.helpers import generate

MAX_BODY = 1_000_000
UNPARSABLE = (400, "ENTITY_UNPARSABLE")
UNPROCESSABLE = (422, "ENTITY_UNPROCESSABLE")
PARAM = (400, "PARAMETER_ERROR.INVALID")
NOT_FOUND = (404, "NOT_FOUND")


@pytest.fixture
def settings_overrides() -> dict[str, Any]:
    return {"max_body_bytes": MAX_BODY, "abm_activity_delay_seconds": 0}


def activity(devices: Any, **attributes: Any) -> dict[str, Any]:
    return {
        "data": {
            "type": "orgDeviceActivities",
            "attributes": {"activityType": "UNASSIGN_DEVICES", **attributes},
            "relationships": {"devices": {"data": devices}},
        }
    }


def server_body(**attributes: Any) -> dict[str, Any]:
    return {"data": {"type": "mdmServers", "attributes": attributes}}


WRITES = [
    ("POST", "/v1/mdmServers"),
    ("PATCH", "/v1/mdmServers/{server}"),
    ("POST", "/v1/orgDeviceActivities"),
]
BAD_BODIES: list[tuple[str, Any, tuple[int, str]]] = [
    ("not JSON", b"{not json", UNPARSABLE),
    ("not UTF-8", b"\xff\xfe{", UNPARSABLE),
    ("nested 100k deep", b"[" * 100_000 + b"]" * 100_000, UNPARSABLE),
    ("empty body", b"", UNPARSABLE),
    ("top-level array", [], UNPROCESSABLE),
    ("top-level string", "x", UNPROCESSABLE),
    ("null", None, UNPROCESSABLE),
    ("empty object", {}, UNPROCESSABLE),
    ("data as a list", {"data": []}, UNPROCESSABLE),
    ("wrong type", {"data": {"type": "orgDevices", "attributes": {}}}, UNPROCESSABLE),
    ("unicode type", {"data": {"type": "序列😀\u0000", "attributes": {}}}, UNPROCESSABLE),
]
ACTIVITY_BODIES: list[tuple[str, Any, tuple[int, str]]] = [
    ("no devices", activity([]), UNPROCESSABLE),
    ("devices not a list", activity("SERIAL"), UNPROCESSABLE),
    ("device ids not strings", activity([{"type": "orgDevices", "id": 5}]), UNPROCESSABLE),
    (
        "unknown activity type",
        activity([{"type": "orgDevices", "id": "A"}], activityType="WIPE"),
        UNPROCESSABLE,
    ),
    (
        "assign without a server",
        activity([{"type": "orgDevices", "id": "A"}], activityType="ASSIGN_DEVICES"),
        UNPROCESSABLE,
    ),
]
SERVER_BODIES: list[tuple[str, Any, tuple[int, str]]] = [
    ("name a number", server_body(serverName=5), UNPROCESSABLE),
    ("disown flag a string", server_body(serverName="x", enableMdmDisownFlag="yes"), UNPROCESSABLE),
]
QUERIES: list[tuple[str, dict[str, str], tuple[int, str]]] = [
    ("limit not a number", {"limit": "ten"}, PARAM),
    ("limit negative", {"limit": "-1"}, PARAM),
    ("limit huge", {"limit": str(2**70)}, PARAM),
    ("cursor of 1,000 characters", {"cursor": "A" * 1000}, PARAM),
    ("unicode cursor", {"cursor": "序列😀"}, PARAM),
    ("unknown fields", {"fields[orgDevices]": "serialNumber,nope"}, PARAM),
]


async def test_malformed_business_api_input(
    client: httpx.AsyncClient, org: dict[str, Any], server: dict[str, Any], pg: asyncpg.Connection
) -> None:
    serials = (await generate(client, org["id"], 3))["serials"]
    account = await create_api_account(client, org["id"])
    bearer = {"Authorization": f"Bearer {await get_token(client, account)}"}
    servers = (await client.get("/v1/mdmServers", headers=bearer)).json()["data"]
    path_ids = {"{server}": servers[0]["id"] if servers else "NONE"}
    before = await snapshot(pg)
    wrong: list[str] = []

    async def check(name: str, response: httpx.Response, expected: tuple[int, str]) -> None:
        nonlocal before
        got: tuple[int, str] = (response.status_code, "")
        if response.headers.get("content-type", "").startswith("application/json"):
            errors = response.json().get("errors") or [{}]
            got = (response.status_code, errors[0].get("code", ""))
            if errors[0].get("status") != str(response.status_code):
                wrong.append(f"{name}: errors[0].status is {errors[0].get('status')!r}")
        else:
            got = (response.status_code, response.text)
        if got != expected:
            wrong.append(f"{name}: got {got}, want {expected}: {response.text[:100]!r}")
        if await snapshot(pg) != before:
            wrong.append(f"{name}: the database changed")
            before = await snapshot(pg)

    for method, template in WRITES:
        path = template.format(**{"server": path_ids["{server}"]}) if "{" in template else template
        path = path.replace("{server}", path_ids["{server}"])
        specific = ACTIVITY_BODIES if "Activities" in path else SERVER_BODIES
        for name, body, expected in [
            *BAD_BODIES,
            *specific,
            (
                "over the size limit",
                b'{"data": "' + b"A" * MAX_BODY + b'"}',
                (413, "REQUEST_ENTITY_TOO_LARGE"),
            ),
        ]:
            content = body if isinstance(body, bytes) else json.dumps(body).encode()
            response = await client.request(method, path, content=content, headers=bearer)
            await check(f"{method} {template} {name}", response, expected)

    many = [{"type": "orgDevices", "id": f"UNKNOWN{i:05d}"} for i in range(10_000)]
    assign_many = activity(many, activityType="ASSIGN_DEVICES")
    assign_many["data"]["relationships"]["mdmServer"] = {
        "data": {"type": "mdmServers", "id": path_ids["{server}"]}
    }
    response = await client.post("/v1/orgDeviceActivities", json=assign_many, headers=bearer)
    await check("10,000 unknown devices", response, (409, "ENTITY_ERROR.RELATIONSHIP.INVALID"))

    for path in (
        "/v1/orgDevices",
        "/v1/mdmServers",
        f"/v1/mdmServers/{path_ids['{server}']}/relationships/devices",
    ):
        for name, params, expected in QUERIES:
            if "fields" in name and "orgDevices" not in path:
                continue
            await check(f"GET {path} {name}", await client.get(path, params=params, headers=bearer), expected)
    for name, serial in (("1,000 characters", "A" * 1000), ("unicode", "序列😀"), ("control", "A%01B%00")):
        response = await client.get(f"/v1/orgDevices/{serial}", headers=bearer)
        await check(f"GET /v1/orgDevices/{{serial}} {name}", response, NOT_FOUND)
        response = await client.get(f"/v1/orgDeviceActivities/{serial}", headers=bearer)
        await check(f"GET /v1/orgDeviceActivities/{{id}} {name}", response, NOT_FOUND)
    response = await client.post("/v1/mdmServers", content=b"{not json")
    await check("bad body, no token", response, (401, "NOT_AUTHORIZED"))
    assert serials
    assert not wrong, "\n".join(wrong)
