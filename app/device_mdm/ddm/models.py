from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import BigInteger, Boolean, ForeignKey, Integer, String, Text
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import Mapped, mapped_column

from ...core.db import Base


class DeviceDdm(Base):
    """A managed device's Declarative Device Management state (device-2026.md §3).

    One row per enrolled device once the MDM sent `DeclarativeManagement` (or the control API set
    a switch); gone with the enrollment (cascade): unenrollment wipes all DDM state. The JSONB
    columns hold the declarations as the device keeps them, keyed by Identifier.
    """

    __tablename__ = "device_ddm"

    device_id: Mapped[int] = mapped_column(
        BigInteger, ForeignKey("device_enrollment.device_id", ondelete="CASCADE"), primary_key=True
    )
    enabled: Mapped[bool] = mapped_column(Boolean, default=False)
    # "notnow" | "process" | None (by OS version: 26 and later process, older answer NotNow)
    while_awaiting: Mapped[str | None] = mapped_column(String(16))
    declarations_token: Mapped[str | None] = mapped_column(Text)
    # {Identifier: {kind, type, server_token, payload, problem}}
    declarations: Mapped[dict[str, Any]] = mapped_column(JSONB, default=dict)
    # {Identifier: {kind, active, valid, reasons}} as of the last apply
    status: Mapped[dict[str, Any]] = mapped_column(JSONB, default=dict)
    # {asset Identifier: {server_token, ok, reason, size, sha256}}; {configuration: profile identifier}
    assets: Mapped[dict[str, Any]] = mapped_column(JSONB, default=dict)
    legacy_profiles: Mapped[dict[str, Any]] = mapped_column(JSONB, default=dict)
    # status item values as last reported (for incremental reports)
    reported: Mapped[dict[str, Any]] = mapped_column(JSONB, default=dict)
    last_report: Mapped[dict[str, Any] | None] = mapped_column(JSONB)
    last_report_at: Mapped[datetime | None]
    reports_sent: Mapped[int] = mapped_column(Integer, default=0)
    last_sync: Mapped[dict[str, Any] | None] = mapped_column(JSONB)
    full_report_due: Mapped[bool] = mapped_column(Boolean, default=False)  # set by the control API
    # the last full report, or the first report before any full one: a full one is due a day later
    last_full_report_at: Mapped[datetime | None]
