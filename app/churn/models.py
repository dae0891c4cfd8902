from __future__ import annotations

from datetime import datetime

from sqlalchemy import BigInteger, Float, ForeignKey, Index, Integer, String, Text, UniqueConstraint
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import Mapped, mapped_column

from ..core.db import Base


class ChurnSchedule(Base):
    """Scheduled churn like depsim's `device_insertions` / `device_deletions` (scenarios §3, item 9).

    Every `interval_seconds` of the emulator clock one event inserts or deletes
    `devices_per_event` devices, at most `max_event_count` times (null: forever). `next_run_at`
    is on the emulator clock; a replica claims a due row with `FOR UPDATE SKIP LOCKED`, runs the
    event and advances `next_run_at` by one interval in the same transaction, so each event
    runs exactly once across replicas and a clock jump is caught up event by event.
    """

    __tablename__ = "churn_schedule"
    __table_args__ = (
        UniqueConstraint("org_id", "name", name="uq_churn_schedule_org_name"),
        Index("ix_churn_schedule_next_run_at", "next_run_at"),
    )

    id: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    org_id: Mapped[int] = mapped_column(ForeignKey("org.id", ondelete="CASCADE"), index=True)
    server_id: Mapped[int | None] = mapped_column(ForeignKey("mdm_server.id", ondelete="CASCADE"))
    name: Mapped[str] = mapped_column(String(100))
    kind: Mapped[str] = mapped_column(String(16))  # "insert" | "delete"
    devices_per_event: Mapped[int] = mapped_column(Integer)
    interval_seconds: Mapped[float] = mapped_column(Float)
    max_event_count: Mapped[int | None] = mapped_column(Integer)
    device_types: Mapped[list[str] | None] = mapped_column(JSONB)  # generator families (insert)
    action: Mapped[str] = mapped_column(String(16))  # delete: "release" | "unassign"
    seed: Mapped[int] = mapped_column(BigInteger)
    order_number: Mapped[str | None] = mapped_column(String(64))
    events_run: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    # Generator index of the next inserted device, so events never repeat a serial.
    devices_generated: Mapped[int] = mapped_column(BigInteger, default=0, server_default="0")
    devices_affected: Mapped[int] = mapped_column(BigInteger, default=0, server_default="0")
    next_run_at: Mapped[datetime]
    last_run_at: Mapped[datetime | None]
    last_error: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime]
