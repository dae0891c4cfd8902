"""API accounts: what Preferences → API in the portal creates (abm-api.md §1.1).

The client id's prefix names the flavour (`BUSINESSAPI.` for ABM, `SCHOOLAPI.` for ASM) and
fixes the OAuth scope. The emulator keeps only the public key; a private key it generates is
handed out once, as the portal's `.pem` download is.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from ..clock import service as clock
from ..core.errors import ControlError
from ..orgs.models import Org
from . import keys
from .models import ApiAccount

MAX_ACCOUNTS_PER_ORG = 50  # support.apple.com guide axm33189f66a
PREFIX_BY_SCOPE = {"business.api": "BUSINESSAPI", "school.api": "SCHOOLAPI"}


@dataclass(frozen=True, slots=True)
class NewAccount:
    account: ApiAccount
    private_key_pem: str | None


def _public_key_pem(pem: str) -> str:
    """The key as a canonical SubjectPublicKeyInfo PEM; 422 unless it is an EC P-256 public key.

    A private key file (Apple's `EC PRIVATE KEY` form, PKCS#8 or SEC1: dep_emulator.abm.keys) is
    read too, and only its public half kept."""
    if "PRIVATE KEY-----" in pem:
        try:
            private = keys.load_private_key(pem)
        except ValueError as exc:
            raise ControlError(
                422, "invalid_public_key", f"public_key_pem is a private key file that cannot be read: {exc}"
            ) from exc
        pem = (
            private.public_key()
            .public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
            .decode()
        )
    try:
        key = serialization.load_pem_public_key(pem.strip().encode())
    except (ValueError, TypeError) as exc:
        raise ControlError(422, "invalid_public_key", "public_key_pem is not a PEM public key") from exc
    if not isinstance(key, ec.EllipticCurvePublicKey) or not isinstance(key.curve, ec.SECP256R1):
        raise ControlError(422, "invalid_public_key", "public_key_pem must be an EC P-256 (ES256) public key")
    return key.public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    ).decode()


async def create_account(
    db: AsyncSession,
    *,
    org: Org,
    scope: str | None,
    public_key_pem: str | None,
    key_format: keys.KeyFormat = "apple",
) -> NewAccount:
    """A new API account; without `public_key_pem` a generated key, returned once as the portal's
    `.pem` download (`key_format`: Apple's `EC PRIVATE KEY` label by default, dep_emulator.abm.keys)."""
    # Serialise creations per org so the 50-account limit holds under concurrency.
    await db.execute(select(Org.id).where(Org.id == org.id).with_for_update())
    count = await db.scalar(select(func.count()).select_from(ApiAccount).where(ApiAccount.org_id == org.id))
    if (count or 0) >= MAX_ACCOUNTS_PER_ORG:
        raise ControlError(
            409, "too_many_api_accounts", f"an org has at most {MAX_ACCOUNTS_PER_ORG} API accounts"
        )
    scope = scope or ("school.api" if org.org_type == "edu" else "business.api")
    private_pem: str | None = None
    if public_key_pem is None:
        private_key = ec.generate_private_key(ec.SECP256R1())
        private_pem = keys.private_key_file(private_key, key_format)
        public_key_pem = (
            private_key.public_key()
            .public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
            .decode()
        )
    account = ApiAccount(
        org_id=org.id,
        client_id=f"{PREFIX_BY_SCOPE[scope]}.{uuid.uuid4()}",
        key_id=str(uuid.uuid4()),
        scope=scope,
        public_key_pem=_public_key_pem(public_key_pem),
        created_at=await clock.now(db),
    )
    db.add(account)
    await db.flush()
    return NewAccount(account=account, private_key_pem=private_pem)


async def list_accounts(db: AsyncSession, *, org: Org) -> list[ApiAccount]:
    rows = await db.scalars(select(ApiAccount).where(ApiAccount.org_id == org.id).order_by(ApiAccount.id))
    return list(rows)


async def account_by_client_id(db: AsyncSession, *, client_id: str) -> ApiAccount | None:
    if not client_id or len(client_id) > 64 or "\x00" in client_id:
        return None
    return await db.scalar(select(ApiAccount).where(ApiAccount.client_id == client_id))
