"""What a poll loads besides the enrollment row, and saves after: the device's DDM state
(ddm/) and its DevicePropertiesAttestation cache (dep_emulator.attestation.properties)."""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncSession

from ..attestation import attestor as attestation
from ..attestation import ca as attestation_ca
from ..attestation import properties
from ..attestation.ca import Subject
from .commands import Facts, Managed
from .ddm import store as ddm_store


async def attestor(
    db: AsyncSession, device_id: int, facts: Facts, *, create: bool = True
) -> attestation.Attestor:
    """What the device needs to ask the emulated Apple CA for attestations (ACME, §7)."""
    return await attestation.attestor(
        db,
        device_id=device_id,
        device=Subject(facts.serial_number, facts.udid, facts.os_version),
        device_family=facts.device_family,
        product=facts.product,
        create=create,
    )


async def load(db: AsyncSession, device_id: int, facts: Facts, managed: Managed) -> int:
    """Fill `managed.ddm` and `managed.attestation`; the status reports sent so far."""
    managed.ddm = await ddm_store.load(db, device_id, os_version=facts.os_version)
    managed.attestation = await properties.load(
        db, device_id, await attestor(db, device_id, facts, create=False)
    )
    return managed.ddm.reports_sent


async def save(db: AsyncSession, device_id: int, managed: Managed, *, reports_before: int) -> None:
    if managed.ddm is not None:
        await ddm_store.save(db, device_id, managed.ddm, reports_before=reports_before)
    if managed.attestation is not None:
        created = managed.attestation.attestor.created  # the CA made in this poll (an ACME asset)
        if created is not None and not managed.attestation.changed:
            await attestation_ca.insert_new(db, created)
        await properties.save(db, device_id, managed.attestation)
