"""The token endpoint with assertions made by PyJWT (abm-api.md §1.2, §2.3 items 1–2)."""

from __future__ import annotations

import time
from typing import Any
from urllib.parse import urlencode

import httpx
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec

from tests.abm.conftest import ApiAccount, assert_error, create_api_account, make_assertion, token_params
from tests.conftest import snapshot

TOKEN = "/auth/oauth2/token"


def other_key_pem() -> str:
    key = ec.generate_private_key(ec.SECP256R1())
    return key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    ).decode()


async def test_api_account_shape(client: httpx.AsyncClient, org: dict[str, Any]) -> None:
    response = await client.post(f"/emulator/v1/orgs/{org['id']}/api-accounts", json={"scope": "school.api"})
    assert response.status_code == 201
    data = response.json()
    assert data["client_id"].startswith("SCHOOLAPI.") and len(data["client_id"]) == len("SCHOOLAPI.") + 36
    assert data["scope"] == "school.api" and data["org_id"] == org["id"]
    # Apple's portal form: PKCS#8 content under the EC PRIVATE KEY label (issue 29 item 12).
    pem = data["private_key_pem"]
    assert pem.startswith("-----BEGIN EC PRIVATE KEY-----\n") and pem.endswith(
        "-----END EC PRIVATE KEY-----\n"
    )
    pkcs8 = pem.replace("EC PRIVATE KEY-----", "PRIVATE KEY-----")
    key = serialization.load_pem_private_key(pkcs8.encode(), None)  # PKCS#8 content: loads once relabelled
    assert isinstance(key, ec.EllipticCurvePrivateKey)
    with pytest.raises(ValueError):  # and it is not SEC1 content, which that label normally holds
        serialization.load_pem_private_key(pem.encode(), None)
    listed = (await client.get(f"/emulator/v1/orgs/{org['id']}/api-accounts")).json()["api_accounts"]
    assert [a["client_id"] for a in listed] == [data["client_id"]]
    assert "private_key_pem" not in listed[0]  # returned once only


async def test_standard_key_label_on_request(client: httpx.AsyncClient, org: dict[str, Any]) -> None:
    url = f"/emulator/v1/orgs/{org['id']}/api-accounts"
    data = (await client.post(url, json={"private_key_format": "pkcs8"})).json()
    assert data["private_key_pem"].startswith("-----BEGIN PRIVATE KEY-----\n")
    account = ApiAccount(data["client_id"], data["key_id"], data["private_key_pem"], data["scope"])
    assert (await client.post(TOKEN, data=token_params(account))).status_code == 200
    assert (await client.post(url, json={"private_key_format": "der"})).status_code == 422


@pytest.mark.parametrize("label", ["apple", "pkcs8", "sec1"])
async def test_a_private_key_file_is_read_for_its_public_key(
    client: httpx.AsyncClient, org: dict[str, Any], label: str
) -> None:
    """Wherever the emulator reads a key, Apple's file and the standard ones are all accepted."""
    key = ec.generate_private_key(ec.SECP256R1())
    pkcs8 = key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    ).decode()
    given = {
        "apple": pkcs8.replace("PRIVATE KEY-----", "EC PRIVATE KEY-----"),
        "pkcs8": pkcs8,
        "sec1": key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.TraditionalOpenSSL,
            serialization.NoEncryption(),
        ).decode(),
    }[label]
    account = await create_api_account(client, org["id"], public_key_pem=given)
    assert account.private_key_pem == ""  # the caller keeps its key; none is generated
    own = ApiAccount(account.client_id, account.key_id, pkcs8, account.scope)
    response = await client.post(TOKEN, data=token_params(own))
    assert response.status_code == 200, response.text


async def test_own_public_key(client: httpx.AsyncClient, org: dict[str, Any]) -> None:
    private_pem = other_key_pem()
    private_key = serialization.load_pem_private_key(private_pem.encode(), None)
    public_pem = (
        private_key.public_key()
        .public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
        .decode()
    )
    account = await create_api_account(client, org["id"], public_key_pem=public_pem)
    assert account.client_id.startswith("BUSINESSAPI.") and account.private_key_pem == ""
    own = ApiAccount(account.client_id, account.key_id, private_pem, account.scope)
    response = await client.post(TOKEN, data=token_params(own))
    assert response.status_code == 200, response.text


async def test_api_account_rejects_non_p256_key(client: httpx.AsyncClient, org: dict[str, Any]) -> None:
    key = ec.generate_private_key(ec.SECP384R1()).public_key()
    pem = key.public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    ).decode()
    response = await client.post(f"/emulator/v1/orgs/{org['id']}/api-accounts", json={"public_key_pem": pem})
    assert response.status_code == 422
    assert response.json()["error"]["code"] == "invalid_public_key"


async def test_token_from_form_body(client: httpx.AsyncClient, api_account: ApiAccount) -> None:
    """pyaxm and nanoaxm: a form body; pyaxm also sends Host: account.apple.com."""
    response = await client.post(TOKEN, data=token_params(api_account), headers={"Host": "account.apple.com"})
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["token_type"] == "Bearer" and body["expires_in"] == 3600 and body["scope"] == "business.api"
    assert set(body) == {"access_token", "token_type", "expires_in", "scope"}
    assert response.headers["cache-control"] == "no-store"


async def test_token_from_query_string_without_body_or_content_type(
    client: httpx.AsyncClient, api_account: ApiAccount
) -> None:
    """Apple's curl example and applebusiness: every parameter in the query string, empty body."""
    response = await client.post("/auth/oauth2/v2/token", params=token_params(api_account))
    assert response.status_code == 200, response.text
    assert "content-type" not in response.request.headers


async def test_token_ignores_content_type(client: httpx.AsyncClient, api_account: ApiAccount) -> None:
    response = await client.post(
        TOKEN, content=urlencode(token_params(api_account)), headers={"Content-Type": "application/json"}
    )
    assert response.status_code == 200, response.text


async def test_bearer_token_lasts_one_hour_on_the_emulator_clock(
    client: httpx.AsyncClient, api_account: ApiAccount
) -> None:
    token = (await client.post(TOKEN, data=token_params(api_account))).json()["access_token"]
    headers = {"Authorization": f"Bearer {token}"}
    assert (await client.get("/v1/mdmServers", headers=headers)).status_code == 200
    # The emulator clock runs on with wall time between these requests: a margin of 10 s on each
    # side of the hour keeps a loaded machine from deciding the test.
    await client.post("/emulator/v1/clock", json={"advance_seconds": 3590})
    assert (await client.get("/v1/mdmServers", headers=headers)).status_code == 200
    await client.post("/emulator/v1/clock", json={"advance_seconds": 20})
    assert_error(await client.get("/v1/mdmServers", headers=headers), 401, "NOT_AUTHORIZED")


def _bad_cases() -> list[Any]:
    now = int(time.time())
    return [
        pytest.param({"kid": "00000000-0000-0000-0000-000000000000"}, {}, "invalid_client", id="wrong-kid"),
        pytest.param({"sub": "BUSINESSAPI.someone-else"}, {}, "invalid_client", id="wrong-sub"),
        pytest.param({"aud": "http://dep.test/auth/oauth2/token"}, {}, "invalid_client", id="wrong-aud"),
        pytest.param({"aud": None}, {}, "invalid_client", id="no-aud"),
        pytest.param({"iat": now - 600, "exp": now - 10}, {}, "invalid_client", id="expired"),
        pytest.param(
            {"iat": now, "exp": now + 180 * 86400 + 1}, {}, "invalid_client", id="longer-than-180-days"
        ),
        pytest.param({"exp": None}, {}, "invalid_client", id="no-exp"),
        pytest.param({"key": other_key_pem()}, {}, "invalid_client", id="bad-signature"),
        pytest.param(
            {"key": "not-an-ec-key-but-an-hmac-secret-long-enough-32b", "algorithm": "HS256"},
            {},
            "invalid_client",
            id="hs256",
        ),
        pytest.param({}, {"grant_type": "authorization_code"}, "unsupported_grant_type", id="wrong-grant"),
        pytest.param({}, {"grant_type": ""}, "invalid_request", id="no-grant"),
        pytest.param({}, {"client_assertion_type": "urn:other"}, "invalid_client", id="wrong-assertion-type"),
        pytest.param({}, {"client_id": "BUSINESSAPI.unknown"}, "invalid_client", id="unknown-client"),
        pytest.param({}, {"client_assertion": "not.a.jwt"}, "invalid_client", id="garbage-assertion"),
        pytest.param({}, {"client_assertion": "x" * 9000}, "invalid_client", id="huge-assertion"),
        pytest.param({}, {"scope": "school.api"}, "invalid_scope", id="wrong-scope"),
        # Required (Apple's OAuth page; issue 29 item 8): no more defaulting to the client's scope.
        pytest.param({}, {"scope": ""}, "invalid_request", id="no-scope"),
    ]


@pytest.mark.parametrize(("claims", "params", "error"), _bad_cases())
async def test_token_errors(
    client: httpx.AsyncClient,
    api_account: ApiAccount,
    pg: Any,
    claims: dict[str, Any],
    params: dict[str, str],
    error: str,
) -> None:
    """OAuth 2 error bodies with 400, as Apple answers (developer forums 818652); no token stored."""
    before = await snapshot(pg)
    assertion = make_assertion(api_account, **claims)
    response = await client.post(TOKEN, data=token_params(api_account, assertion, **params))
    assert response.status_code == 400, response.text
    body = response.json()
    assert body["error"] == error and body["error_description"]
    assert set(body) == {"error", "error_description"}
    assert await snapshot(pg) == before


async def test_token_endpoint_wrong_method(client: httpx.AsyncClient) -> None:
    response = await client.get(TOKEN)
    assert response.status_code == 405
    assert response.json()["error"] == "invalid_request"


@pytest.mark.parametrize(
    "authorization",
    [None, "Bearer", "Bearer nope", "Basic dXNlcjpwYXNz", "Bearer " + "x" * 500],
)
async def test_v1_without_valid_bearer_is_401(client: httpx.AsyncClient, authorization: str | None) -> None:
    headers = {"Authorization": authorization} if authorization else {}
    response = await client.get("/v1/orgDevices", headers=headers)
    assert_error(response, 401, "NOT_AUTHORIZED")
    assert response.headers["www-authenticate"].startswith("Bearer")


async def test_v1_needs_no_user_agent(abm: httpx.AsyncClient) -> None:
    """The DEP User-Agent rule does not apply to the Business Manager API."""
    response = await abm.get("/v1/mdmServers", headers={"User-Agent": ""})
    assert response.status_code == 200


async def test_terms_withdrawn_is_403(
    client: httpx.AsyncClient, abm: httpx.AsyncClient, org: dict[str, Any]
) -> None:
    await client.put(f"/emulator/v1/orgs/{org['id']}/terms", json={"accepted": False})
    error = assert_error(await abm.get("/v1/orgDevices"), 403, "FORBIDDEN_ERROR")
    assert error["title"] == "This request is forbidden for security reasons"
