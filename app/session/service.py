"""Apple's authentication: OAuth-signed `GET /session` → session token → every other call (spec §4)."""

from __future__ import annotations

import secrets
import time
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import Float, LargeBinary, bindparam, delete, literal_column, select, update
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

from app.clock import service as clock
from app.core.config import OAuthErrorStyle, Settings
from app.core.errors import DepError
from app.core.security import hash_secret
from app.devices import cursors
from app.orgs.models import MdmServer, Org
from app.session import oauth1
from app.session.models import AuthSession, OAuthNonce
from app.tokens.models import OAuthToken


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


# Every DEP call runs this: one round trip reads the session, its server, the clock and the
# cursor key (read per request, not cached: a reset replaces it). Built once, not per call.
_SESSION_LOOKUP = (
    select(
        AuthSession,
        MdmServer,
        literal_column(clock.OFFSET_SCALAR_SQL, Float),
        literal_column(cursors.KEY_SCALAR_SQL, LargeBinary),
    )
    .outerjoin(MdmServer, MdmServer.id == AuthSession.server_id)
    .where(AuthSession.token_hash == bindparam("token_hash"))
)


async def resolve_session(db: AsyncSession, *, settings: Settings, presented: str | None) -> ResolvedSession:
    """Authenticate a DEP call by its `X-ADM-Auth-Session` (spec §4.3).

    Missing or expired → 401 UNAUTHORIZED; unknown → 403 FORBIDDEN (what nanodep re-auths on).
    A session older than the rotation interval is replaced by a new token, handed out in the
    response header; the old one keeps working for the grace period.
    """
    if not presented:
        raise DepError("UNAUTHORIZED", status_code=401)
    found = (await db.execute(_SESSION_LOOKUP, {"token_hash": hash_secret(presented)})).first()
    if found is None:
        raise DepError("FORBIDDEN", status_code=403)
    auth_session, server, offset, cursor_key = found
    clock.prime(db, offset)
    cursors.prime_key(db, cursor_key)
    now = await clock.now(db)
    grace = timedelta(seconds=settings.session_rotation_grace_seconds)
    if now >= auth_session.expires_at or (
        auth_session.replaced_at is not None and now >= auth_session.replaced_at + grace
    ):
        raise DepError("UNAUTHORIZED", status_code=401)
    if server is None:
        raise DepError("FORBIDDEN", status_code=403)

    token = presented
    if auth_session.replaced_at is None and now - auth_session.created_at >= timedelta(
        seconds=settings.session_rotation_seconds
    ):
        token = await _rotate(db, settings=settings, old=auth_session, now=now) or presented
    return ResolvedSession(server=server, token=token)


async def _rotate(db: AsyncSession, *, settings: Settings, old: AuthSession, now: datetime) -> str | None:
    """Replace `old` by a new session; None when a concurrent request rotated it first."""
    claimed = await db.scalar(
        update(AuthSession)
        .where(AuthSession.token_hash == old.token_hash, AuthSession.replaced_at.is_(None))
        .values(replaced_at=now)
        .returning(AuthSession.token_hash)
    )
    if claimed is None:
        return None
    return await _store_new_session(db, settings=settings, server_id=old.server_id, now=now)
