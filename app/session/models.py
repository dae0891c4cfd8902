from __future__ import annotations

from datetime import datetime

from sqlalchemy import BigInteger, ForeignKey, Index, String
from sqlalchemy.orm import Mapped, mapped_column

from ..core.db import Base


class AuthSession(Base):
    """An `X-ADM-Auth-Session` token, stored only as its SHA-256 hash, bound to one MDM server."""

    __tablename__ = "auth_session"

    token_hash: Mapped[str] = mapped_column(String(64), primary_key=True)
    server_id: Mapped[int] = mapped_column(ForeignKey("mdm_server.id", ondelete="CASCADE"), index=True)
    created_at: Mapped[datetime]
    expires_at: Mapped[datetime]
    # Set when a response handed out a newer token; the old one works for a grace period.
    replaced_at: Mapped[datetime | None]


class OAuthNonce(Base):
    """Nonces seen within the timestamp window, per consumer key, shared by every replica."""

    __tablename__ = "oauth_nonce"
    __table_args__ = (Index("ix_oauth_nonce_seen_at", "seen_at"),)

    consumer_key: Mapped[str] = mapped_column(String(128), primary_key=True)
    nonce: Mapped[str] = mapped_column(String(200), primary_key=True)
    timestamp: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    seen_at: Mapped[datetime]
