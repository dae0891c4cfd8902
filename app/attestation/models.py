from __future__ import annotations

from datetime import datetime

from sqlalchemy import BigInteger, CheckConstraint, ForeignKey, Integer, LargeBinary, String, Text
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import Mapped, mapped_column

from ..core.db import Base


class AttestationCA(Base):
    """The emulated Apple Enterprise Attestation root and sub CA (one row, P-384), shared by every
    replica so an ACME server under test trusts one root: `GET /emulator/v1/attestation-ca`."""

    __tablename__ = "attestation_ca"
    __table_args__ = (CheckConstraint("id = 1", name="single_row"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, default=1)
    root_pem: Mapped[str] = mapped_column(Text)
    root_key_pem: Mapped[str] = mapped_column(Text)
    intermediate_pem: Mapped[str] = mapped_column(Text)
    intermediate_key_pem: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime]


class DeviceAttestation(Base):
    """A device's attestation switches and its cached DevicePropertiesAttestation (§7)."""

    __tablename__ = "device_attestation"

    device_id: Mapped[int] = mapped_column(
        BigInteger, ForeignKey("device.id", ondelete="CASCADE"), primary_key=True
    )
    tamper: Mapped[str | None] = mapped_column(String(40))
    # DevicePropertiesAttestation as full/partial/blank/omitted (§7); None: the org's setting
    properties: Mapped[str | None] = mapped_column(String(16))
    cached_chain: Mapped[list[str] | None] = mapped_column(JSONB)  # hex DER, leaf first
    cached_nonce: Mapped[bytes | None] = mapped_column(LargeBinary)
    minted_at: Mapped[datetime | None]
