from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import BigInteger, Float, ForeignKey, Index, Integer, String
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import Mapped, mapped_column

from ..core.db import Base


class FaultScript(Base):
    """A depsim-style ordered list of responses for one endpoint, consumed across replicas.

    `step` is the index of the current entry of `responses` and `used` how many times that
    entry has fired; both only move inside one `UPDATE ... RETURNING` (dep_emulator.faults.service),
    so each unit fires exactly once whichever replica serves the request. With
    `probability` set the script never runs out: a matching request fires with that
    probability and the steps wrap around.
    """

    __tablename__ = "fault_script"
    __table_args__ = (Index("ix_fault_script_endpoint", "path", "method"),)

    id: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    method: Mapped[str] = mapped_column(String(10))  # "*" matches every method
    path: Mapped[str] = mapped_column(String(300))
    server_id: Mapped[int | None] = mapped_column(ForeignKey("mdm_server.id", ondelete="CASCADE"))
    responses: Mapped[list[dict[str, Any]]] = mapped_column(JSONB)
    probability: Mapped[float | None] = mapped_column(Float)
    step: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    used: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    fired: Mapped[int] = mapped_column(BigInteger, default=0, server_default="0")
    created_at: Mapped[datetime]
    last_fired_at: Mapped[datetime | None]
