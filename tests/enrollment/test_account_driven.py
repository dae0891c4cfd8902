"""/account-driven-enrollment/profile GET, POST, DELETE (spec §6.13; scenario 19)."""

from __future__ import annotations

from typing import Any

import asyncpg
import httpx
import pytest
from fastapi import FastAPI

from tests.conftest import snapshot
from tests.dep_helpers import second_server

PATH = "/account-driven-enrollment/profile"
URL = "https://mdm.example.org/.well-known/com.apple.remotemanagement"


async def test_set_read_delete(
    app: FastAPI, client: httpx.AsyncClient, mdm: httpx.AsyncClient, org: dict[str, Any]
) -> None:
    response = await mdm.get(PATH)
    assert (response.status_code, response.text) == (404, "NOT_FOUND")
    response = await mdm.post(PATH, json={"mdm_service_discovery_url": URL})
    assert response.status_code == 200
    assert response.headers["content-type"] == "application/json;charset=UTF8"
    stored = response.json()
    assert stored["mdm_service_discovery_url"] == URL
    assert stored["last_updated_timestamp"].endswith("Z")
    assert (await mdm.get(PATH)).json() == stored
    # Per MDM server: another server of the org has none.
    async with second_server(app, client, org["id"]) as (_, other):
        assert (await other.get(PATH)).status_code == 404
    # Replacing it moves the timestamp with the clock.
    await client.post("/emulator/v1/clock", json={"advance_seconds": 3600})
    replaced = (await mdm.post(PATH, json={"mdm_service_discovery_url": URL + "?v=2"})).json()
    assert replaced["last_updated_timestamp"] > stored["last_updated_timestamp"]
    assert (await mdm.get(PATH)).json() == replaced
    response = await mdm.delete(PATH)
    assert (response.status_code, response.json()) == (200, {})
    assert (await mdm.get(PATH)).status_code == 404
    assert (await mdm.delete(PATH)).json() == {}


@pytest.mark.parametrize(
    ("body", "code"),
    [
        ({}, "MDM_SERVICE_DISCOVERY_URL_REQUIRED"),
        ({"mdm_service_discovery_url": ""}, "MDM_SERVICE_DISCOVERY_URL_REQUIRED"),
        ({"mdm_service_discovery_url": None}, "MDM_SERVICE_DISCOVERY_URL_REQUIRED"),
        ({"mdm_service_discovery_url": "http://mdm.example.org/x"}, "MDM_SERVICE_DISCOVERY_URL_NOT_VALID"),
        ({"mdm_service_discovery_url": "mdm.example.org/x"}, "MDM_SERVICE_DISCOVERY_URL_NOT_VALID"),
        ({"mdm_service_discovery_url": "https://"}, "MDM_SERVICE_DISCOVERY_URL_NOT_VALID"),
        ({"mdm_service_discovery_url": "https://mdm example.org"}, "MDM_SERVICE_DISCOVERY_URL_NOT_VALID"),
        ({"mdm_service_discovery_url": 42}, "MDM_SERVICE_DISCOVERY_URL_NOT_VALID"),
        (
            {"mdm_service_discovery_url": "https://x.example/" + "a" * 2000},
            "MDM_SERVICE_DISCOVERY_URL_NOT_VALID",
        ),
        ([], "MALFORMED_REQUEST_BODY"),
    ],
)
async def test_post_errors(mdm: httpx.AsyncClient, pg: asyncpg.Connection, body: Any, code: str) -> None:
    await mdm.get("/account")
    before = await snapshot(pg)
    response = await mdm.post(PATH, json=body)
    assert (response.status_code, response.text) == (400, code)
    assert await snapshot(pg) == before


async def test_post_bad_json(mdm: httpx.AsyncClient) -> None:
    for content in (b"{", b""):
        response = await mdm.post(PATH, content=content)
        assert (response.status_code, response.text) == (400, "MALFORMED_REQUEST_BODY")


async def test_org_not_supported(
    client: httpx.AsyncClient, mdm: httpx.AsyncClient, org: dict[str, Any]
) -> None:
    await mdm.post(PATH, json={"mdm_service_discovery_url": URL})
    await client.patch(
        f"/emulator/v1/orgs/{org['id']}/settings", json={"account_driven_enrollment_supported": False}
    )
    for method, kwargs in (
        ("GET", {}),
        ("POST", {"json": {"mdm_service_discovery_url": URL}}),
        ("DELETE", {}),
    ):
        response = await mdm.request(method, PATH, **kwargs)
        assert (response.status_code, response.text) == (400, "ORG_NOT_SUPPORTED"), method


async def test_account_lists_the_endpoints(mdm: httpx.AsyncClient) -> None:
    urls = {u["uri"]: u["http_method"] for u in (await mdm.get("/account")).json()["urls"]}
    assert urls[PATH] == ["DELETE", "GET", "POST"]
    assert urls["/os-beta-enrollment/tokens"] == ["GET"]
    assert urls["/device/activationlock"] == ["POST"]
