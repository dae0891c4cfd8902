"""A DEP client for tests that behaves like the real ones (nanodep's transport, in httpx).

`/session` is signed by `oauthlib` (the library under requests-oauthlib), the session token
is sent as `X-ADM-Auth-Session`, a rotated token from a response header is adopted, and a
401 or a 403 `FORBIDDEN` triggers one re-authentication and retry.
"""

from __future__ import annotations

from collections.abc import AsyncGenerator, Generator
from dataclasses import dataclass
from typing import Any

import httpx
from oauthlib import oauth1

SESSION_HEADER = "X-ADM-Auth-Session"


@dataclass(frozen=True, slots=True)
class OAuthCredentials:
    consumer_key: str
    consumer_secret: str
    access_token: str
    access_secret: str
    access_token_expiry: str = ""

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> OAuthCredentials:
        return cls(**{k: data[k] for k in cls.__slots__ if k in data})


def sign_session_request(
    credentials: OAuthCredentials,
    url: str,
    *,
    realm: str | None = None,
    nonce: str | None = None,
    timestamp: str | None = None,
) -> str:
    """The `Authorization` header oauthlib produces for `GET url`."""
    client = oauth1.Client(
        credentials.consumer_key,
        client_secret=credentials.consumer_secret,
        resource_owner_key=credentials.access_token,
        resource_owner_secret=credentials.access_secret,
        signature_method=oauth1.SIGNATURE_HMAC_SHA1,
        realm=realm,
        nonce=nonce,
        timestamp=timestamp,
    )
    _, headers, _ = client.sign(url, http_method="GET")
    return str(headers["Authorization"])


class DepAuth(httpx.Auth):
    """httpx auth flow: get a session when needed, adopt rotations, re-auth once on 401/403 FORBIDDEN."""

    requires_response_body = True

    def __init__(self, credentials: OAuthCredentials, *, user_agent: str = "dep-emulator-tests/1") -> None:
        self.credentials = credentials
        self.user_agent = user_agent
        self.auth_session: str | None = None

    def _session_request(self, request: httpx.Request) -> httpx.Request:
        url = str(request.url.copy_with(path="/session", query=None))
        return httpx.Request(
            "GET",
            url,
            headers={
                "Authorization": sign_session_request(self.credentials, url),
                "User-Agent": self.user_agent,
                "Content-Type": "application/json;charset=UTF8",
            },
        )

    def auth_flow(self, request: httpx.Request) -> Generator[httpx.Request, httpx.Response, None]:
        raise RuntimeError("DepAuth is async-only")  # pragma: no cover

    async def async_auth_flow(self, request: httpx.Request) -> AsyncGenerator[httpx.Request, httpx.Response]:
        for attempt in range(2):
            if self.auth_session is None:
                session_response = yield self._session_request(request)
                await session_response.aread()
                if session_response.status_code != 200:
                    raise httpx.HTTPStatusError(
                        f"/session failed: {session_response.status_code} {session_response.text}",
                        request=session_response.request,
                        response=session_response,
                    )
                self.auth_session = session_response.json()["auth_session_token"]
            request.headers[SESSION_HEADER] = self.auth_session or ""
            response = yield request
            await response.aread()
            rotated = response.headers.get(SESSION_HEADER)
            if rotated:
                self.auth_session = rotated
            retry = response.status_code == 401 or (
                response.status_code == 403 and "FORBIDDEN" in response.text
            )
            if not retry or attempt == 1:
                return
            self.auth_session = None


def dep_client(
    credentials: OAuthCredentials,
    *,
    base_url: str,
    transport: httpx.AsyncBaseTransport | None = None,
    protocol_version: int = 10,
    user_agent: str = "dep-emulator-tests/1",
) -> httpx.AsyncClient:
    """An AsyncClient that talks to the DEP surface like an MDM server."""
    return httpx.AsyncClient(
        base_url=base_url,
        transport=transport,
        auth=DepAuth(credentials, user_agent=user_agent),
        headers={
            "User-Agent": user_agent,
            "X-Server-Protocol-Version": str(protocol_version),
            "Content-Type": "application/json;charset=UTF8",
        },
    )
