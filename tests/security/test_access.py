"""Who gets in (issue 8 §5): the control API's token and loopback rule, session token strength.

The token-required and loopback-only basics are in tests/orgs/test_control_api.py; here:
the comparison is constant-time, the loopback rule holds behind the proxy `serve` trusts
(X-Forwarded-For cannot be spoofed into "loopback"), and session tokens carry ≥ 128 random
bits and are never stored as such.
"""

from __future__ import annotations

import hmac
import re
from typing import Any

import asyncpg
import httpx
import pytest
from dep_emulator.core import security
from dep_emulator.testing.dep_client import OAuthCredentials, sign_session_request
from dep_emulator.testing.replicas import Replica

from tests.conftest import BASE_URL

ADMIN = "k7Qw-a-real-looking-admin-token-9f3b"


@pytest.mark.parametrize("settings_overrides", [{"admin_token": ADMIN}])
async def test_admin_token_is_compared_in_constant_time(
    client: httpx.AsyncClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    compared: list[tuple[bytes, bytes]] = []
    original = hmac.compare_digest

    def spy(a: Any, b: Any) -> bool:
        compared.append((a, b))
        return original(a, b)

    monkeypatch.setattr(security.hmac, "compare_digest", spy)
    for presented, expected in ((ADMIN[:-1] + "x", 401), (ADMIN, 200), ("", 401)):
        response = await client.get("/emulator/v1/orgs", headers={"Authorization": f"Bearer {presented}"})
        assert response.status_code == expected
    assert compared == [(p.encode(), ADMIN.encode()) for p in (ADMIN[:-1] + "x", ADMIN, "")]


@pytest.mark.parametrize(
    ("forwarded_for", "status"),
    [
        (None, 200),  # a loopback client
        ("203.0.113.9", 403),  # a remote client behind the local proxy
        ("127.0.0.1, 203.0.113.9", 403),  # a remote client claiming to be loopback
        ("127.0.0.1", 200),  # the proxy says the client is loopback
    ],
)
def test_loopback_rule_behind_the_trusted_proxy(
    pair: list[Replica], forwarded_for: str | None, status: int
) -> None:
    headers = {"X-Forwarded-For": forwarded_for} if forwarded_for else {}
    response = httpx.get(f"{pair[0].url}/emulator/v1/clock", headers=headers, timeout=10)
    assert response.status_code == status
    if status == 403:
        assert response.json()["error"]["code"] == "forbidden"


async def test_session_tokens_have_at_least_128_random_bits_and_are_stored_hashed(
    client: httpx.AsyncClient, credentials: OAuthCredentials, pg: asyncpg.Connection
) -> None:
    tokens = []
    for _ in range(20):
        header = sign_session_request(credentials, f"{BASE_URL}/session")
        response = await client.get("/session", headers={"Authorization": header, "User-Agent": "t/1"})
        tokens.append(response.json()["auth_session_token"])
    assert len(set(tokens)) == 20
    for token in tokens:
        match = re.fullmatch(r"(\d+)O1O([0-9A-F]+)", token)  # Apple's shape: <ms>O1O<random>
        assert match and len(match.group(2)) * 4 >= 128, token
    stored = {r["token_hash"] for r in await pg.fetch("SELECT token_hash FROM auth_session")}
    assert stored == {security.hash_secret(t) for t in tokens}
    assert not stored & set(tokens)
