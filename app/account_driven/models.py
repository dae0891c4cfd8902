from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, Integer, Text
from sqlalchemy.orm import Mapped, mapped_column

from ..core.db import Base


class AccountDrivenEnrollmentProfile(Base):
    """An MDM server's account-driven enrollment service-discovery URL (spec §6.13)."""

    __tablename__ = "account_driven_enrollment_profile"

    server_id: Mapped[int] = mapped_column(
        Integer, ForeignKey("mdm_server.id", ondelete="CASCADE"), primary_key=True
    )
    mdm_service_discovery_url: Mapped[str] = mapped_column(Text)
    updated_at: Mapped[datetime]
