"""Control-API shapes for the emulated attestation CA (ours to design)."""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

Tamper = Literal[
    "wrong_freshness",
    "no_freshness",
    "identifier_mismatch",
    "unknown_root",
    "other_key",
    "expired",
    "error_payload",
]


class AttestationOut(BaseModel):
    serial_number: str
    tamper: Tamper | None = Field(
        description="How the device's next attestations are broken (negative tests)."
    )
    cached_at: datetime | None = Field(description="When the cached DevicePropertiesAttestation was minted.")


class AttestationIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    tamper: Tamper | None = Field(
        description="wrong_freshness / no_freshness: the freshness code wrong or absent; "
        "identifier_mismatch: "
        "another serial and UDID; unknown_root: a chain to a root nobody trusts; other_key: a key other "
        "than the one the device uses; expired: a leaf already expired; error_payload: the device answers "
        "the ACME challenge with an error; null: honest attestations."
    )
