"""Server tokens: issue OAuth credentials and wrap them as Apple's .p7m file (spec §3)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession

from ..clock import service as clock
from ..core import certificates
from ..core.errors import ControlError
from ..core.security import random_hex
from ..orgs.models import MdmServer
from . import smime
from .models import OAuthToken


@dataclass(frozen=True, slots=True)
class TokenFile:
    filename: str
    content: bytes


def new_access_token(issued_at: datetime) -> str:
    """`AT_O` + 10 digits + `O` + 40 hex + `O` + epoch-ms, the shape of real tokens (spec §3.4)."""
    digits = str(int(random_hex(5), 16) % 10**10).zfill(10)
    return f"AT_O{digits}O{random_hex(20)}O{int(issued_at.timestamp() * 1000)}"


def credentials(server: MdmServer, token: OAuthToken) -> dict[str, str]:
    """The five keys in Apple's order."""
    return {
        "consumer_key": server.consumer_key,
        "consumer_secret": server.consumer_secret,
        "access_token": token.access_token,
        "access_secret": token.access_secret,
        "access_token_expiry": clock.isoformat(token.expires_at),
    }


async def current_token(db: AsyncSession, *, server: MdmServer) -> OAuthToken | None:
    result = await db.execute(
        select(OAuthToken).where(OAuthToken.server_id == server.id, OAuthToken.superseded_at.is_(None))
    )
    return result.scalar_one_or_none()


async def issue_token(db: AsyncSession, *, server: MdmServer, lifetime_days: int) -> OAuthToken:
    """A new access token and secret; every earlier one of this server stops working."""
    now = await clock.now(db)
    # Lock the server row so two concurrent downloads cannot both become "current".
    await db.execute(select(MdmServer.id).where(MdmServer.id == server.id).with_for_update())
    await db.execute(
        update(OAuthToken)
        .where(OAuthToken.server_id == server.id, OAuthToken.superseded_at.is_(None))
        .values(superseded_at=now)
    )
    token = OAuthToken(
        server_id=server.id,
        access_token=new_access_token(now),
        access_secret="AS_" + random_hex(20),
        issued_at=now,
        expires_at=(now + timedelta(days=lifetime_days)).replace(microsecond=0),
    )
    db.add(token)
    await db.flush()
    return token


async def download_token_file(db: AsyncSession, *, server: MdmServer, lifetime_days: int) -> TokenFile:
    """The portal's "Download Token": fresh credentials enveloped to the uploaded certificate."""
    if not server.certificate_pem:
        raise ControlError(
            409,
            "certificate_required",
            f"MDM server {server.server_uuid} has no public key certificate; upload one with "
            f"PUT /emulator/v1/mdm-servers/{server.server_uuid}/certificate first",
        )
    certificates.load_certificate(server.certificate_pem)  # refuse before a token is issued
    token = await issue_token(db, server=server, lifetime_days=lifetime_days)
    return token_file(server, token)


def token_file(server: MdmServer, token: OAuthToken) -> TokenFile:
    """`token` as Apple's .p7m, enveloped to the server's certificate, with Apple's file name.

    The console's "Your Server Token" link downloads the token just issued this way again."""
    assert server.certificate_pem is not None
    certificate = certificates.load_certificate(server.certificate_pem)
    content = smime.envelope_server_token(certificate, smime.build_token_inner(credentials(server, token)))
    stamp = token.issued_at.strftime("%Y-%m-%dT%H-%M-%SZ")
    return TokenFile(filename=f"{server.server_name}_Token_{stamp}_smime.p7m", content=content)
