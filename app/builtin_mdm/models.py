"""Apple's built-in device management service (abm-api-2.md §4.1): which mdm_server row is it,
which devices are enrolled in it, and the Activation Lock state Apple reports for a device (§2.9).
The builtin service (dep_emulator.builtin_mdm.service) is their only writer."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import BigInteger, Boolean, ForeignKey, Index, String
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.orm import Mapped, mapped_column

from ..core.db import Base


class BuiltinService(Base):
    """The org's built-in service: one more mdm_server row, shown with serverType APPLE_MDM."""

    __tablename__ = "builtin_service"

    org_id: Mapped[int] = mapped_column(
        BigInteger, ForeignKey("org.id", ondelete="CASCADE"), primary_key=True
    )
    server_id: Mapped[int] = mapped_column(ForeignKey("mdm_server.id", ondelete="CASCADE"), unique=True)


class BuiltinEnrollment(Base):
    """A device enrolled in the built-in service: an ADE device of the org (`device_id`), shown while
    it is in the org and assigned to the built-in service, or an account-driven enrollment
    (`device_id` None: BYOD or a device already in use, never in orgDevices)."""

    __tablename__ = "builtin_enrollment"
    __table_args__ = (Index("ix_builtin_enrollment_org_id_key", "org_id", "id"),)

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    org_id: Mapped[int] = mapped_column(BigInteger, ForeignKey("org.id", ondelete="CASCADE"))
    device_id: Mapped[int | None] = mapped_column(
        BigInteger, ForeignKey("device.id", ondelete="CASCADE"), unique=True
    )
    serial_number: Mapped[str] = mapped_column(String(64))
    device_name: Mapped[str] = mapped_column(String(200))
    device_family: Mapped[str] = mapped_column(String(20))
    device_model: Mapped[str] = mapped_column(String(120))
    os_version: Mapped[str] = mapped_column(String(20))
    wifi_mac_address: Mapped[str] = mapped_column(String(17), default="")
    bluetooth_mac_address: Mapped[str] = mapped_column(String(17), default="")
    ethernet_mac_address: Mapped[str] = mapped_column(String(17), default="")
    imei: Mapped[list[str]] = mapped_column(ARRAY(String(32)), default=list)
    meid: Mapped[list[str]] = mapped_column(ARRAY(String(32)), default=list)
    user_id: Mapped[int | None] = mapped_column(BigInteger, ForeignKey("org_user.id", ondelete="SET NULL"))
    erased: Mapped[bool] = mapped_column(Boolean, default=False)
    locked: Mapped[bool] = mapped_column(Boolean, default=False)
    lost_mode: Mapped[bool] = mapped_column(Boolean, default=False)
    file_vault: Mapped[bool] = mapped_column(Boolean, default=False)
    firewall: Mapped[bool] = mapped_column(Boolean, default=False)
    storage_free: Mapped[int] = mapped_column(BigInteger)
    storage_total: Mapped[int] = mapped_column(BigInteger)
    enrolled_at: Mapped[datetime]
    last_check_in_at: Mapped[datetime]


class LockStatus(Base):
    """A seeded Activation Lock status (§2.9); without a row it is derived from the DEP activation lock.
    `server_error`: the documented case where Apple's call ends in a plain server error."""

    __tablename__ = "activation_lock_status"

    device_id: Mapped[int] = mapped_column(
        BigInteger, ForeignKey("device.id", ondelete="CASCADE"), primary_key=True
    )
    lock_type: Mapped[str] = mapped_column(String(8))
    server_error: Mapped[bool] = mapped_column(Boolean, default=False)
