from __future__ import annotations

from datetime import datetime

from sqlalchemy import BigInteger, Boolean, ForeignKey, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from ..core.db import Base


class AppleCareContract(Base):
    """An AppleCare+ contract of a device, with the attributes of Apple's `AppleCareCoverage`
    (Apple Business API): `GET /v1/orgDevices/{id}/appleCareCoverage` lists it by its agreement
    number, after the Limited Warranty every device has (dep_emulator.abm.org_devices)."""

    __tablename__ = "apple_care_contract"
    __table_args__ = (
        UniqueConstraint("device_id", "agreement_number", name="uq_apple_care_contract_agreement"),
    )

    id: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    device_id: Mapped[int] = mapped_column(BigInteger, ForeignKey("device.id", ondelete="CASCADE"))
    agreement_number: Mapped[str] = mapped_column(String(64))
    status: Mapped[str] = mapped_column(String(16))  # ACTIVE | INACTIVE
    payment_type: Mapped[str] = mapped_column(
        String(32)
    )  # ABE_SUBSCRIPTION | PAID_UP_FRONT | SUBSCRIPTION | NONE
    description: Mapped[str] = mapped_column(String(200))
    start_at: Mapped[datetime]
    end_at: Mapped[datetime | None]
    is_renewable: Mapped[bool] = mapped_column(Boolean)
    is_canceled: Mapped[bool] = mapped_column(Boolean)
    cancel_at: Mapped[datetime | None]
    created_at: Mapped[datetime]
