"""The org's content catalogues (abm-api-2.md §2.5): App Store and custom apps with their licence
counts, and custom packages. The content service is their only writer; Apple's API reads them."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import BigInteger, Boolean, ForeignKey, Index, Integer, String
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.orm import Mapped, mapped_column

from ..core.db import Base


class OrgApp(Base):
    """An app the org holds licences for; its id is the App Store adam id (`361309726` = Pages)."""

    __tablename__ = "org_app"

    org_id: Mapped[int] = mapped_column(
        BigInteger, ForeignKey("org.id", ondelete="CASCADE"), primary_key=True
    )
    adam_id: Mapped[str] = mapped_column(String(20), primary_key=True)
    name: Mapped[str] = mapped_column(String(200))
    bundle_id: Mapped[str] = mapped_column(String(200))
    website_url: Mapped[str] = mapped_column(String(500), default="")
    app_store_url: Mapped[str] = mapped_column(String(500), default="")
    version: Mapped[str] = mapped_column(String(40), default="")
    supported_os: Mapped[list[str]] = mapped_column(ARRAY(String(32)), default=list)
    is_custom_app: Mapped[bool] = mapped_column(Boolean, default=False)
    # Licences held (Apps and Books); Blueprints compare it with their targets (appLicenseDeficient).
    license_count: Mapped[int] = mapped_column(Integer, default=0)


class OrgPackage(Base):
    """A custom package (`.pkg`) uploaded in the portal (upload is portal-only, §2.5)."""

    __tablename__ = "org_package"
    __table_args__ = (Index("ix_org_package_org_id_key", "org_id", "id"),)

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    org_id: Mapped[int] = mapped_column(BigInteger, ForeignKey("org.id", ondelete="CASCADE"))
    name: Mapped[str] = mapped_column(String(200))
    description: Mapped[str] = mapped_column(String(500), default="")
    version: Mapped[str] = mapped_column(String(40), default="")
    url: Mapped[str] = mapped_column(String(500))
    hash: Mapped[str] = mapped_column(String(128))
    bundle_ids: Mapped[list[str]] = mapped_column(ARRAY(String(200)), default=list)
    created_at: Mapped[datetime]
    updated_at: Mapped[datetime]
