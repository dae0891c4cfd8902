"""`DevicePropertiesAttestation` in `DeviceInformation` (device-2026.md §7), with Apple's caching.

The answer is the chain (leaf first, root omitted) the emulated Apple CA mints for a device key,
its freshness code the `DeviceAttestationNonce` bytes as sent (not hashed). No nonce, or the
nonce of the cached attestation → the cached one; a new nonce → a new attestation, but at most
one per 7 days of emulator time, otherwise the cached one (whose freshness then does not match).
Hardware that cannot attest omits the key; so does a device (or org) whose switch says `omitted`,
and `partial` / `blank` mint chains with OIDs left out or empty (attestation.schemas).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from cryptography.hazmat.primitives.asymmetric import ec
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

from . import ca
from .attestor import Attestor
from .models import DeviceAttestation

RATE = timedelta(days=7)
MAX_NONCE = 32


@dataclass
class PropertiesAttestation:
    attestor: Attestor
    cached_chain: list[bytes] | None
    cached_nonce: bytes | None
    minted_at: datetime | None
    changed: bool = False

    def answer(self, nonce: object) -> list[bytes] | None | str:
        """The chain to report; None to omit the key; a string when the nonce is unusable."""
        if nonce is not None and (not isinstance(nonce, bytes) or len(nonce) > MAX_NONCE):
            return "DeviceAttestationNonce must be data of at most 32 bytes"
        if self.attestor.capability != "attest" or self.attestor.properties == "omitted":
            return None
        cached = self.cached_chain
        if cached is not None and (nonce is None or nonce == self.cached_nonce):
            return cached
        if cached is not None and self.minted_at is not None and self.attestor.now - self.minted_at < RATE:
            return cached  # one new attestation per 7 days at most
        key = ec.generate_private_key(ec.SECP256R1())  # the device key the attestation vouches for
        self.cached_chain = self.attestor.attest(key.public_key(), nonce, properties=self.attestor.properties)
        self.cached_nonce, self.minted_at, self.changed = nonce, self.attestor.now, True
        return self.cached_chain


async def load(db: AsyncSession, device_id: int, attestor: Attestor) -> PropertiesAttestation:
    row = await db.get(DeviceAttestation, device_id)
    chain = [bytes.fromhex(c) for c in row.cached_chain] if row is not None and row.cached_chain else None
    return PropertiesAttestation(
        attestor,
        chain,
        row.cached_nonce if row is not None else None,
        row.minted_at if row is not None else None,
    )


async def save(db: AsyncSession, device_id: int, state: PropertiesAttestation) -> None:
    if not state.changed or state.cached_chain is None:
        return
    if state.attestor.created is not None and not await ca.insert_new(db, state.attestor.created):
        return  # another replica made the CA first: this chain is not cached (the next one will be)
    values = {
        "cached_chain": [c.hex() for c in state.cached_chain],
        "cached_nonce": state.cached_nonce,
        "minted_at": state.minted_at,
    }
    await db.execute(
        insert(DeviceAttestation)
        .values(device_id=device_id, tamper=None, **values)
        .on_conflict_do_update(index_elements=[DeviceAttestation.device_id], set_=values)
    )
