"""PUT/POST and DELETE /profile/devices (spec §6.11, §6.12, §8.4)."""

from __future__ import annotations

from typing import Any

import asyncpg
import httpx
import pytest
from fastapi import FastAPI

from tests.conftest import snapshot
from tests.dep_helpers import assign, define, device_row, events, second_server
from tests.device_helpers import add_devices


@pytest.fixture
async def serials(client: httpx.AsyncClient, org: dict[str, Any], server: dict[str, Any]) -> list[str]:
    return await add_devices(client, org_id=org["id"], server_uuid=server["server_uuid"], count=3)


@pytest.mark.parametrize("method", ["PUT", "POST"])
async def test_assign_sets_fields_and_emits_modified(
    mdm: httpx.AsyncClient, pg: asyncpg.Connection, serials: list[str], method: str
) -> None:
    uuid = (await define(mdm))["profile_uuid"]
    response = await assign(mdm, uuid, [serials[0], "UNKNOWN1", serials[1], serials[0]], method)
    assert response.status_code == 200
    assert response.headers["content-type"] == "application/json;charset=UTF8"
    assert response.json() == {
        "profile_uuid": uuid,
        "devices": {serials[0]: "SUCCESS", "UNKNOWN1": "NOT_ACCESSIBLE", serials[1]: "SUCCESS"},
    }
    row = await device_row(pg, serials[0])
    assert (row["profile_uuid"], row["profile_status"]) == (uuid, "assigned")
    assert row["profile_assign_time"] is not None
    assert (await device_row(pg, serials[2]))["profile_status"] == "empty"
    log = await events(pg, serials[0])
    assert [e["op_type"] for e in log] == ["added", "modified"]
    assert log[1]["snapshot"]["profile_status"] == "assigned"


async def test_reassign_replaces_the_profile(
    mdm: httpx.AsyncClient, pg: asyncpg.Connection, serials: list[str]
) -> None:
    first = (await define(mdm))["profile_uuid"]
    second = (await define(mdm, profile_name="Second"))["profile_uuid"]
    await assign(mdm, first, serials[:1])
    response = await assign(mdm, second, serials[:1], "POST")
    assert response.json()["devices"] == {serials[0]: "SUCCESS"}
    assert (await device_row(pg, serials[0]))["profile_uuid"] == second
    assert [e["snapshot"].get("profile_uuid") for e in await events(pg, serials[0])] == [None, first, second]


async def test_foreign_serials_are_not_accessible(
    app: FastAPI,
    client: httpx.AsyncClient,
    mdm: httpx.AsyncClient,
    pg: asyncpg.Connection,
    org: dict[str, Any],
) -> None:
    unassigned = await add_devices(client, org_id=org["id"], server_uuid=None, count=1, seed=5)
    async with second_server(app, client, org["id"]) as (other_server, _):
        theirs = await add_devices(
            client, org_id=org["id"], server_uuid=other_server["server_uuid"], count=1, seed=6
        )
    foreign = [unassigned[0], theirs[0]]
    uuid = (await define(mdm))["profile_uuid"]
    response = await assign(mdm, uuid, foreign)
    assert response.json()["devices"] == dict.fromkeys(foreign, "NOT_ACCESSIBLE")
    assert (await device_row(pg, foreign[1]))["profile_uuid"] is None


ASSIGN_ERRORS = [
    pytest.param({"devices": ["A"]}, 400, "PROFILE_UUID_REQUIRED", id="uuid-missing"),
    pytest.param({"profile_uuid": "", "devices": ["A"]}, 400, "PROFILE_UUID_REQUIRED", id="uuid-empty"),
    pytest.param({}, 400, "PROFILE_UUID_REQUIRED", id="both-missing"),
    pytest.param({"profile_uuid": "X"}, 400, "DEVICE_ID_REQUIRED", id="devices-missing"),
    pytest.param({"profile_uuid": "X", "devices": []}, 400, "DEVICE_ID_REQUIRED", id="devices-empty"),
    pytest.param({"profile_uuid": "X", "devices": None}, 400, "DEVICE_ID_REQUIRED", id="devices-null"),
    pytest.param(
        {"profile_uuid": "0" * 32, "devices": ["A"]}, 404, "PROFILE_NOT_FOUND", id="unknown-profile"
    ),
    pytest.param({"profile_uuid": 5, "devices": ["A"]}, 400, "MALFORMED_REQUEST_BODY", id="uuid-not-string"),
    pytest.param({"profile_uuid": "X", "devices": "A"}, 400, "MALFORMED_REQUEST_BODY", id="devices-not-list"),
    pytest.param([], 400, "MALFORMED_REQUEST_BODY", id="not-an-object"),
]


@pytest.mark.parametrize("method", ["PUT", "POST"])
@pytest.mark.parametrize(("body", "status", "code"), ASSIGN_ERRORS)
async def test_assign_errors(
    mdm: httpx.AsyncClient, pg: asyncpg.Connection, method: str, body: Any, status: int, code: str
) -> None:
    await mdm.get("/account")
    before = await snapshot(pg)
    response = await mdm.request(method, "/profile/devices", json=body)
    assert (response.status_code, response.text) == (status, code)
    assert response.headers["content-type"].startswith("text/plain")
    assert await snapshot(pg) == before


async def test_assign_bad_json(mdm: httpx.AsyncClient) -> None:
    response = await mdm.put("/profile/devices", content=b"{")
    assert (response.status_code, response.text) == (400, "MALFORMED_REQUEST_BODY")


async def test_another_servers_profile_is_not_found(
    app: FastAPI, client: httpx.AsyncClient, mdm: httpx.AsyncClient, org: dict[str, Any], serials: list[str]
) -> None:
    async with second_server(app, client, org["id"]) as (_, other):
        foreign = (await define(other))["profile_uuid"]
    response = await assign(mdm, foreign, serials[:1])
    assert (response.status_code, response.text) == (404, "PROFILE_NOT_FOUND")


@pytest.mark.parametrize("settings_overrides", [{"assign_methods": "PUT"}])
async def test_strict_method(mdm: httpx.AsyncClient, serials: list[str]) -> None:
    uuid = (await define(mdm))["profile_uuid"]
    response = await assign(mdm, uuid, serials[:1], "POST")
    assert (response.status_code, response.content) == (405, b"")
    assert (await assign(mdm, uuid, serials[:1], "PUT")).status_code == 200


async def test_over_1000_devices_is_accepted_by_default(mdm: httpx.AsyncClient, serials: list[str]) -> None:
    uuid = (await define(mdm))["profile_uuid"]
    many = serials + [f"NOPE{i:06d}" for i in range(1000)]
    response = await assign(mdm, uuid, many)
    assert response.status_code == 200
    assert len(response.json()["devices"]) == 1003
    assert [response.json()["devices"][s] for s in serials] == ["SUCCESS"] * 3


@pytest.mark.parametrize("settings_overrides", [{"enforce_device_limit": True}])
async def test_over_1000_devices_in_strict_mode(mdm: httpx.AsyncClient, pg: asyncpg.Connection) -> None:
    uuid = (await define(mdm))["profile_uuid"]
    many = [f"NOPE{i:06d}" for i in range(1001)]
    for response in (
        await assign(mdm, uuid, many),
        await mdm.post("/profile", json={"profile_name": "p", "url": "https://x.example", "devices": many}),
        await mdm.request("DELETE", "/profile/devices", json={"devices": many}),
    ):
        assert (response.status_code, response.text) == (400, "DEVICE_LIMIT_EXCEEDED")
    assert (await assign(mdm, uuid, many[:1000])).status_code == 200


async def test_remove_keeps_the_old_uuid(
    mdm: httpx.AsyncClient, pg: asyncpg.Connection, serials: list[str]
) -> None:
    uuid = (await define(mdm))["profile_uuid"]
    await assign(mdm, uuid, serials[:2])
    response = await mdm.request(
        "DELETE", "/profile/devices", json={"devices": [serials[0], serials[2], "UNKNOWN1", serials[0]]}
    )
    assert response.status_code == 200
    assert response.headers["content-type"] == "application/json;charset=UTF8"
    assert response.json() == {
        "devices": {serials[0]: "SUCCESS", serials[2]: "SUCCESS", "UNKNOWN1": "NOT_ACCESSIBLE"}
    }
    row = await device_row(pg, serials[0])
    assert (row["profile_uuid"], row["profile_status"]) == (uuid, "removed")
    log = await events(pg, serials[0])
    assert [e["op_type"] for e in log] == ["added", "modified", "modified"]
    assert (log[-1]["snapshot"]["profile_status"], log[-1]["snapshot"]["profile_uuid"]) == ("removed", uuid)
    # A device that had no profile: SUCCESS, unchanged, no event.
    assert (await device_row(pg, serials[2]))["profile_status"] == "empty"
    assert [e["op_type"] for e in await events(pg, serials[2])] == ["added"]
    # The other assigned device is untouched.
    assert (await device_row(pg, serials[1]))["profile_status"] == "assigned"


async def test_remove_ignores_the_profile_uuid(
    mdm: httpx.AsyncClient, pg: asyncpg.Connection, serials: list[str]
) -> None:
    uuid = (await define(mdm))["profile_uuid"]
    await assign(mdm, uuid, serials[:1])
    response = await mdm.request(
        "DELETE", "/profile/devices", json={"devices": serials[:1], "profile_uuid": "Z"}
    )
    assert response.json() == {"devices": {serials[0]: "SUCCESS"}}
    assert (await device_row(pg, serials[0]))["profile_status"] == "removed"


@pytest.mark.parametrize(
    ("content", "code"),
    [
        (b"", "DEVICE_ID_REQUIRED"),
        (b"{}", "DEVICE_ID_REQUIRED"),
        (b'{"devices": []}', "DEVICE_ID_REQUIRED"),
        (b'{"devices": null, "profile_uuid": "X"}', "DEVICE_ID_REQUIRED"),
        (b"{", "MALFORMED_REQUEST_BODY"),
        (b'{"devices": "A"}', "MALFORMED_REQUEST_BODY"),
    ],
)
async def test_remove_errors(
    mdm: httpx.AsyncClient, pg: asyncpg.Connection, content: bytes, code: str
) -> None:
    await mdm.get("/account")
    before = await snapshot(pg)
    response = await mdm.request("DELETE", "/profile/devices", content=content)
    assert (response.status_code, response.text) == (400, code)
    assert await snapshot(pg) == before


async def test_account_lists_the_profile_endpoints(mdm: httpx.AsyncClient) -> None:
    urls = {u["uri"]: u["http_method"] for u in (await mdm.get("/account")).json()["urls"]}
    assert urls["/profile"] == ["GET", "POST"]
    assert urls["/profile/devices"] == ["DELETE", "POST", "PUT"]
