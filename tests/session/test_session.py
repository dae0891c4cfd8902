"""GET /session: OAuth 1.0a verification and every failure of spec §4.4–§4.7."""

from __future__ import annotations

import time
from typing import Any

import asyncpg
import httpx
import pytest
from dep_emulator.testing.dep_client import OAuthCredentials, sign_session_request

from tests.conftest import BASE_URL, issue_credentials, snapshot

SESSION_URL = f"{BASE_URL}/session"


async def get_session(client: httpx.AsyncClient, authorization: str | None, **headers: str) -> httpx.Response:
    sent = {"User-Agent": "nanodep-g-o-dep/0", **headers}
    if authorization is not None:
        sent["Authorization"] = authorization
    return await client.get("/session", headers=sent)


async def assert_refused(
    client: httpx.AsyncClient, pg: asyncpg.Connection, authorization: str | None, status: int, body: str
) -> None:
    before = await snapshot(pg)
    response = await get_session(client, authorization)
    assert (response.status_code, response.text) == (status, body)
    assert response.headers["content-type"].startswith("text/plain")
    assert "x-adm-auth-session" not in response.headers
    assert await snapshot(pg) == before


class TestSuccess:
    @pytest.mark.parametrize("realm", [None, "ADM"])
    async def test_signed_request_gets_a_session(
        self, client: httpx.AsyncClient, credentials: OAuthCredentials, realm: str | None
    ) -> None:
        response = await get_session(client, sign_session_request(credentials, SESSION_URL, realm=realm))
        assert response.status_code == 200
        assert response.headers["content-type"] == "application/json;charset=UTF8"
        token = response.json()["auth_session_token"]
        assert list(response.json()) == ["auth_session_token"]
        assert len(token) >= 64
        assert response.headers["x-adm-auth-session"] == token

    async def test_session_token_is_stored_only_as_a_hash(
        self, client: httpx.AsyncClient, credentials: OAuthCredentials, pg: asyncpg.Connection
    ) -> None:
        response = await get_session(client, sign_session_request(credentials, SESSION_URL))
        token = response.json()["auth_session_token"]
        rows = await pg.fetch("SELECT * FROM auth_session")
        assert len(rows) == 1
        assert token not in repr([dict(r) for r in rows])

    async def test_any_parameter_order_and_spacing(
        self, client: httpx.AsyncClient, credentials: OAuthCredentials
    ) -> None:
        header = sign_session_request(credentials, SESSION_URL, realm="ADM")
        params = [p.strip() for p in header.removeprefix("OAuth ").split(",")]
        reordered = "OAuth " + ",".join(reversed(params))  # no space after commas, reversed
        response = await get_session(client, reordered)
        assert response.status_code == 200, response.text

    async def test_no_user_agent_is_tolerated_on_session(
        self, client: httpx.AsyncClient, credentials: OAuthCredentials
    ) -> None:
        response = await client.get(
            "/session",
            headers={"Authorization": sign_session_request(credentials, SESSION_URL), "User-Agent": ""},
        )
        assert response.status_code == 200

    @pytest.mark.parametrize("settings_overrides", [{"public_base_url": "https://dep.example.org/"}])
    async def test_signature_checked_against_public_base_url(
        self, client: httpx.AsyncClient, credentials: OAuthCredentials, pg: asyncpg.Connection
    ) -> None:
        # Behind a proxy the client signed the public URL, not the one we were reached at.
        good = sign_session_request(credentials, "https://dep.example.org/session")
        assert (await get_session(client, good)).status_code == 200
        await assert_refused(
            client, pg, sign_session_request(credentials, SESSION_URL), 401, "oauth_problem=signature_invalid"
        )


class TestBadRequests:
    @pytest.mark.parametrize(
        ("header", "body"),
        [
            (None, "oauth_problem=parameter_absent"),
            ("Basic dXNlcjpwYXNz", "oauth_problem=parameter_absent"),
            ("OAuth garbage", "oauth_problem=parameter_rejected"),
        ],
    )
    async def test_unusable_header(
        self,
        client: httpx.AsyncClient,
        pg: asyncpg.Connection,
        credentials: Any,
        header: str | None,
        body: str,
    ) -> None:
        await assert_refused(client, pg, header, 400, body)

    async def test_missing_parameter(
        self, client: httpx.AsyncClient, pg: asyncpg.Connection, credentials: OAuthCredentials
    ) -> None:
        header = sign_session_request(credentials, SESSION_URL)
        without_nonce = ",".join(p for p in header.split(",") if "oauth_nonce" not in p)
        await assert_refused(client, pg, without_nonce, 400, "oauth_problem=parameter_absent")

    async def test_duplicated_parameter(
        self, client: httpx.AsyncClient, pg: asyncpg.Connection, credentials: OAuthCredentials
    ) -> None:
        header = sign_session_request(credentials, SESSION_URL) + ', oauth_nonce="again"'
        await assert_refused(client, pg, header, 400, "oauth_problem=parameter_rejected")

    async def test_unsupported_parameter(
        self, client: httpx.AsyncClient, pg: asyncpg.Connection, credentials: OAuthCredentials
    ) -> None:
        header = sign_session_request(credentials, SESSION_URL) + ', oauth_callback="oob"'
        await assert_refused(client, pg, header, 400, "oauth_problem=parameter_rejected")

    async def test_unsupported_signature_method(
        self, client: httpx.AsyncClient, pg: asyncpg.Connection, credentials: OAuthCredentials
    ) -> None:
        header = sign_session_request(credentials, SESSION_URL).replace("HMAC-SHA1", "PLAINTEXT")
        await assert_refused(client, pg, header, 400, "oauth_problem=signature_method_rejected")


class TestUnauthorized:
    async def test_unknown_consumer_key(
        self, client: httpx.AsyncClient, pg: asyncpg.Connection, credentials: OAuthCredentials
    ) -> None:
        stranger = OAuthCredentials(
            "CK_" + "0" * 96, "CS_x", credentials.access_token, credentials.access_secret
        )
        await assert_refused(
            client, pg, sign_session_request(stranger, SESSION_URL), 401, "oauth_problem=consumer_key_unknown"
        )

    async def test_unknown_access_token(
        self, client: httpx.AsyncClient, pg: asyncpg.Connection, credentials: OAuthCredentials
    ) -> None:
        forged = OAuthCredentials(credentials.consumer_key, credentials.consumer_secret, "AT_O1O2O3", "AS_x")
        await assert_refused(
            client, pg, sign_session_request(forged, SESSION_URL), 401, "oauth_problem=token_rejected"
        )

    async def test_bad_signature(
        self, client: httpx.AsyncClient, pg: asyncpg.Connection, credentials: OAuthCredentials
    ) -> None:
        wrong_secret = OAuthCredentials(
            credentials.consumer_key, credentials.consumer_secret, credentials.access_token, "AS_wrong"
        )
        await assert_refused(
            client,
            pg,
            sign_session_request(wrong_secret, SESSION_URL),
            401,
            "oauth_problem=signature_invalid",
        )

    async def test_signature_for_another_url(
        self, client: httpx.AsyncClient, pg: asyncpg.Connection, credentials: OAuthCredentials
    ) -> None:
        header = sign_session_request(credentials, "https://mdmenrollment.apple.com/session")
        await assert_refused(client, pg, header, 401, "oauth_problem=signature_invalid")

    async def test_reused_nonce(
        self, client: httpx.AsyncClient, pg: asyncpg.Connection, credentials: OAuthCredentials
    ) -> None:
        first = sign_session_request(credentials, SESSION_URL, nonce="n0nce1234567890")
        assert (await get_session(client, first)).status_code == 200
        await assert_refused(client, pg, first, 401, "oauth_problem=nonce_used")

    async def test_failed_attempt_does_not_burn_the_nonce(
        self, client: httpx.AsyncClient, credentials: OAuthCredentials
    ) -> None:
        stale = str(int(time.time()) - 3600)
        refused = await get_session(
            client, sign_session_request(credentials, SESSION_URL, nonce="abc", timestamp=stale)
        )
        assert refused.status_code == 401
        accepted = await get_session(client, sign_session_request(credentials, SESSION_URL, nonce="abc"))
        assert accepted.status_code == 200

    @pytest.mark.parametrize("skew", [-3600, 3600])
    async def test_stale_or_future_timestamp(
        self, client: httpx.AsyncClient, pg: asyncpg.Connection, credentials: OAuthCredentials, skew: int
    ) -> None:
        header = sign_session_request(credentials, SESSION_URL, timestamp=str(int(time.time()) + skew))
        await assert_refused(client, pg, header, 401, "oauth_problem=timestamp_refused")

    async def test_superseded_token(
        self,
        client: httpx.AsyncClient,
        pg: asyncpg.Connection,
        credentials: OAuthCredentials,
        server: dict[str, Any],
    ) -> None:
        newer = await issue_credentials(client, server["server_uuid"])
        assert newer.consumer_key == credentials.consumer_key
        assert newer.access_token != credentials.access_token
        await assert_refused(
            client, pg, sign_session_request(credentials, SESSION_URL), 401, "oauth_problem=token_rejected"
        )
        assert (await get_session(client, sign_session_request(newer, SESSION_URL))).status_code == 200

    @pytest.mark.parametrize(
        "settings_overrides", [{"superseded_token_status": 403, "oauth_error_style": "bare"}]
    )
    async def test_superseded_token_as_403_bare(
        self,
        client: httpx.AsyncClient,
        pg: asyncpg.Connection,
        credentials: OAuthCredentials,
        server: dict[str, Any],
    ) -> None:
        await issue_credentials(client, server["server_uuid"])
        await assert_refused(
            client, pg, sign_session_request(credentials, SESSION_URL), 403, "token_rejected"
        )

    async def test_expired_token(
        self, client: httpx.AsyncClient, pg: asyncpg.Connection, credentials: OAuthCredentials
    ) -> None:
        assert (await get_session(client, sign_session_request(credentials, SESSION_URL))).status_code == 200
        await client.post("/emulator/v1/clock", json={"advance_seconds": 366 * 86400})
        await assert_refused(
            client, pg, sign_session_request(credentials, SESSION_URL), 401, "oauth_problem=token_expired"
        )

    @pytest.mark.parametrize("settings_overrides", [{"oauth_verify_signature": False}])
    async def test_signature_verification_can_be_switched_off(
        self, client: httpx.AsyncClient, credentials: OAuthCredentials
    ) -> None:
        wrong_secret = OAuthCredentials(
            credentials.consumer_key, credentials.consumer_secret, credentials.access_token, "AS_wrong"
        )
        assert (await get_session(client, sign_session_request(wrong_secret, SESSION_URL))).status_code == 200


class TestTerms:
    async def test_terms_not_accepted(
        self,
        client: httpx.AsyncClient,
        pg: asyncpg.Connection,
        credentials: OAuthCredentials,
        org: dict[str, Any],
    ) -> None:
        response = await client.put(f"/emulator/v1/orgs/{org['id']}/terms", json={"accepted": False})
        assert response.json()["terms_accepted"] is False
        await assert_refused(
            client, pg, sign_session_request(credentials, SESSION_URL), 403, "T_C_NOT_SIGNED"
        )
        await client.put(f"/emulator/v1/orgs/{org['id']}/terms", json={"accepted": True})
        assert (await get_session(client, sign_session_request(credentials, SESSION_URL))).status_code == 200
