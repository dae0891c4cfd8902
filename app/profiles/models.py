from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import ForeignKey, Integer, String
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import Mapped, mapped_column

from app.core.db import Base


class Profile(Base):
    """An enrollment profile as defined by one MDM server; immutable (spec §6.9)."""

    __tablename__ = "profile"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    profile_uuid: Mapped[str] = mapped_column(String(32), unique=True)
    server_id: Mapped[int] = mapped_column(ForeignKey("mdm_server.id", ondelete="CASCADE"), index=True)
    # The stored profile in Apple's wire keys, every boolean at its effective value.
    body: Mapped[dict[str, Any]] = mapped_column(JSONB)
    created_at: Mapped[datetime]
