"""Tables of the org's people (abm-api-2.md §2.3–§2.4): organizational units, users with their
roles per unit, user groups and their members. The people service is their only writer.

Public ids are Apple's opaque strings: a user's is its decimal number (Apple's example
`"1234567890"`), a group's and a unit's a UUID (one of Apple's examples); the formats are
*unverified* (§2.1): `service.new_id` and the `org_user_id_seq` sequence make them.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import BigInteger, Boolean, ForeignKey, Index, Sequence, String, UniqueConstraint
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import Mapped, mapped_column

from ..core.db import Base

# Ten-digit user ids, as in Apple's examples.
org_user_id_seq = Sequence("org_user_id_seq", start=1000000001)


class OrgUnit(Base):
    """An organizational unit (Business API 2.2): a name and a description; no hierarchy is documented."""

    __tablename__ = "org_unit"
    __table_args__ = (Index("ix_org_unit_org_id_key", "org_id", "id"),)

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    org_id: Mapped[int] = mapped_column(BigInteger, ForeignKey("org.id", ondelete="CASCADE"))
    name: Mapped[str] = mapped_column(String(200))
    description: Mapped[str] = mapped_column(String(500), default="")
    created_at: Mapped[datetime]
    updated_at: Mapped[datetime]


class OrgUser(Base):
    """A user: the org's Managed Apple Account plus directory fields (§2.3, §4.3)."""

    __tablename__ = "org_user"
    __table_args__ = (
        Index("ix_org_user_org_id_key", "org_id", "id"),
        UniqueConstraint("org_id", "managed_apple_account", name="uq_org_user_account"),
    )

    id: Mapped[int] = mapped_column(BigInteger, org_user_id_seq, primary_key=True)
    org_id: Mapped[int] = mapped_column(BigInteger, ForeignKey("org.id", ondelete="CASCADE"))
    first_name: Mapped[str] = mapped_column(String(100))
    middle_name: Mapped[str] = mapped_column(String(100), default="")
    last_name: Mapped[str] = mapped_column(String(100))
    status: Mapped[str] = mapped_column(String(32))
    managed_apple_account: Mapped[str] = mapped_column(String(250))
    is_external_user: Mapped[bool] = mapped_column(Boolean, default=False)
    email: Mapped[str] = mapped_column(String(250), default="")
    employee_number: Mapped[str] = mapped_column(String(64), default="")
    cost_center: Mapped[str] = mapped_column(String(100), default="")
    division: Mapped[str] = mapped_column(String(100), default="")
    department: Mapped[str] = mapped_column(String(100), default="")
    job_title: Mapped[str] = mapped_column(String(100), default="")
    phone_numbers: Mapped[list[dict[str, Any]]] = mapped_column(JSONB, default=list)
    start_at: Mapped[datetime | None]
    created_at: Mapped[datetime]
    updated_at: Mapped[datetime]


class UserRole(Base):
    """One entry of a user's `roleOuList`: a role held in an organizational unit. A unit's `users`
    linkage lists the users holding any role in it (*unverified*: Apple documents no other tie)."""

    __tablename__ = "org_user_role"

    ou_id: Mapped[str] = mapped_column(
        String(36), ForeignKey("org_unit.id", ondelete="CASCADE"), primary_key=True
    )
    user_id: Mapped[int] = mapped_column(
        BigInteger, ForeignKey("org_user.id", ondelete="CASCADE"), primary_key=True, index=True
    )
    role_name: Mapped[str] = mapped_column(String(64), primary_key=True)


class UserGroup(Base):
    """A user group (§2.4): STANDARD (hand-picked members) or SMART (rule-based; the emulator
    stores a SMART group's current members like any other)."""

    __tablename__ = "user_group"
    __table_args__ = (Index("ix_user_group_org_id_key", "org_id", "id"),)

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    org_id: Mapped[int] = mapped_column(BigInteger, ForeignKey("org.id", ondelete="CASCADE"))
    ou_id: Mapped[str] = mapped_column(String(36), ForeignKey("org_unit.id", ondelete="CASCADE"), index=True)
    name: Mapped[str] = mapped_column(String(200))
    group_type: Mapped[str] = mapped_column(String(16))
    status: Mapped[str] = mapped_column(String(16), default="ACTIVE")
    created_at: Mapped[datetime]
    updated_at: Mapped[datetime]


class UserGroupMember(Base):
    """A user in a group; the primary key orders a group's linkage pages."""

    __tablename__ = "user_group_member"

    group_id: Mapped[str] = mapped_column(
        String(36), ForeignKey("user_group.id", ondelete="CASCADE"), primary_key=True
    )
    user_id: Mapped[int] = mapped_column(
        BigInteger, ForeignKey("org_user.id", ondelete="CASCADE"), primary_key=True, index=True
    )
