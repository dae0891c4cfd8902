from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import BigInteger, Boolean, ForeignKey, Index, Integer, LargeBinary, String, Text
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import Mapped, mapped_column

from ..core.db import Base


class DeviceEnrollment(Base):
    """A device enrolled in an MDM: its identity, push token and what the MDM installed on it.

    One row per managed device, gone on erase (cascade from `device`). `lease_until` lets one
    poll at a time run (any replica) and guards the write made after it talked outside any
    transaction; `next_poll_at` schedules the opt-in poll loop (database wall clock).
    """

    __tablename__ = "device_enrollment"
    __table_args__ = (Index("ix_device_enrollment_next_poll_at", "next_poll_at"),)

    device_id: Mapped[int] = mapped_column(
        BigInteger, ForeignKey("device.id", ondelete="CASCADE"), primary_key=True
    )
    udid: Mapped[str] = mapped_column(String(64))
    enrolled_at: Mapped[datetime]
    server_url: Mapped[str] = mapped_column(Text)
    check_in_url: Mapped[str] = mapped_column(Text)
    topic: Mapped[str] = mapped_column(Text)
    sign_message: Mapped[bool] = mapped_column(Boolean)
    check_out_when_removed: Mapped[bool] = mapped_column(Boolean)
    mdm_removable: Mapped[bool] = mapped_column(Boolean)
    identity_certificate_pem: Mapped[str] = mapped_column(Text)
    identity_key_pem: Mapped[str] = mapped_column(Text)
    anchors_pem: Mapped[list[str]] = mapped_column(JSONB)
    push_magic: Mapped[str] = mapped_column(String(64))
    token: Mapped[bytes] = mapped_column(LargeBinary)
    unlock_token: Mapped[bytes | None] = mapped_column(LargeBinary)
    awaiting_configuration: Mapped[bool] = mapped_column(Boolean)
    enrollment_profile_identifier: Mapped[str] = mapped_column(Text)
    # Installed profiles as ProfileList reports them, the enrollment profile first.
    profiles: Mapped[list[dict[str, Any]]] = mapped_column(JSONB)
    lock: Mapped[dict[str, Any] | None] = mapped_column(JSONB)  # the last DeviceLock, if any
    not_now_remaining: Mapped[int] = mapped_column(Integer, default=0)
    # AccountConfiguration's settings while the Mac awaits configuration (device_mdm.account_config).
    account_configuration: Mapped[dict[str, Any] | None] = mapped_column(JSONB(none_as_null=True))
    # Setup Assistant's progress (device_mdm.setup_state), on the emulator clock: when the device
    # sent TokenUpdate (null: held after Authenticate) and when DeviceConfigured released it.
    token_update_at: Mapped[datetime | None]
    configured_at: Mapped[datetime | None]
    poll_every_seconds: Mapped[float | None]
    next_poll_at: Mapped[datetime | None]
    lease_until: Mapped[datetime | None]


class MdmExchange(Base):
    """One exchange between a device and its MDM (or SCEP server), in the order they happened.

    A log, kept across erases (it says what happened to the device) and written even when the
    step failed; `detail` says why in words.
    """

    __tablename__ = "mdm_exchange"
    __table_args__ = (Index("ix_mdm_exchange_device", "device_id", "id"), {"info": {"bookkeeping": True}})

    id: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    device_id: Mapped[int] = mapped_column(BigInteger, ForeignKey("device.id", ondelete="CASCADE"))
    at: Mapped[datetime]
    step: Mapped[str] = mapped_column(String(60))
    url: Mapped[str | None] = mapped_column(Text)
    status: Mapped[int | None] = mapped_column(Integer)
    ok: Mapped[bool] = mapped_column(Boolean)
    detail: Mapped[str | None] = mapped_column(Text)
    command_uuid: Mapped[str | None] = mapped_column(String(100))
    sent: Mapped[str | None] = mapped_column(Text)
    answered: Mapped[str | None] = mapped_column(Text)


class DeviceWebView(Base):
    """Setup Assistant's web view on `configuration_web_url` (device-2026.md §5), while it is open.

    One row per device, replaced when the device loads the page anew and gone on erase. The
    cookie jar lives here (the web view keeps one, non-persistent: a new activation starts a new
    one); `page` is the last page it shows, for the console and the control API.
    """

    __tablename__ = "device_web_view"

    device_id: Mapped[int] = mapped_column(
        BigInteger, ForeignKey("device.id", ondelete="CASCADE"), primary_key=True
    )
    start_url: Mapped[str] = mapped_column(Text)
    host_rule: Mapped[str] = mapped_column(String(16))  # whole_host (observed) | last_two_labels (documented)
    state: Mapped[str] = mapped_column(String(16))  # open | enrolled | failed | cancelled
    url: Mapped[str] = mapped_column(Text)
    status: Mapped[int | None] = mapped_column(Integer)
    content_type: Mapped[str | None] = mapped_column(Text)
    page: Mapped[str] = mapped_column(Text, default="")
    cookies: Mapped[list[dict[str, Any]]] = mapped_column(JSONB)
    steps: Mapped[int] = mapped_column(Integer, default=0)
    detail: Mapped[str | None] = mapped_column(Text)
