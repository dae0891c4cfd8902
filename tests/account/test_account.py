"""GET /account (spec §6.1) with fields gated by X-Server-Protocol-Version (§2, §13)."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

V1_FIELDS = {
    "server_name",
    "server_uuid",
    "admin_id",
    "facilitator_id",
    "org_name",
    "org_email",
    "org_phone",
    "org_address",
}
V3_FIELDS = V1_FIELDS | {"org_id", "org_id_hash", "org_type", "org_version", "urls"}


@pytest.mark.parametrize(
    ("sent", "expected_fields"),
    [
        (None, V1_FIELDS),
        ("abc", V1_FIELDS),
        ("1", V1_FIELDS),
        ("2", V1_FIELDS),
        ("3", V3_FIELDS),
        ("10", V3_FIELDS),
        ("99", V3_FIELDS),
    ],
)
async def test_fields_by_protocol_version(
    mdm: httpx.AsyncClient,
    org: dict[str, Any],
    server: dict[str, Any],
    sent: str | None,
    expected_fields: set[str],
) -> None:
    del mdm.headers["X-Server-Protocol-Version"]
    if sent is not None:
        mdm.headers["X-Server-Protocol-Version"] = sent
    response = await mdm.get("/account")
    assert response.status_code == 200
    assert response.headers["content-type"] == "application/json;charset=UTF8"
    body = response.json()
    assert set(body) == expected_fields
    assert body["server_uuid"] == server["server_uuid"]
    assert body["server_name"] == "Test MDM"
    assert body["org_name"] == org["name"]
    assert body["admin_id"] == body["facilitator_id"] == org["email"]
    if "org_id" in body:
        assert body["org_id"] == org["id"]
        assert body["org_id_hash"] == org["org_id_hash"]
        assert body["org_type"] == "org"
        assert body["org_version"] == "v2"


async def test_urls_list_the_endpoints_served(mdm: httpx.AsyncClient) -> None:
    urls = {u["uri"]: u for u in (await mdm.get("/account")).json()["urls"]}
    assert urls["/session"] == {"uri": "/session", "http_method": ["GET"]}
    assert urls["/account"] == {"uri": "/account", "http_method": ["GET"]}
    for entry in urls.values():
        assert set(entry) <= {"uri", "http_method", "limit"}
        assert entry["uri"].startswith("/") and not entry["uri"].startswith("/emulator")
        assert entry["http_method"] and all(
            m in {"GET", "POST", "PUT", "DELETE"} for m in entry["http_method"]
        )
    for paged in {"/server/devices", "/devices/sync"} & urls.keys():
        assert urls[paged]["limit"] == {"default": 100, "maximum": 1000}


async def test_edu_org_and_custom_admin(client: httpx.AsyncClient, app: Any) -> None:
    from dep_emulator.testing.dep_client import OAuthCredentials, dep_client

    from tests.conftest import BASE_URL, create_org, create_server, issue_credentials

    org = await create_org(client, name="Springfield Schools", org_type="edu", email="it@school.example")
    server = await create_server(client, org["id"], server_name="Jamf", admin_id="lisa@school.example")
    credentials: OAuthCredentials = await issue_credentials(client, server["server_uuid"])
    async with dep_client(credentials, base_url=BASE_URL, transport=httpx.ASGITransport(app=app)) as mdm:
        body = (await mdm.get("/account")).json()
    assert body["org_type"] == "edu"
    assert body["admin_id"] == "lisa@school.example"
    assert body["org_email"] == "it@school.example"
