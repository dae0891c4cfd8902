from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import BigInteger, Boolean, ForeignKey, Integer, Sequence, String, Text, UniqueConstraint
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import Mapped, mapped_column

from ..core.db import Base

# Customer numbers look like Apple's: seven-digit decimals.
org_id_seq = Sequence("org_id_seq", start=1000001)


class Org(Base):
    """An Apple Business/School Manager organisation."""

    __tablename__ = "org"

    id: Mapped[int] = mapped_column(BigInteger, org_id_seq, primary_key=True)
    name: Mapped[str] = mapped_column(String(200))
    email: Mapped[str] = mapped_column(String(250))
    phone: Mapped[str] = mapped_column(String(60))
    address: Mapped[str] = mapped_column(String(500))
    org_type: Mapped[str] = mapped_column(String(16))
    org_version: Mapped[str] = mapped_column(String(8))
    org_id_hash: Mapped[str] = mapped_column(String(64), unique=True)
    terms_accepted: Mapped[bool] = mapped_column(Boolean, default=True)
    terms_changed_at: Mapped[datetime]
    settings: Mapped[dict[str, Any]] = mapped_column(JSONB, default=dict)
    created_at: Mapped[datetime]


class MdmServer(Base):
    """An MDM server ("device management service") registered in the portal.

    The consumer key and secret identify the server and never change; access tokens
    live in `oauth_token` and are replaced on every token download.
    """

    __tablename__ = "mdm_server"
    __table_args__ = (UniqueConstraint("org_id", "server_name", name="uq_mdm_server_org_name"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    server_uuid: Mapped[str] = mapped_column(String(32), unique=True)
    org_id: Mapped[int] = mapped_column(ForeignKey("org.id", ondelete="CASCADE"), index=True)
    server_name: Mapped[str] = mapped_column(String(200))
    admin_id: Mapped[str] = mapped_column(String(250))
    certificate_pem: Mapped[str | None] = mapped_column(Text, nullable=True)
    consumer_key: Mapped[str] = mapped_column(String(128), unique=True)
    consumer_secret: Mapped[str] = mapped_column(String(64))
    # Last sequence number allocated on this server's device feed (see dep_emulator.devices.events).
    feed_seq: Mapped[int] = mapped_column(BigInteger, default=0, server_default="0")
    created_at: Mapped[datetime]
