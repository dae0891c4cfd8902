from __future__ import annotations

from sqlalchemy import CheckConstraint, Float, Integer
from sqlalchemy.orm import Mapped, mapped_column

from ..core.db import Base


class EmulatorClock(Base):
    """One row: how far the emulator's clock runs ahead of the wall clock.

    Kept in the database so that every replica agrees on "now".
    """

    __tablename__ = "emulator_clock"
    __table_args__ = (CheckConstraint("id = 1", name="single_row"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, default=1)
    offset_seconds: Mapped[float] = mapped_column(Float, nullable=False, default=0.0)
