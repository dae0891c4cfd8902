"""Tables of the Business Manager API: API accounts, bearer tokens, server extras, activities.

Devices and MDM servers themselves are the devices and orgs domains' tables; this domain
only adds what the portal API has and DEP does not.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Boolean, ForeignKey, Index, Integer, String, Text
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.orm import Mapped, mapped_column

from ..core.db import Base


class ApiAccount(Base):
    """An API account (Preferences → API in the portal): a client id, a key id and a P-256 public key."""

    __tablename__ = "abm_api_account"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    org_id: Mapped[int] = mapped_column(ForeignKey("org.id", ondelete="CASCADE"), index=True)
    client_id: Mapped[str] = mapped_column(String(64), unique=True)
    key_id: Mapped[str] = mapped_column(String(64), unique=True)
    scope: Mapped[str] = mapped_column(String(16))
    public_key_pem: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime]


class AccessToken(Base):
    """A bearer token from the token endpoint, stored only as its SHA-256 hash (any replica accepts it)."""

    __tablename__ = "abm_access_token"

    token_hash: Mapped[str] = mapped_column(String(64), primary_key=True)
    account_id: Mapped[int] = mapped_column(ForeignKey("abm_api_account.id", ondelete="CASCADE"), index=True)
    scope: Mapped[str] = mapped_column(String(16))
    issued_at: Mapped[datetime]
    expires_at: Mapped[datetime] = mapped_column(index=True)


class ServerSetting(Base):
    """mdmServer attributes DEP has no use for (abm-api.md §1.5); no row means the defaults."""

    __tablename__ = "abm_server_setting"

    server_id: Mapped[int] = mapped_column(ForeignKey("mdm_server.id", ondelete="CASCADE"), primary_key=True)
    enable_mdm_disown_flag: Mapped[bool] = mapped_column(Boolean, default=False)
    default_product_families: Mapped[list[str]] = mapped_column(ARRAY(String(16)), default=list)
    updated_at: Mapped[datetime]


class Activity(Base):
    """An orgDeviceActivity. Its effects are applied when it is created; its status is derived
    from `completes_at` against the emulator clock on every read (abm-api.md §1.6)."""

    __tablename__ = "abm_activity"
    __table_args__ = (Index("ix_abm_activity_org_created", "org_id", "created_at"),)

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    org_id: Mapped[int] = mapped_column(ForeignKey("org.id", ondelete="CASCADE"))
    account_id: Mapped[int | None] = mapped_column(ForeignKey("abm_api_account.id", ondelete="SET NULL"))
    activity_type: Mapped[str] = mapped_column(String(48))
    server_uuid: Mapped[str | None] = mapped_column(String(32))
    deadline: Mapped[datetime | None]
    device_count: Mapped[int] = mapped_column(Integer)
    failed_count: Mapped[int] = mapped_column(Integer)
    created_at: Mapped[datetime]
    completes_at: Mapped[datetime]


class ActivityDevice(Base):
    """One device's outcome in an activity: a line of the activity's CSV log."""

    __tablename__ = "abm_activity_device"

    activity_id: Mapped[str] = mapped_column(
        ForeignKey("abm_activity.id", ondelete="CASCADE"), primary_key=True
    )
    position: Mapped[int] = mapped_column(Integer, primary_key=True)
    serial_number: Mapped[str] = mapped_column(String(64))
    succeeded: Mapped[bool] = mapped_column(Boolean)
    message: Mapped[str] = mapped_column(String(250))
