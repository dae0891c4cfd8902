"""OAuth 2 client credentials with an ES256 client assertion (abm-api.md §1.2), and bearer tokens.

The assertion is checked exactly as Apple documents it: `alg` ES256, `kid` the registered key
id, a signature by that key, `sub` the client id, `aud` Apple's fixed v2 token URL (never the
emulator's own URL: every client hard-codes it), and `exp` later than now but at most 180 days
after `iat`. Assertion times come from the client's clock, so they are checked against wall
time; bearer tokens live one hour on the emulator clock and are stored only as hashes.
"""

from __future__ import annotations

import base64
import binascii
import json
import secrets
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.asymmetric.utils import encode_dss_signature
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from ..clock import service as clock
from ..core.errors import OAuth2Error
from ..core.security import hash_secret
from ..orgs.models import Org
from . import accounts
from .models import AccessToken, ApiAccount

AUDIENCE = "https://account.apple.com/auth/oauth2/v2/token"
GRANT_TYPE = "client_credentials"
ASSERTION_TYPE = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"
MAX_ASSERTION_LIFETIME = timedelta(days=180)
TOKEN_LIFETIME = timedelta(hours=1)
MAX_ASSERTION_LENGTH = 8192


@dataclass(frozen=True, slots=True)
class IssuedToken:
    access_token: str
    expires_in: int
    scope: str


def _b64url(part: str) -> bytes:
    return base64.urlsafe_b64decode(part + "=" * (-len(part) % 4))


def _invalid_client(description: str) -> OAuth2Error:
    return OAuth2Error("invalid_client", description)


def _decode_json(part: str, what: str) -> dict[str, Any]:
    try:
        value = json.loads(_b64url(part))
    except (binascii.Error, ValueError) as exc:
        raise _invalid_client(f"the client assertion's {what} is not base64url JSON") from exc
    if not isinstance(value, dict):
        raise _invalid_client(f"the client assertion's {what} is not a JSON object")
    return value


def _verify_signature(account: ApiAccount, signing_input: bytes, signature_part: str) -> None:
    """ES256 (RFC 7518 §3.4): the signature is R || S, 32 bytes each, not DER."""
    try:
        raw = _b64url(signature_part)
    except (binascii.Error, ValueError) as exc:
        raise _invalid_client("the client assertion's signature is not base64url") from exc
    if len(raw) != 64:
        raise _invalid_client("the client assertion's signature is not an ES256 signature")
    der = encode_dss_signature(int.from_bytes(raw[:32], "big"), int.from_bytes(raw[32:], "big"))
    key = serialization.load_pem_public_key(account.public_key_pem.encode())
    assert isinstance(key, ec.EllipticCurvePublicKey)
    try:
        key.verify(der, signing_input, ec.ECDSA(hashes.SHA256()))
    except InvalidSignature as exc:
        raise _invalid_client(
            "the client assertion's signature does not verify with the key of its kid"
        ) from exc


def _check_claims(claims: dict[str, Any], client_id: str) -> None:
    if claims.get("sub") != client_id:
        raise _invalid_client("the client assertion's sub is not the client_id")
    aud = claims.get("aud")
    if not (aud == AUDIENCE or (isinstance(aud, list) and AUDIENCE in aud)):
        raise _invalid_client(f"the client assertion's aud must be {AUDIENCE}")
    iat, exp = claims.get("iat"), claims.get("exp")
    if any(isinstance(v, bool) or not isinstance(v, int | float) for v in (iat, exp)):
        raise _invalid_client("the client assertion needs numeric iat and exp claims")
    assert isinstance(iat, int | float) and isinstance(exp, int | float)
    now = clock.wall_now().timestamp()
    if exp <= now:
        raise _invalid_client("the client assertion has expired")
    if exp - iat > MAX_ASSERTION_LIFETIME.total_seconds():
        raise _invalid_client("the client assertion's exp is more than 180 days after its iat")


async def verify_assertion(db: AsyncSession, *, client_id: str, assertion: str) -> ApiAccount:
    account = await accounts.account_by_client_id(db, client_id=client_id)
    if account is None:
        raise _invalid_client("unknown client_id")
    parts = assertion.split(".")
    if len(assertion) > MAX_ASSERTION_LENGTH or len(parts) != 3:
        raise _invalid_client("the client assertion is not a signed JWT")
    header = _decode_json(parts[0], "header")
    if header.get("alg") != "ES256":
        raise _invalid_client("the client assertion must be signed with ES256")
    if header.get("kid") != account.key_id:
        raise _invalid_client("the client assertion's kid is not this client's key id")
    _verify_signature(account, f"{parts[0]}.{parts[1]}".encode("ascii", errors="replace"), parts[2])
    _check_claims(_decode_json(parts[1], "payload"), client_id)
    return account


async def issue_token(db: AsyncSession, *, params: dict[str, str]) -> IssuedToken:
    """`POST /auth/oauth2/token`: the parameters merged from the query string and the form body."""
    grant_type = params.get("grant_type")
    if not grant_type:
        raise OAuth2Error("invalid_request", "grant_type is required")
    if grant_type != GRANT_TYPE:
        raise OAuth2Error("unsupported_grant_type", f"grant_type must be {GRANT_TYPE}")
    for name in ("client_id", "client_assertion_type", "client_assertion"):
        if not params.get(name):
            raise OAuth2Error("invalid_request", f"{name} is required")
    if params["client_assertion_type"] != ASSERTION_TYPE:
        raise _invalid_client(f"client_assertion_type must be {ASSERTION_TYPE}")
    account = await verify_assertion(db, client_id=params["client_id"], assertion=params["client_assertion"])
    requested = params.get("scope")
    if not requested:  # required, as Apple's OAuth page lists it (abm-api.md §1.2; issue 29 item 8)
        raise OAuth2Error("invalid_request", "scope is required (business.api or school.api)")
    if set(requested.split()) != {account.scope}:
        raise OAuth2Error("invalid_scope", f"this client's scope is {account.scope}")
    token = secrets.token_urlsafe(48)
    now = await clock.now(db)
    db.add(
        AccessToken(
            token_hash=hash_secret(token),
            account_id=account.id,
            scope=account.scope,
            issued_at=now,
            expires_at=now + TOKEN_LIFETIME,
        )
    )
    await db.flush()
    return IssuedToken(
        access_token=token, expires_in=int(TOKEN_LIFETIME.total_seconds()), scope=account.scope
    )


@dataclass(frozen=True, slots=True)
class Caller:
    """Who is calling `/v1`: the API account and its org."""

    account: ApiAccount
    org: Org


async def resolve_bearer(db: AsyncSession, *, token: str) -> Caller | None:
    """The caller behind a bearer token, or None when it is unknown or expired (emulator clock)."""
    if not token or len(token) > 200:
        return None
    row = await db.execute(
        select(ApiAccount, Org)
        .join(AccessToken, AccessToken.account_id == ApiAccount.id)
        .join(Org, Org.id == ApiAccount.org_id)
        .where(AccessToken.token_hash == hash_secret(token), AccessToken.expires_at > await clock.now(db))
    )
    found = row.first()
    return Caller(account=found[0], org=found[1]) if found is not None else None
