"""Apple's authentication: OAuth-signed `GET /session` → session token → every other call (spec §4)."""

from __future__ import annotations

import secrets
import time
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import asyncpg
from sqlalchemy import Float, bindparam, delete, literal_column, select, text
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

from ..clock import service as clock
from ..core import driver
from ..core.config import OAuthErrorStyle, Settings
from ..core.errors import DepError
from ..core.security import hash_secret
from ..core.signing_key import KEY_SCALAR_SQL
from ..orgs.models import MdmServer, Org
from ..tokens.models import OAuthToken
from . import oauth1
from .models import AuthSession, OAuthNonce


def oauth_problem(settings: Settings, status_code: int, problem: str) -> DepError:
    """An OAuth-level failure, written the way `DEPEMU_OAUTH_ERROR_STYLE` says (spec §4.4)."""
    body = f"oauth_problem={problem}" if settings.oauth_error_style is OAuthErrorStyle.PROBLEM else problem
    return DepError(body, status_code=status_code, raw_body=True)


def new_session_token() -> str:
    """Opaque, upper-case hex with a leading millisecond stamp, like Apple's (256 random bits)."""
    return f"{int(time.time() * 1000)}O1O{secrets.token_hex(32).upper()}"


async def open_session(
    db: AsyncSession, *, settings: Settings, authorization: str | None, base_url: str
) -> str:
    """Verify the OAuth 1.0a request and return a new session token (spec §4.1–§4.7).

    The checks run in the order a server has to: parse, identify the consumer, identify the
    token, verify the signature with that token's secret, then freshness (timestamp, nonce),
    then the token's standing (superseded, expired) and the org's terms.
    """
    try:
        oauth = oauth1.parse_authorization(authorization)
    except oauth1.OAuthHeaderError as exc:
        raise oauth_problem(settings, 400, exc.problem) from exc

    server = await db.scalar(select(MdmServer).where(MdmServer.consumer_key == oauth.consumer_key))
    if server is None:
        raise oauth_problem(settings, 401, "consumer_key_unknown")
    token = await db.scalar(
        select(OAuthToken).where(OAuthToken.server_id == server.id, OAuthToken.access_token == oauth.token)
    )
    if token is None:
        raise oauth_problem(settings, 401, "token_rejected")
    if settings.oauth_verify_signature and not oauth1.signature_matches(
        oauth,
        method="GET",
        base_url=base_url,
        consumer_secret=server.consumer_secret,
        token_secret=token.access_secret,
    ):
        raise oauth_problem(settings, 401, "signature_invalid")

    await _check_freshness(db, settings=settings, oauth=oauth)

    now = await clock.now(db)
    if token.superseded_at is not None:
        raise oauth_problem(settings, settings.superseded_token_status, "token_rejected")
    if now >= token.expires_at:
        raise oauth_problem(settings, 401, "token_expired")
    org = await db.get(Org, server.org_id)
    if org is None or not org.terms_accepted:
        raise DepError("T_C_NOT_SIGNED", status_code=403)

    return await _store_new_session(db, settings=settings, server_id=server.id, now=now)


async def _store_new_session(db: AsyncSession, *, settings: Settings, server_id: int, now: datetime) -> str:
    """A new session token for the server; only its hash is stored."""
    token = new_session_token()
    db.add(
        AuthSession(
            token_hash=hash_secret(token),
            server_id=server_id,
            created_at=now,
            expires_at=now + timedelta(seconds=settings.session_ttl_seconds),
        )
    )
    await db.flush()
    return token


async def _check_freshness(db: AsyncSession, *, settings: Settings, oauth: oauth1.OAuthParams) -> None:
    """Timestamp window and nonce replay, both against the client's real clock.

    OAuth timestamps come from the client's wall clock, so they are compared with real time,
    not with the emulator's (possibly advanced) clock.
    """
    wall = clock.wall_now()
    window = settings.oauth_timestamp_window_seconds
    if abs(wall.timestamp() - oauth.timestamp) > window:
        raise oauth_problem(settings, 401, "timestamp_refused")
    await db.execute(
        delete(OAuthNonce).where(
            OAuthNonce.consumer_key == oauth.consumer_key,
            OAuthNonce.seen_at < wall - timedelta(seconds=2 * window),
        )
    )
    inserted = await db.scalar(
        insert(OAuthNonce)
        .values(
            consumer_key=oauth.consumer_key, nonce=oauth.nonce[:200], timestamp=oauth.timestamp, seen_at=wall
        )
        .on_conflict_do_nothing()
        .returning(OAuthNonce.nonce)
    )
    if inserted is None:
        raise oauth_problem(settings, 401, "nonce_used")


@dataclass(frozen=True, slots=True)
class ResolvedSession:
    server: MdmServer
    token: str  # the value for this response's X-ADM-Auth-Session header


@dataclass(frozen=True, slots=True)
class FeedCaller:
    """The MDM server behind a fetch or sync request, with what its page needs (one statement)."""

    server_id: int
    server_uuid: str
    token: str  # the value for this response's X-ADM-Auth-Session header
    now: datetime  # the emulator's clock
    cursor_key: bytes | None  # None until the first cursor is issued
    values: Mapping[str, Any]  # the session's row: FEED_SESSION_NAMES, server_id, server_uuid


# Every DEP call runs this: one round trip reads the session, its server and the clock (read per
# request, not cached: an admin moves it). Built once, not per call.
_SESSION_LOOKUP = (
    select(AuthSession, MdmServer, literal_column(clock.OFFSET_SCALAR_SQL, Float))
    .outerjoin(MdmServer, MdmServer.id == AuthSession.server_id)
    .where(AuthSession.token_hash == bindparam("token_hash"))
)
# What a feed page or /account needs of its session besides the server, over `a` (auth_session),
# `s` (mdm_server) and `o` (org): also read by
# the traffic middleware's own lookup of the session (dep_emulator.traffic.service), which hands it on in
# the request state (PREFETCHED_SESSION), so a feed request reads its session once.
_FEED_SESSION_VALUES = (
    ("created_at", "a.created_at"),
    ("expires_at", "a.expires_at"),
    ("replaced_at", "a.replaced_at"),
    ("offset_seconds", clock.OFFSET_SCALAR_SQL),
    ("cursor_key", KEY_SCALAR_SQL),
    # GET /account's answer (dep_emulator.account.service), so it needs no statement of its own.
    ("server_name", "s.server_name"),
    ("admin_id", "s.admin_id"),
    ("org_id", "o.id"),
    ("org_name", "o.name"),
    ("org_email", "o.email"),
    ("org_phone", "o.phone"),
    ("org_address", "o.address"),
    ("org_id_hash", "o.org_id_hash"),
    ("org_type", "o.org_type"),
    ("org_version", "o.org_version"),
)
FEED_SESSION_NAMES = tuple(name for name, _ in _FEED_SESSION_VALUES)
FEED_SESSION_COLUMNS = ", ".join(f"{expression} AS {name}" for name, expression in _FEED_SESSION_VALUES)
PREFETCHED_SESSION = "prefetched_session"
# The feed's own lookup, on the hot pool (dep_emulator.core.driver), when nothing was handed on.
_FEED_SESSION_LOOKUP = text(f"""
    SELECT {FEED_SESSION_COLUMNS}, s.id AS server_id, s.server_uuid
    FROM auth_session a LEFT JOIN mdm_server s ON s.id = a.server_id LEFT JOIN org o ON o.id = s.org_id
    WHERE a.token_hash = :token_hash""")
# Replace a session by a new one, unless a concurrent request did first (then no row comes back).
_ROTATE = text("""
    WITH claimed AS (
        UPDATE auth_session SET replaced_at = :now
        WHERE token_hash = :old_hash AND replaced_at IS NULL
        RETURNING server_id
    )
    INSERT INTO auth_session (token_hash, server_id, created_at, expires_at)
    SELECT :new_hash, server_id, :now, :expires_at FROM claimed
    RETURNING server_id""")


def _rotation_due(
    *,
    created_at: datetime,
    expires_at: datetime,
    replaced_at: datetime | None,
    now: datetime,
    settings: Settings,
) -> bool:
    """401 UNAUTHORIZED for an expired session (or a replaced one past its grace period);
    otherwise whether it is old enough to be replaced by a new token (spec §4.3)."""
    grace = timedelta(seconds=settings.session_rotation_grace_seconds)
    if now >= expires_at or (replaced_at is not None and now >= replaced_at + grace):
        raise DepError("UNAUTHORIZED", status_code=401)
    return replaced_at is None and now - created_at >= timedelta(seconds=settings.session_rotation_seconds)


def _rotation_params(settings: Settings, *, old_hash: str, now: datetime) -> tuple[str, dict[str, Any]]:
    token = new_session_token()
    return token, {
        "old_hash": old_hash,
        "new_hash": hash_secret(token),
        "now": now,
        "expires_at": now + timedelta(seconds=settings.session_ttl_seconds),
    }


async def resolve_session(db: AsyncSession, *, settings: Settings, presented: str | None) -> ResolvedSession:
    """Authenticate a DEP call by its `X-ADM-Auth-Session` (spec §4.3).

    Missing or expired → 401 UNAUTHORIZED; unknown → 403 FORBIDDEN (what nanodep re-auths on).
    A session older than the rotation interval is replaced by a new token, handed out in the
    response header; the old one keeps working for the grace period.
    """
    if not presented:
        raise DepError("UNAUTHORIZED", status_code=401)
    token_hash = hash_secret(presented)
    found = (await db.execute(_SESSION_LOOKUP, {"token_hash": token_hash})).first()
    if found is None:
        raise DepError("FORBIDDEN", status_code=403)
    auth_session, server, offset = found
    clock.prime(db, offset)
    now = await clock.now(db)
    rotate = _rotation_due(
        created_at=auth_session.created_at,
        expires_at=auth_session.expires_at,
        replaced_at=auth_session.replaced_at,
        now=now,
        settings=settings,
    )
    if server is None:
        raise DepError("FORBIDDEN", status_code=403)
    token = presented
    if rotate:
        new_token, params = _rotation_params(settings, old_hash=token_hash, now=now)
        if (await db.execute(_ROTATE, params)).first() is not None:
            token = new_token
    return ResolvedSession(server=server, token=token)


async def resolve_feed_caller(
    conn: asyncpg.Connection | None,
    *,
    settings: Settings,
    presented: str | None,
    prefetched: Mapping[str, Any] | None = None,
    state: Any = None,
) -> FeedCaller:
    """`resolve_session` for the feed pages and /account, on the hot pool (dep_emulator.core.driver).

    `prefetched`: the session's row as the traffic middleware read it for this request.
    `conn` None: a connection of the app's pool (`state`) is taken only if a statement is needed.
    """
    if not presented:
        raise DepError("UNAUTHORIZED", status_code=401)
    token_hash = hash_secret(presented)
    found = prefetched
    if found is None:
        found = await driver.fetchrow_on(conn, state, _FEED_SESSION_LOOKUP, {"token_hash": token_hash})
    if found is None:
        raise DepError("FORBIDDEN", status_code=403)
    now = clock.at_offset(found["offset_seconds"])
    rotate = _rotation_due(
        created_at=found["created_at"],
        expires_at=found["expires_at"],
        replaced_at=found["replaced_at"],
        now=now,
        settings=settings,
    )
    if found["server_id"] is None:
        raise DepError("FORBIDDEN", status_code=403)
    token = presented
    if rotate:
        new_token, params = _rotation_params(settings, old_hash=token_hash, now=now)
        if await driver.fetchrow_on(conn, state, _ROTATE, params) is not None:
            token = new_token
    key = found["cursor_key"]
    return FeedCaller(
        server_id=found["server_id"],
        server_uuid=found["server_uuid"],
        token=token,
        now=now,
        cursor_key=bytes(key) if key is not None else None,
        values=found,
    )
