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


Properties = Literal["full", "partial", "blank", "omitted"]
PROPERTIES_HELP = (
    "What DevicePropertiesAttestation carries (device-2026.md §7: some devices answer with OIDs "
    "missing, values blank, or no attestation): full: every OID of the device's OS; partial: only "
    "the sepOS version and the freshness code (serial, UDID, OS and LLB versions omitted); blank: "
    "every OID with an empty value but the freshness code; omitted: the key left out of "
    "QueryResponses. ACME attestations (§6) are always full."
)


class AttestationOut(BaseModel):
    serial_number: str
    properties: Properties = Field(description=PROPERTIES_HELP)
    properties_set: bool = Field(
        description="Set on the device (else the org's device_properties_attestation)."
    )
    tamper: Tamper | None = Field(
        description="How the device's next attestations are broken (negative tests)."
    )
    cached_at: datetime | None = Field(description="When the cached DevicePropertiesAttestation was minted.")


class AttestationIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    tamper: Tamper | None = Field(
        default=None,
        description="wrong_freshness / no_freshness: the freshness code wrong or absent; "
        "identifier_mismatch: "
        "another serial and UDID; unknown_root: a chain to a root nobody trusts; other_key: a key other "
        "than the one the device uses; expired: a leaf already expired; error_payload: the device answers "
        "the ACME challenge with an error; null: honest attestations.",
    )
    properties: Properties | None = Field(
        default=None, description=PROPERTIES_HELP + " null: the org's setting. Left as it is when absent."
    )
