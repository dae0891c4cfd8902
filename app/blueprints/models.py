"""Configurations and Blueprints (abm-api-2.md §2.6–§2.7, §3): the built-in device management
service's policy objects, stored with Apple's rules. The blueprints service is their only writer.
Nothing here touches a device's assignment or the DEP feed (§5 item 5)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import BigInteger, ForeignKey, Index, Integer, String, Text
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.orm import Mapped, mapped_column

from ..core.db import Base


class Configuration(Base):
    """A configuration; only `CUSTOM_SETTING` ones carry a profile and can be written through the API."""

    __tablename__ = "configuration"
    __table_args__ = (Index("ix_configuration_org_id_key", "org_id", "id"),)

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    org_id: Mapped[int] = mapped_column(BigInteger, ForeignKey("org.id", ondelete="CASCADE"))
    config_type: Mapped[str] = mapped_column(String(40))
    name: Mapped[str] = mapped_column(String(200))
    platforms: Mapped[list[str]] = mapped_column(ARRAY(String(32)), default=list)
    profile: Mapped[str | None] = mapped_column(Text)
    filename: Mapped[str | None] = mapped_column(String(250))
    version: Mapped[int] = mapped_column(Integer, default=1)  # the audit payload's configVersion
    created_at: Mapped[datetime]
    updated_at: Mapped[datetime]


class Blueprint(Base):
    __tablename__ = "blueprint"
    __table_args__ = (Index("ix_blueprint_org_id_key", "org_id", "id"),)

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    org_id: Mapped[int] = mapped_column(BigInteger, ForeignKey("org.id", ondelete="CASCADE"))
    name: Mapped[str] = mapped_column(String(200))
    description: Mapped[str] = mapped_column(String(1000), default="")
    status: Mapped[str] = mapped_column(String(16), default="ACTIVE")
    created_at: Mapped[datetime]
    updated_at: Mapped[datetime]
    # Set by a DELETE under the org's `blueprint_delete_grace_seconds`: the Blueprint shows as
    # TO_BE_DELETED until then (emulator clock) and is removed by the first read after it.
    purge_at: Mapped[datetime | None]


class BlueprintMember(Base):
    """One entry of one of a Blueprint's six relationships: `kind` is the relationship name
    (`apps`, `configurations`, `packages`, `orgDevices`, `users`, `userGroups`), `member_id` the
    related resource's id as the API shows it. The key orders each linkage's pages."""

    __tablename__ = "blueprint_member"
    __table_args__ = (Index("ix_blueprint_member_kind_member", "kind", "member_id"),)

    blueprint_id: Mapped[str] = mapped_column(
        String(36), ForeignKey("blueprint.id", ondelete="CASCADE"), primary_key=True
    )
    kind: Mapped[str] = mapped_column(String(16), primary_key=True)
    member_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    # When the entry was added (emulator clock): linkage GETs show it only
    # `blueprint_linkage_delay_seconds` later. NULL: before the delay existed, always shown.
    added_at: Mapped[datetime | None]
