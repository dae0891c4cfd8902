"""What a device carries into enrollment to get attestations from the emulated CA without a
database transaction open across its network calls (device-2026.md §6.2 step 5)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from cryptography.hazmat.primitives.asymmetric import ec
from sqlalchemy.ext.asyncio import AsyncSession

from ..clock import service as clock
from . import ca, service


@dataclass
class Attestor:
    authority: ca.Authority | None  # None: the CA does not exist yet and was not wanted (no ACME)
    now: datetime
    device: ca.Subject
    capability: str  # attest | ignore (device-2026.md §6.1)
    tamper: str | None
    properties: str = "full"  # what DevicePropertiesAttestation carries (§7; attestation.schemas)

    created: dict[str, object] | None = None  # a CA made during a poll, stored after it (properties.save)

    def attest(
        self, public_key: ec.EllipticCurvePublicKey, freshness: bytes | None, *, properties: str = "full"
    ) -> list[bytes]:
        """[leaf, sub CA]; `properties` partial/blank: OIDs omitted or left empty (§7 only)."""
        if self.authority is None:  # first use, inside a poll: made now, stored with the poll's outcome
            self.created = ca.create(self.now)
            self.authority = ca.authority(self.created)
        return ca.mint(
            self.authority,
            self.now,
            device=self.device,
            public_key=public_key,
            freshness=freshness,
            tamper=self.tamper,
            properties=properties,
        )


async def attestor(
    db: AsyncSession,
    *,
    device_id: int,
    device: ca.Subject,
    device_family: str,
    product: str,
    create: bool = True,
) -> Attestor:
    """The device's attestor; with `create` False the CA is only read (a failed enrollment must
    leave the database as it was, so only an ACME profile makes the CA exist)."""
    return Attestor(
        await ca.load(db) if create else await ca.existing(db),
        await clock.now(db),
        device,
        ca.capability(device_family, product),
        await service.tamper_of(db, device_id),
        await service.properties_of(db, device_id),
    )
