from __future__ import annotations

from datetime import datetime

from sqlalchemy import BigInteger, ForeignKey, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from ..core.db import Base


class ActivationLock(Base):
    """Organisation Activation Lock state of one device (spec §6.6).

    `locked_at` is None while the row only carries scripted failures (`fail_remaining`):
    the next N lock requests for the device answer FAILED.
    """

    __tablename__ = "activation_lock"

    device_id: Mapped[int] = mapped_column(
        BigInteger, ForeignKey("device.id", ondelete="CASCADE"), primary_key=True
    )
    locked_at: Mapped[datetime | None]
    server_id: Mapped[int | None] = mapped_column(ForeignKey("mdm_server.id", ondelete="SET NULL"))
    # Hex PBKDF2 hash of the bypass code as the MDM sent it; None: locked to the server's admin.
    escrow_key: Mapped[str | None] = mapped_column(Text)
    locked_to: Mapped[str | None] = mapped_column(String(250))
    lost_message: Mapped[str | None] = mapped_column(Text)
    fail_remaining: Mapped[int] = mapped_column(Integer, default=0)
