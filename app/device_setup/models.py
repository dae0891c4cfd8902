from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import BigInteger, CheckConstraint, ForeignKey, Integer, String, Text
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import Mapped, mapped_column

from ..core.db import Base


class DeviceCA(Base):
    """The emulator's own device CA (one row), which issues the identity certificates devices sign with.

    Kept in the database so that every replica signs with the same CA and an MDM can trust
    it once (`GET /emulator/v1/device-ca`).
    """

    __tablename__ = "device_ca"
    __table_args__ = (CheckConstraint("id = 1", name="single_row"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, default=1)
    certificate_pem: Mapped[str] = mapped_column(Text)
    private_key_pem: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime]


class DeviceSetup(Base):
    """What a device installed during Setup Assistant: its cloud configuration, kept until erase.

    A device with a row here ignores new assignments (spec §6.12: no effect on a device that
    already fetched its profile until it is erased and re-activated).
    """

    __tablename__ = "device_setup"

    device_id: Mapped[int] = mapped_column(
        BigInteger, ForeignKey("device.id", ondelete="CASCADE"), primary_key=True
    )
    profile_uuid: Mapped[str] = mapped_column(String(32))
    cloud_configuration: Mapped[dict[str, Any]] = mapped_column(JSONB)
    activated_at: Mapped[datetime]
