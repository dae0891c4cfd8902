from __future__ import annotations

from datetime import datetime

from sqlalchemy import BigInteger, Boolean, Float, Index, Integer, String, Text, text
from sqlalchemy.orm import Mapped, mapped_column

from ..core.db import Base


class RequestJournal(Base):
    """One request to an Apple surface, committed before the last byte of its response is sent.

    Never holds a secret: no Authorization header, no session token, no OAuth value; only
    the summary fields below (spec scenario 21). `server_uuid` is a plain string so that
    entries outlive a deleted server.
    """

    __tablename__ = "request_journal"
    __table_args__ = (
        Index("ix_request_journal_server", "server_uuid", "id"),
        Index("ix_request_journal_wall_at", "wall_at"),
        Index("ix_request_journal_withheld", "id", postgresql_where=text("withheld IS NOT NULL")),
        {"info": {"bookkeeping": True}},
    )

    id: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    wall_at: Mapped[datetime]
    emulated_at: Mapped[datetime]
    server_uuid: Mapped[str | None] = mapped_column(String(32))
    client_addr: Mapped[str | None] = mapped_column(String(64))
    method: Mapped[str] = mapped_column(String(10))
    path: Mapped[str] = mapped_column(String(300))
    query: Mapped[str | None] = mapped_column(String(500))
    protocol_version: Mapped[str | None] = mapped_column(String(16))
    user_agent: Mapped[str | None] = mapped_column(String(300))
    status: Mapped[int] = mapped_column(Integer)  # 0: connection dropped without a response
    error_code: Mapped[str | None] = mapped_column(String(200))
    latency_ms: Mapped[float] = mapped_column(Float)
    cursor: Mapped[str | None] = mapped_column(Text)
    limit: Mapped[int | None] = mapped_column(Integer)
    device_count: Mapped[int | None] = mapped_column(Integer)
    response_cursor: Mapped[str | None] = mapped_column(Text)
    more_to_follow: Mapped[bool | None] = mapped_column(Boolean)
    retry_after: Mapped[str | None] = mapped_column(String(64))
    fault_id: Mapped[int | None] = mapped_column(BigInteger)
    fault: Mapped[str | None] = mapped_column(String(120))
    rule: Mapped[str | None] = mapped_column(String(64))
    # Sync: the events the lost-events fault withheld from this page (observed F4), JSON text of
    # [{"seq", "serial_number", "op_type"}] (dep_emulator.feed.lost).
    withheld: Mapped[str | None] = mapped_column(Text)
