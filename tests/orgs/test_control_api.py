"""Control API: orgs, MDM servers, certificates, token downloads, terms, and who may call it."""

from __future__ import annotations

from typing import Any

import asyncpg
import httpx
import pytest
from fastapi import FastAPI

from tests.conftest import BASE_URL, create_server, make_certificate, snapshot


class TestOrgs:
    async def test_create_and_read(self, client: httpx.AsyncClient) -> None:
        response = await client.post(
            "/emulator/v1/orgs",
            json={"name": "Acme Corp", "email": "it@acme.test", "phone": "+1 555 0199", "address": "1 Road"},
        )
        assert response.status_code == 201
        org = response.json()
        assert org["id"].isdigit() and len(org["id"]) == 7
        assert len(org["org_id_hash"]) == 64 and org["org_id_hash"] == org["org_id_hash"].lower()
        assert (org["org_type"], org["org_version"], org["terms_accepted"]) == ("org", "v2", True)
        assert (await client.get(f"/emulator/v1/orgs/{org['id']}")).json() == org
        assert (await client.get("/emulator/v1/orgs")).json()["orgs"] == [org]

    @pytest.mark.parametrize(
        "body",
        [
            {},
            {"name": ""},
            {"name": "x", "org_type": "tvprovider"},
            {"name": "x", "surprise": 1},
            {"name": 5},
        ],
    )
    async def test_invalid_org_is_422(
        self, client: httpx.AsyncClient, pg: asyncpg.Connection, body: Any
    ) -> None:
        before = await snapshot(pg)
        response = await client.post("/emulator/v1/orgs", json=body)
        assert response.status_code == 422
        assert response.json()["error"]["code"] == "validation_error"
        assert await snapshot(pg) == before

    async def test_non_json_body_is_422(self, client: httpx.AsyncClient) -> None:
        response = await client.post(
            "/emulator/v1/orgs", content=b"{nope", headers={"Content-Type": "application/json"}
        )
        assert response.status_code == 422
        assert response.json()["error"]["code"] == "validation_error"

    @pytest.mark.parametrize("org_id", ["999", "abc", "1" * 40])
    async def test_unknown_org_is_404(
        self, client: httpx.AsyncClient, pg: asyncpg.Connection, org_id: str
    ) -> None:
        response = await client.get(f"/emulator/v1/orgs/{org_id}")
        assert response.status_code == 404
        assert response.json()["error"]["code"] == "not_found"


class TestServers:
    async def test_create_list_get(self, client: httpx.AsyncClient, org: dict[str, Any]) -> None:
        server = await create_server(client, org["id"], server_name="Fleet")
        assert len(server["server_uuid"]) == 32 and server["server_uuid"] == server["server_uuid"].upper()
        assert server["consumer_key"].startswith("CK_") and len(server["consumer_key"]) == 99
        assert (server["has_certificate"], server["token_issued"]) == (False, False)
        listed = (await client.get(f"/emulator/v1/orgs/{org['id']}/mdm-servers")).json()["mdm_servers"]
        assert listed == [server]
        assert (await client.get(f"/emulator/v1/mdm-servers/{server['server_uuid']}")).json() == server

    async def test_names_are_unique_per_org(
        self, client: httpx.AsyncClient, pg: asyncpg.Connection, org: dict[str, Any]
    ) -> None:
        await create_server(client, org["id"], server_name="Fleet")
        before = await snapshot(pg)
        response = await client.post(
            f"/emulator/v1/orgs/{org['id']}/mdm-servers", json={"server_name": "Fleet"}
        )
        assert response.status_code == 409
        assert response.json()["error"]["code"] == "duplicate_server_name"
        assert await snapshot(pg) == before
        other_org = (await client.post("/emulator/v1/orgs", json={"name": "Other"})).json()
        await create_server(client, other_org["id"], server_name="Fleet")

    async def test_invalid_certificate_is_400(
        self, client: httpx.AsyncClient, pg: asyncpg.Connection, org: dict[str, Any]
    ) -> None:
        before = await snapshot(pg)
        response = await client.post(
            f"/emulator/v1/orgs/{org['id']}/mdm-servers",
            json={"server_name": "Bad", "certificate_pem": "-----BEGIN CERTIFICATE-----\nnope\n"},
        )
        assert response.status_code == 400
        assert response.json()["error"]["code"] == "invalid_certificate"
        assert await snapshot(pg) == before

    async def test_upload_certificate_as_pem_or_json(
        self, client: httpx.AsyncClient, server: dict[str, Any], certificate: tuple[bytes, bytes]
    ) -> None:
        url = f"/emulator/v1/mdm-servers/{server['server_uuid']}/certificate"
        response = await client.put(
            url, content=certificate[0], headers={"Content-Type": "application/x-pem-file"}
        )
        assert response.status_code == 200 and response.json()["has_certificate"] is True
        response = await client.put(url, json={"certificate_pem": make_certificate()[0].decode()})
        assert response.status_code == 200
        response = await client.put(url, json={"certificate": "x"})
        assert response.status_code == 422
        response = await client.put(url, content=b"garbage")
        assert response.status_code == 400

    async def test_unknown_server_is_404(self, client: httpx.AsyncClient, pg: asyncpg.Connection) -> None:
        for method, path in [
            ("GET", "/emulator/v1/mdm-servers/00000000000000000000000000000000"),
            ("POST", "/emulator/v1/mdm-servers/00000000000000000000000000000000/token"),
            ("GET", "/emulator/v1/mdm-servers/00000000000000000000000000000000/oauth-credentials"),
        ]:
            response = await client.request(method, path)
            assert response.status_code == 404, path
            assert response.json()["error"]["code"] == "not_found"


class TestTokens:
    async def test_token_needs_a_certificate(
        self, client: httpx.AsyncClient, pg: asyncpg.Connection, server: dict[str, Any]
    ) -> None:
        before = await snapshot(pg)
        response = await client.post(f"/emulator/v1/mdm-servers/{server['server_uuid']}/token")
        assert response.status_code == 409
        assert response.json()["error"]["code"] == "certificate_required"
        assert "certificate" in response.json()["error"]["message"]
        assert await snapshot(pg) == before

    async def test_token_file_headers(
        self, client: httpx.AsyncClient, org: dict[str, Any], certificate: tuple[bytes, bytes]
    ) -> None:
        server = await create_server(
            client, org["id"], server_name="mdmserver1", certificate_pem=certificate[0].decode()
        )
        response = await client.post(f"/emulator/v1/mdm-servers/{server['server_uuid']}/token")
        assert response.status_code == 200
        assert response.headers["content-type"] == "application/pkcs7-mime"
        disposition = response.headers["content-disposition"]
        assert disposition.startswith('attachment; filename="mdmserver1_Token_')
        assert disposition.endswith('Z_smime.p7m"')
        assert response.content.startswith(b"Content-Type: application/pkcs7-mime;")
        credentials = (
            await client.get(f"/emulator/v1/mdm-servers/{server['server_uuid']}/oauth-credentials")
        ).json()
        assert list(credentials) == [
            "consumer_key",
            "consumer_secret",
            "access_token",
            "access_secret",
            "access_token_expiry",
        ]
        assert credentials["consumer_key"] == server["consumer_key"]

    async def test_no_credentials_before_any_token(
        self, client: httpx.AsyncClient, server: dict[str, Any]
    ) -> None:
        response = await client.get(f"/emulator/v1/mdm-servers/{server['server_uuid']}/oauth-credentials")
        assert response.status_code == 404
        assert response.json()["error"]["code"] == "no_token"


class TestAccessControl:
    @pytest.mark.parametrize("settings_overrides", [{"admin_token": "s3cr3t-admin-token"}])
    async def test_bearer_token_required_when_configured(self, client: httpx.AsyncClient) -> None:
        assert (await client.get("/emulator/v1/orgs")).status_code == 401
        wrong = await client.get("/emulator/v1/orgs", headers={"Authorization": "Bearer nope"})
        assert (wrong.status_code, wrong.json()["error"]["code"]) == (401, "unauthorized")
        right = await client.get("/emulator/v1/orgs", headers={"Authorization": "Bearer s3cr3t-admin-token"})
        assert right.status_code == 200
        # Apple's surfaces do not use the admin token.
        assert (await client.get("/healthz")).status_code == 200

    async def test_only_loopback_without_a_token(self, app: FastAPI) -> None:
        remote = httpx.ASGITransport(app=app, client=("203.0.113.9", 4444))
        async with httpx.AsyncClient(transport=remote, base_url=BASE_URL) as c:
            response = await c.get("/emulator/v1/orgs")
        assert (response.status_code, response.json()["error"]["code"]) == (403, "forbidden")
        local = httpx.ASGITransport(app=app, client=("::1", 4444))
        async with httpx.AsyncClient(transport=local, base_url=BASE_URL) as c:
            assert (await c.get("/emulator/v1/orgs")).status_code == 200

    @pytest.mark.parametrize("token", ["changeme", "secret"])
    def test_placeholder_tokens_are_refused(self, token: str, database_url: str) -> None:
        from dep_emulator.core.config import Settings
        from pydantic import ValidationError

        with pytest.raises(ValidationError, match="placeholder"):
            Settings(database_url=database_url, admin_token=token)
