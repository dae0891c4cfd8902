from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import BigInteger, Boolean, ForeignKey, Index, Integer, String
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import Mapped, mapped_column

from ..core.db import Base


class Profile(Base):
    """An enrollment profile as defined by one MDM server; immutable (spec §6.9)."""

    __tablename__ = "profile"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    profile_uuid: Mapped[str] = mapped_column(String(32), unique=True)
    server_id: Mapped[int] = mapped_column(ForeignKey("mdm_server.id", ondelete="CASCADE"), index=True)
    # The stored profile in Apple's wire keys, every boolean at its effective value.
    body: Mapped[dict[str, Any]] = mapped_column(JSONB)
    created_at: Mapped[datetime]


class AssignmentAttempt(Base):
    """One accepted profile assignment of a device: the log that throttling counts (spec §12).

    Rows older than the org's throttle window are dead weight; a device's rows are deleted
    when it enters a cooldown, so counting restarts once the cooldown is over.
    """

    __tablename__ = "assignment_attempt"
    __table_args__ = (Index("ix_assignment_attempt_device_at", "device_id", "at"),)

    id: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    device_id: Mapped[int] = mapped_column(BigInteger, ForeignKey("device.id", ondelete="CASCADE"))
    at: Mapped[datetime]


class AssignmentCooldown(Base):
    """A device that hit the assignment threshold: THROTTLED/FAILED and hidden from sync until `until_at`."""

    __tablename__ = "assignment_cooldown"

    device_id: Mapped[int] = mapped_column(
        BigInteger, ForeignKey("device.id", ondelete="CASCADE"), primary_key=True
    )
    started_at: Mapped[datetime]
    until_at: Mapped[datetime] = mapped_column(index=True)
    hidden: Mapped[bool] = mapped_column(Boolean, default=True)  # left out of sync while it lasts
