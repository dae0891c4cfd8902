"""Fixtures for the Business Manager API: an API account, assertions made by PyJWT, a bearer client.

Activities complete immediately here (`abm_activity_delay_seconds = 0`) unless a test module
overrides `settings_overrides`.
"""

from __future__ import annotations

import time
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any

import httpx
import jwt
import pytest
from fastapi import FastAPI

from tests.conftest import BASE_URL

AUDIENCE = "https://account.apple.com/auth/oauth2/v2/token"
ASSERTION_TYPE = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"


@pytest.fixture
def settings_overrides() -> dict[str, Any]:
    return {"abm_activity_delay_seconds": 0}


@dataclass(frozen=True)
class ApiAccount:
    client_id: str
    key_id: str
    private_key_pem: str
    scope: str


def make_assertion(account: ApiAccount, **overrides: Any) -> str:
    """A client assertion as Apple's sample and the PyPI clients make it (abm-api.md §1.2)."""
    now = int(time.time())
    claims: dict[str, Any] = {
        "sub": account.client_id,
        "iss": account.client_id,
        "aud": AUDIENCE,
        "iat": now,
        "exp": now + 300,
        "jti": str(uuid.uuid4()),
    }
    key = overrides.pop("key", account.private_key_pem)
    headers = {"kid": overrides.pop("kid", account.key_id)}
    algorithm = overrides.pop("algorithm", "ES256")
    claims.update(overrides)
    claims = {k: v for k, v in claims.items() if v is not None}
    return jwt.encode(claims, key, algorithm=algorithm, headers=headers)


def token_params(account: ApiAccount, assertion: str | None = None, **overrides: str) -> dict[str, str]:
    params = {
        "grant_type": "client_credentials",
        "client_id": account.client_id,
        "client_assertion_type": ASSERTION_TYPE,
        "client_assertion": assertion or make_assertion(account),
        "scope": account.scope,
    }
    params.update(overrides)
    return params


async def create_api_account(client: httpx.AsyncClient, org_id: str, **body: Any) -> ApiAccount:
    response = await client.post(f"/emulator/v1/orgs/{org_id}/api-accounts", json=body)
    assert response.status_code == 201, response.text
    data = response.json()
    # Apple's key file is PKCS#8 under the `EC PRIVATE KEY` label, which PyJWT refuses: relabel it,
    # as Python clients of the real service must (issue 29 item 12).
    private_pem = data.get("private_key_pem", "").replace("EC PRIVATE KEY-----", "PRIVATE KEY-----")
    return ApiAccount(data["client_id"], data["key_id"], private_pem, data["scope"])


async def get_token(client: httpx.AsyncClient, account: ApiAccount) -> str:
    response = await client.post("/auth/oauth2/token", data=token_params(account))
    assert response.status_code == 200, response.text
    token: str = response.json()["access_token"]
    return token


def bearer_client(app: FastAPI, token: str) -> httpx.AsyncClient:
    return httpx.AsyncClient(
        transport=httpx.ASGITransport(app=app),
        base_url=BASE_URL,
        headers={"Authorization": f"Bearer {token}"},
    )


@pytest.fixture
async def api_account(client: httpx.AsyncClient, org: dict[str, Any]) -> ApiAccount:
    return await create_api_account(client, org["id"])


@pytest.fixture
async def abm(
    app: FastAPI, client: httpx.AsyncClient, api_account: ApiAccount
) -> AsyncIterator[httpx.AsyncClient]:
    """A client of `/v1` with a bearer token of `api_account` (the org of the `org` fixture)."""
    async with bearer_client(app, await get_token(client, api_account)) as c:
        yield c


def assert_error(response: httpx.Response, status: int, code: str) -> dict[str, Any]:
    """A JSON:API error document with the four required members (abm-api.md §1.7)."""
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith("application/json")
    errors = response.json()["errors"]
    assert len(errors) == 1
    error: dict[str, Any] = errors[0]
    assert error["status"] == str(status)
    assert error["code"] == code
    assert error["title"] and error["detail"]
    return error
