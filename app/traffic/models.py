from __future__ import annotations

from datetime import datetime

from sqlalchemy import Float, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from ..core.db import Base


class TrafficBucket(Base):
    """One budget shared by every replica: a token bucket, and for concurrency an in-flight count.

    Keys name the subject and the rule (`s12:sync`, `s12:full_fetch`, `a10.0.0.7:session`,
    `s12:in_flight`). Rows are only ever changed by the `traffic_admit` SQL function (one
    statement per request, see migration 0003) and by the release after the response.
    `note` holds the cursor a sync page handed out with `more_to_follow`, so the next page of
    the same cycle is not counted as a new sync.
    """

    __tablename__ = "traffic_bucket"
    __table_args__ = {"info": {"bookkeeping": True}}

    key: Mapped[str] = mapped_column(String(200), primary_key=True)
    tokens: Mapped[float] = mapped_column(Float, default=0.0)
    refilled_at: Mapped[datetime]  # emulator clock
    note: Mapped[str | None] = mapped_column(Text)
    in_flight: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    in_flight_at: Mapped[datetime | None]  # wall clock: a lease, so a crashed replica's slots expire
