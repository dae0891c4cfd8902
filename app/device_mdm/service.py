"""A managed device: enrollment, polls, check-out, its state and its exchange log.

The device talks to servers outside the emulator (the MDM, its SCEP CA), which may call back
into us (the DEP API) while they answer; so nothing is held open across a network call.
These functions take the sessionmaker and use short transactions: read what the device is,
talk (no transaction), then store the outcome and every exchange in one transaction. One
poll at a time per device, across replicas: a poll first takes `lease_until` in Postgres.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from cryptography import x509
from sqlalchemy import delete, func, select, text, update
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from ..clock import service as clock
from ..core.config import Settings
from ..core.errors import ControlError, not_found
from ..device_setup import machine_info
from ..device_setup import service as setup_service
from ..device_setup.models import DeviceSetup
from ..device_setup.schemas import ActivateIn, MdmContactOut
from ..devices import locking
from ..devices.models import Device
from . import enrollment as flow
from . import extras, state, transport
from . import profile as profiles
from .commands import Effect, Facts, Managed
from .ddm import sync as ddm_sync
from .models import DeviceEnrollment, MdmExchange
from .poll import converse
from .schemas import ActivationOut, CheckOutOut, EnrollmentOut, PollOut, ProfileCheckOut, StepOut

LEASE_SECONDS = 300  # a poll that crashed frees its device after this long


def facts_of(device: Device, config: dict[str, Any]) -> Facts:
    info = machine_info.machine_info(device, language="en")
    return Facts(
        serial_number=device.serial_number,
        udid=info["UDID"],
        model=device.model,
        product=info["PRODUCT"],
        device_family=device.device_family,
        os=device.os,
        os_version=info["OS_VERSION"],
        build=info["VERSION"],
        imei=info.get("IMEI"),
        meid=info.get("MEID"),
        wifi_mac=device.wifi_mac_address,
        bluetooth_mac=device.bluetooth_mac_address,
        ethernet_mac=device.ethernet_mac_address,
        is_supervised=bool(config.get("IsSupervised", False)),
    )


async def _device(db: AsyncSession, serial: str) -> Device:
    device = None
    if locking.usable_serial(serial):
        device = await db.scalar(select(Device).where(Device.serial_number == serial))
    if device is None:
        raise not_found("device", serial)
    return device


async def _record(db: AsyncSession, device_id: int, steps: list[dict[str, Any]]) -> None:
    """Store the steps, each at the emulator time it happened (its wall time plus the offset)."""
    offset = timedelta(seconds=await clock.offset_seconds(db))
    for step in steps:
        at = step.get("wall_at", clock.wall_now()) + offset
        db.add(MdmExchange(device_id=device_id, at=at, **StepOut(**step).model_dump()))
    await db.flush()


# --- enrollment -------------------------------------------------------------------------


async def enroll(
    sessionmaker: async_sessionmaker[AsyncSession], *, serial: str, settings: Settings
) -> EnrollmentOut:
    """Enroll an activated device: ask the MDM for its enrollment profile again, then enroll."""
    async with sessionmaker() as db, db.begin():
        device = await _device(db, serial)
        setup = await db.get(DeviceSetup, device.id)
        if setup is None:
            raise ControlError(
                409, "not_activated", f"device {serial!r} has no cloud configuration: activate it first"
            )
        if await db.get(DeviceEnrollment, device.id) is not None:
            raise ControlError(409, "already_enrolled", f"device {serial!r} is enrolled: erase it first")
        language = str(setup.cloud_configuration.get("Language") or "en")
        request = await setup_service.first_mdm_request(
            db, device, setup.cloud_configuration, language=language
        )
    contact, body = await setup_service.send_to_mdm(request, settings=settings)
    return await complete_enrollment(
        sessionmaker, device_id=device.id, contact=contact, body=body, settings=settings
    )


async def switch_on(
    db: AsyncSession,
    sessionmaker: async_sessionmaker[AsyncSession],
    *,
    serial: str,
    options: ActivateIn,
    settings: Settings,
) -> ActivationOut:
    """Switch the device on (control API and console): what it gets from Apple, with `contact_mdm`
    the MDM's answer, with `enroll` the enrollment that follows.

    Apple's side is committed (and its locks released) before the device calls the MDM, so the MDM
    may call the DEP API about this device while it answers."""
    setup, mdm_request = await setup_service.activate(db, serial=serial, options=options)
    result = ActivationOut(**dict(setup))
    if mdm_request is not None:
        await db.commit()
        result.mdm, answer = await setup_service.send_to_mdm(mdm_request, settings=settings)
        if options.enroll:
            result.enrollment = await complete_enrollment(
                sessionmaker,
                device_id=mdm_request.device_id,
                contact=result.mdm,
                body=answer,
                settings=settings,
            )
    return result


async def complete_enrollment(
    sessionmaker: async_sessionmaker[AsyncSession],
    *,
    device_id: int,
    contact: MdmContactOut,
    body: bytes | None,
    settings: Settings,
) -> EnrollmentOut:
    """Continue from the MDM's answer to the device's first request (activate's `enroll`)."""
    async with sessionmaker() as db, db.begin():
        device = await db.get(Device, device_id)
        setup = await db.get(DeviceSetup, device_id)
        if device is None or setup is None:
            raise ControlError(409, "not_activated", "the device was erased or deleted meanwhile")
        config = dict(setup.cloud_configuration)
        facts = facts_of(device, config)
        serial = device.serial_number
        now = await clock.now(db)
        acme = body is not None and profiles.ACME.encode() in body  # an ACME identity asks "Apple"
        attestor = await extras.attestor(db, device_id, facts, create=acme)
    attempt = flow.Attempt()
    fetch = {"url": contact.url, "status": contact.status}  # the step's fields besides step, ok, detail
    out = EnrollmentOut(serial_number=serial, outcome="failed", steps=[])
    enrolled = None
    if contact.error is not None:
        attempt.fail("profile.fetch", f"the MDM did not answer: {contact.error}", **fetch)
    elif contact.status != 200 or body is None:
        attempt.fail("profile.fetch", f"the MDM answered HTTP {contact.status} instead of a profile", **fetch)
    elif contact.method == "GET":
        attempt.fail(
            "profile.fetch",
            "ConfigurationWebURL opens a web view (a user signs in there); enroll needs a profile "
            "from ConfigurationURL",
            **fetch,
        )
    else:
        attempt.add({"step": "profile.fetch", "ok": True, "answered": contact.content_type} | fetch)
        try:
            enrolled = await flow.enroll(
                attempt,
                body,
                facts=facts,
                config=config,
                timeout_seconds=settings.mdm_contact_timeout_seconds,
                now=now,
                attestor=attestor,
            )
        except flow.EnrollmentFailed as exc:
            out.failure = str(exc)
    if attempt.profile is not None:
        p = attempt.profile
        out.profile = ProfileCheckOut(
            signed=p.signed,
            signer=p.signer,
            signature_valid=p.signature_valid,
            payload_identifier=p.identifier,
        )
    if out.failure is None and enrolled is None:
        out.failure = attempt.steps[-1]["detail"]
    async with sessionmaker() as db, db.begin():
        if enrolled is not None and not await _store(db, device_id, enrolled, config=config, facts=facts):
            enrolled = None
            attempt.fail("store", "the device was enrolled by another request meanwhile")
            out.failure = attempt.steps[-1]["detail"]
        await _record(db, device_id, attempt.steps)
    out.steps = [StepOut(**s) for s in attempt.steps]
    if enrolled is not None:
        out.outcome = "enrolled"
        out.identity_subject = enrolled.identity.certificate.subject.rfc4514_string()
        out.identity_issuer = enrolled.identity.certificate.issuer.rfc4514_string()
        out.awaiting_configuration = enrolled.awaiting_configuration
    return out


async def _store(
    db: AsyncSession, device_id: int, enrolled: flow.Enrolled, *, config: dict[str, Any], facts: Facts
) -> bool:
    if await db.get(DeviceSetup, device_id) is None:
        return False  # erased while enrolling
    cert_pem, key_pem = enrolled.identity.pem()
    mdm = enrolled.mdm
    inserted = await db.scalar(
        insert(DeviceEnrollment)
        .values(
            device_id=device_id,
            udid=facts.udid,
            enrolled_at=await clock.now(db),
            server_url=mdm["ServerURL"],
            check_in_url=str(mdm.get("CheckInURL") or mdm["ServerURL"]),
            topic=mdm["Topic"],
            sign_message=bool(mdm.get("SignMessage", False)),
            check_out_when_removed=bool(mdm.get("CheckOutWhenRemoved", False)),
            mdm_removable=not config.get("IsMDMUnremovable", False),
            identity_certificate_pem=cert_pem,
            identity_key_pem=key_pem,
            anchors_pem=[flow.pem(a) for a in enrolled.anchors],
            push_magic=enrolled.push_magic,
            token=enrolled.token,
            unlock_token=enrolled.unlock_token,
            awaiting_configuration=enrolled.awaiting_configuration,
            enrollment_profile_identifier=enrolled.profile.identifier,
            profiles=[enrolled.profile.summary()],
            lock=None,
            not_now_remaining=0,
        )
        .on_conflict_do_nothing(index_elements=[DeviceEnrollment.device_id])
        .returning(DeviceEnrollment.device_id)
    )
    return inserted is not None


# --- polls ------------------------------------------------------------------------------


@dataclass(frozen=True)
class _Lease:
    device_id: int
    until: datetime


async def _take_lease(db: AsyncSession, device_id: int) -> datetime | None:
    until: datetime | None = await db.scalar(
        text(
            "UPDATE device_enrollment SET lease_until = clock_timestamp() + make_interval(secs => :lease) "
            "WHERE device_id = :id AND (lease_until IS NULL OR lease_until < clock_timestamp()) "
            "RETURNING lease_until"
        ),
        {"id": device_id, "lease": LEASE_SECONDS},
    )
    return until


async def claim_due(db: AsyncSession) -> _Lease | None:
    """The next device whose poll loop is due, leased and rescheduled (SKIP LOCKED: one replica
    gets each due poll)."""
    row = (
        await db.execute(
            text(
                "UPDATE device_enrollment SET "
                "next_poll_at = clock_timestamp() + make_interval(secs => poll_every_seconds), "
                "lease_until = clock_timestamp() + make_interval(secs => :lease) "
                "WHERE device_id = (SELECT device_id FROM device_enrollment "
                "  WHERE next_poll_at <= clock_timestamp() "
                "  AND (lease_until IS NULL OR lease_until < clock_timestamp()) "
                "  ORDER BY next_poll_at LIMIT 1 FOR UPDATE SKIP LOCKED) "
                "RETURNING device_id, lease_until"
            ),
            {"lease": LEASE_SECONDS},
        )
    ).first()
    return _Lease(row[0], row[1]) if row is not None else None


async def _enrolled(db: AsyncSession, serial: str) -> tuple[Device, DeviceEnrollment]:
    device = await _device(db, serial)
    enrollment = await db.get(DeviceEnrollment, device.id)
    if enrollment is None:
        raise ControlError(409, "not_enrolled", f"device {serial!r} is not enrolled in an MDM")
    return device, enrollment


async def poll(sessionmaker: async_sessionmaker[AsyncSession], *, serial: str, settings: Settings) -> PollOut:
    """Wake the device: it connects to its MDM and runs every command the MDM has for it."""
    async with sessionmaker() as db, db.begin():
        device, _ = await _enrolled(db, serial)
        until = await _take_lease(db, device.id)
        if until is None:
            raise ControlError(409, "poll_in_progress", f"device {serial!r} is talking to its MDM already")
    return await run_poll(sessionmaker, _Lease(device.id, until), settings=settings)


async def run_poll(
    sessionmaker: async_sessionmaker[AsyncSession], lease: _Lease, *, settings: Settings
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
        )
        reports_before = await extras.load(db, lease.device_id, facts, managed)  # DDM, attestation cache
        server_url, sign, check_in_url = row.server_url, row.sign_message, row.check_in_url
    async with transport.mdm_client(
        identity, anchors, client_certificate=not sign, timeout_seconds=settings.mdm_contact_timeout_seconds
    ) as client:
        talk = await converse(
            client, server_url=server_url, identity=identity, sign=sign, facts=facts, managed=managed
        )
        if talk.effect is Effect.NONE and managed.ddm and managed.ddm.wants_check_in:  # ddm/sync.py
            channel = ddm_sync.Channel(
                client, check_in_url, identity, sign, facts, anchors, settings.mdm_contact_timeout_seconds
            )
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
                    not_now_remaining=func.greatest(
                        0, DeviceEnrollment.not_now_remaining - talk.not_now_used
                    ),
                    lease_until=None,
                )
            )
            await extras.save(db, lease.device_id, managed, reports_before=reports_before)
        await _record(db, lease.device_id, talk.steps)
    return PollOut(
        serial_number=serial,
        outcome=outcome,
        commands=talk.commands,
        problem=talk.problem,
        steps=[StepOut(**s) for s in talk.steps],
    )


# --- check-out --------------------------------------------------------------------------


async def check_out(
    sessionmaker: async_sessionmaker[AsyncSession], *, serial: str, settings: Settings
) -> CheckOutOut:
    """The user removes the MDM profile (only when removable): CheckOut if the payload asks for it."""
    async with sessionmaker() as db, db.begin():
        device, row = await _enrolled(db, serial)
        if not row.mdm_removable:
            raise ControlError(
                409, "not_removable", f"device {serial!r}'s MDM profile cannot be removed (IsMDMUnremovable)"
            )
        if await _take_lease(db, device.id) is None:
            raise ControlError(409, "poll_in_progress", f"device {serial!r} is talking to its MDM already")
        facts = facts_of(device, {})
        identity = transport.Identity.from_pem(row.identity_certificate_pem, row.identity_key_pem)
        anchors = [x509.load_pem_x509_certificate(p.encode()) for p in row.anchors_pem]
        url, sign, topic, send = row.check_in_url, row.sign_message, row.topic, row.check_out_when_removed
    attempt = flow.Attempt()
    if send:
        message = {"MessageType": "CheckOut", "Topic": topic, "UDID": facts.udid}
        async with transport.mdm_client(
            identity,
            anchors,
            client_certificate=not sign,
            timeout_seconds=settings.mdm_contact_timeout_seconds,
        ) as client:
            try:
                await flow.check_in(attempt, client, url, message, identity=identity, sign=sign, facts=facts)
            except flow.EnrollmentFailed:
                pass  # the profile is removed either way; the failure is in the steps
    async with sessionmaker() as db, db.begin():
        await db.execute(delete(DeviceEnrollment).where(DeviceEnrollment.device_id == device.id))
        await _record(db, device.id, attempt.steps)
    return CheckOutOut(serial_number=serial, sent_check_out=send, steps=[StepOut(**s) for s in attempt.steps])
