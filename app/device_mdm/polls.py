"""Polls: a woken device connects to its MDM and runs its commands, one poll at a time per device.

Across replicas: a poll first takes `lease_until` in Postgres (`take_lease`); the opt-in poll
loop claims due devices with `claim_due` (FOR UPDATE SKIP LOCKED). Nothing is held open across
the conversation: read the device, talk (no transaction), store the outcome and the exchanges.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from cryptography import x509
from sqlalchemy import delete, func, text, update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from ..clock import service as clock
from ..core.config import Settings
from ..core.errors import ControlError
from ..device_setup.models import DeviceSetup
from ..devices.models import Device
from . import extras, state, transport
from .commands import Effect, Managed
from .ddm import sync as ddm_sync
from .models import DeviceEnrollment
from .poll import converse
from .records import enrolled, facts_of, record
from .schemas import PollOut, StepOut

LEASE_SECONDS = 300  # a poll that crashed frees its device after this long


@dataclass(frozen=True)
class Lease:
    device_id: int
    until: datetime


async def take_lease(db: AsyncSession, device_id: int) -> datetime | None:
    until: datetime | None = await db.scalar(
        text(
            "UPDATE device_enrollment SET lease_until = clock_timestamp() + make_interval(secs => :lease) "
            "WHERE device_id = :id AND (lease_until IS NULL OR lease_until < clock_timestamp()) "
            "RETURNING lease_until"
        ),
        {"id": device_id, "lease": LEASE_SECONDS},
    )
    return until


async def claim_due(db: AsyncSession) -> Lease | None:
    """The next device whose poll loop is due, leased and rescheduled (SKIP LOCKED: one replica
    gets each due poll)."""
    row = (
        await db.execute(
            text(
                "UPDATE device_enrollment SET "
                "next_poll_at = clock_timestamp() + make_interval(secs => poll_every_seconds), "
                "lease_until = clock_timestamp() + make_interval(secs => :lease) "
                "WHERE device_id = (SELECT device_id FROM device_enrollment "
                "  WHERE next_poll_at <= clock_timestamp() AND token_update_at IS NOT NULL "
                "  AND (lease_until IS NULL OR lease_until < clock_timestamp()) "
                "  ORDER BY next_poll_at LIMIT 1 FOR UPDATE SKIP LOCKED) "
                "RETURNING device_id, lease_until"
            ),
            {"lease": LEASE_SECONDS},
        )
    ).first()
    return Lease(row[0], row[1]) if row is not None else None


async def poll(sessionmaker: async_sessionmaker[AsyncSession], *, serial: str, settings: Settings) -> PollOut:
    """Wake the device: it connects to its MDM and runs every command the MDM has for it."""
    async with sessionmaker() as db, db.begin():
        device, row = await enrolled(db, serial)
        if row.token_update_at is None:  # setup_state: Authenticate sent, TokenUpdate held
            raise ControlError(
                409,
                "token_update_pending",
                f"device {serial!r} sent Authenticate but holds its TokenUpdate: it does not connect to "
                "its MDM before it has sent it (POST .../mdm/token-update)",
            )
        until = await take_lease(db, device.id)
        if until is None:
            raise ControlError(409, "poll_in_progress", f"device {serial!r} is talking to its MDM already")
    return await run_poll(sessionmaker, Lease(device.id, until), settings=settings)


async def run_poll(
    sessionmaker: async_sessionmaker[AsyncSession], lease: Lease, *, settings: Settings
) -> PollOut:
    """The poll of a leased device; stores its outcome and frees the lease."""
    async with sessionmaker() as db, db.begin():
        device = await db.get(Device, lease.device_id)
        row = await db.get(DeviceEnrollment, lease.device_id)
        setup = await db.get(DeviceSetup, lease.device_id)
        if device is None or row is None:  # erased (or deleted) since the lease was taken
            raise ControlError(409, "not_enrolled", "the device was erased or deleted meanwhile")
        facts = facts_of(device, setup.cloud_configuration if setup is not None else {})
        serial = device.serial_number
        identity = transport.Identity.from_pem(row.identity_certificate_pem, row.identity_key_pem)
        anchors = [x509.load_pem_x509_certificate(p.encode()) for p in row.anchors_pem]
        managed = Managed(
            awaiting_configuration=row.awaiting_configuration,
            profiles=list(row.profiles),
            enrollment_profile_identifier=row.enrollment_profile_identifier,
            identity_certificate_pem=row.identity_certificate_pem,
            anchors_pem=list(row.anchors_pem),
            lock=row.lock,
            not_now_remaining=row.not_now_remaining,
            account_configuration=row.account_configuration,
        )
        reports_before = await extras.load(db, lease.device_id, facts, managed)  # DDM, attestation cache
        server_url, sign, check_in_url = row.server_url, row.sign_message, row.check_in_url
        was_awaiting = row.awaiting_configuration
    async with transport.mdm_client(
        identity, anchors, client_certificate=not sign, timeout_seconds=settings.mdm_contact_timeout_seconds
    ) as client:
        talk = await converse(
            client,
            server_url=server_url,
            identity=identity,
            sign=sign,
            facts=facts,
            managed=managed,
            max_commands=settings.mdm_max_commands_per_poll,
        )
        if talk.effect is Effect.NONE and managed.ddm and managed.ddm.wants_check_in:  # ddm/sync.py
            channel = ddm_sync.Channel(
                client, check_in_url, identity, sign, facts, anchors, settings.mdm_contact_timeout_seconds
            )
            channel.attestor = managed.attestation.attestor if managed.attestation else None
            await ddm_sync.run(channel, managed.ddm, managed.profiles)
            talk.steps += channel.steps
    outcome = {Effect.ERASE: "erased", Effect.RESTART: "restarted", Effect.UNENROLL: "unenrolled"}.get(
        talk.effect, "stopped" if talk.problem else "idle"
    )
    async with sessionmaker() as db, db.begin():
        if talk.effect is Effect.ERASE:
            await state.erase(db, serial=serial)
        elif talk.effect is Effect.UNENROLL:
            await db.execute(delete(DeviceEnrollment).where(DeviceEnrollment.device_id == lease.device_id))
        else:
            await db.execute(
                update(DeviceEnrollment)
                .where(
                    DeviceEnrollment.device_id == lease.device_id, DeviceEnrollment.lease_until == lease.until
                )
                .values(
                    awaiting_configuration=managed.awaiting_configuration,
                    profiles=managed.profiles,
                    lock=managed.lock,
                    account_configuration=managed.account_configuration,
                    configured_at=(
                        await clock.now(db)
                        if was_awaiting and not managed.awaiting_configuration
                        else DeviceEnrollment.configured_at
                    ),
                    not_now_remaining=func.greatest(
                        0, DeviceEnrollment.not_now_remaining - talk.not_now_used
                    ),
                    lease_until=None,
                )
            )
            await extras.save(db, lease.device_id, managed, reports_before=reports_before)
        await record(db, lease.device_id, talk.steps)
    return PollOut(
        serial_number=serial,
        outcome=outcome,
        commands=talk.commands,
        problem=talk.problem,
        steps=[StepOut(**s) for s in talk.steps],
    )
