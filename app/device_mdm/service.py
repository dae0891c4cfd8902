"""A managed device: switching on into enrollment, enrollment, check-out (polls: `polls`).

The device talks to servers outside the emulator (the MDM, its SCEP CA), which may call back
into us (the DEP API) while they answer; so nothing is held open across a network call.
These functions take the sessionmaker and use short transactions: read what the device is,
talk (no transaction), then store the outcome and every exchange in one transaction. One
poll at a time per device, across replicas: a poll first takes `lease_until` in Postgres.
"""

from __future__ import annotations

from typing import Any

from cryptography import x509
from sqlalchemy import delete
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from ..clock import service as clock
from ..core.config import Settings
from ..core.errors import ControlError
from ..device_setup import service as setup_service
from ..device_setup.models import DeviceSetup
from ..device_setup.schemas import ActivateIn, MdmContactOut
from ..devices.models import Device
from . import enrollment as flow
from . import extras, first_contact, polls, records, transport, web_view
from . import profile as profiles
from .commands import Facts
from .models import DeviceEnrollment
from .schemas import ActivationOut, CheckOutOut, EnrollmentOut, ProfileCheckOut, StepOut

# --- enrollment -------------------------------------------------------------------------


async def enroll(
    sessionmaker: async_sessionmaker[AsyncSession], *, serial: str, settings: Settings
) -> EnrollmentOut:
    """Enroll an activated device: ask the MDM for its enrollment profile again, then enroll."""
    async with sessionmaker() as db, db.begin():
        device = await records.device(db, serial)
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
    first = await first_contact.run(sessionmaker, request, settings=settings, record_final=False)
    return await complete_enrollment(
        sessionmaker,
        device_id=device.id,
        contact=first.contact,
        body=first.body,
        settings=settings,
        refusal=first.failure,
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
        first = await first_contact.run(
            sessionmaker,
            mdm_request,
            settings=settings,
            psso_token=options.psso_access_token,
            record_final=not options.enroll,
        )
        result.mdm, result.updates, result.stopped = first.contact, first.updates or None, first.failure
        contact = first.contact
        if (
            contact.method == "GET"
            and first.failure is None
            and contact.error is None
            and not contact.refusal
        ):
            # the web view opens; a person or a test signs in (web_view), then the device enrolls
            result.web_view, result.enrollment = await web_view.open_view(
                sessionmaker,
                device_id=mdm_request.device_id,
                contact=contact,
                body=first.body,
                host_rule=options.web_view_host_rule,
                settings=settings,
                enroll=web_enroller(sessionmaker, settings),
            )
        if options.enroll and result.enrollment is None:
            result.enrollment = await complete_enrollment(
                sessionmaker,
                device_id=mdm_request.device_id,
                contact=contact,
                body=first.body,
                settings=settings,
                refusal=first.failure,
                hold_token_update=options.hold_token_update,
            )
    return result


def web_enroller(sessionmaker: async_sessionmaker[AsyncSession], settings: Settings) -> web_view.Enroll:
    """Enrollment from the profile a web-view page returned."""

    async def enroll(device_id: int, contact: MdmContactOut, body: bytes) -> EnrollmentOut:
        return await complete_enrollment(
            sessionmaker, device_id=device_id, contact=contact, body=body, settings=settings
        )

    return enroll


async def complete_enrollment(
    sessionmaker: async_sessionmaker[AsyncSession],
    *,
    device_id: int,
    contact: MdmContactOut,
    body: bytes | None,
    settings: Settings,
    refusal: str | None = None,
    hold_token_update: bool = False,
) -> EnrollmentOut:
    """Continue from the MDM's answer to the device's first request (activate's `enroll`);
    `refusal`: why the MDM's 403 ended Setup Assistant's enrollment (first_contact);
    `hold_token_update`: stop after Authenticate (token_update.send sends it later)."""
    async with sessionmaker() as db, db.begin():
        device = await db.get(Device, device_id)
        setup = await db.get(DeviceSetup, device_id)
        if device is None or setup is None:
            raise ControlError(409, "not_activated", "the device was erased or deleted meanwhile")
        config = dict(setup.cloud_configuration)
        facts = records.facts_of(device, config)
        serial = device.serial_number
        now = await clock.now(db)
        acme = body is not None and profiles.ACME.encode() in body  # an ACME identity asks "Apple"
        attestor = await extras.attestor(db, device_id, facts, create=acme)
    attempt = flow.Attempt()
    fetch = {"url": contact.url, "status": contact.status}  # the step's fields besides step, ok, detail
    out = EnrollmentOut(serial_number=serial, outcome="failed", steps=[])
    enrolled = None
    problem = refusal or contact.error or contact.refusal
    if problem is not None or body is None:
        attempt.fail("profile.fetch", problem or "the MDM gave no profile", **fetch)
    elif contact.method == "GET" and not (contact.content_type or "").startswith(web_view.ASPEN):
        attempt.fail(
            "profile.fetch",
            "ConfigurationWebURL opens a web view: the device enrolls once a user signs in there "
            "(the console's device page, or POST .../web-view/submit and .../web-view/follow)",
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
                pending_retries=settings.scep_pending_retries,
                hold_token_update=hold_token_update,
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
        await records.record(db, device_id, attempt.steps)
    out.steps = [StepOut(**s) for s in attempt.steps]
    if enrolled is not None:
        out.outcome = "enrolled" if enrolled.token_update_sent else "authenticated"
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
    now = await clock.now(db)
    inserted = await db.scalar(
        insert(DeviceEnrollment)
        .values(
            device_id=device_id,
            udid=facts.udid,
            enrolled_at=now,
            token_update_at=now if enrolled.token_update_sent else None,
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


# --- check-out --------------------------------------------------------------------------


async def check_out(
    sessionmaker: async_sessionmaker[AsyncSession], *, serial: str, settings: Settings
) -> CheckOutOut:
    """The user removes the MDM profile (only when removable): CheckOut if the payload asks for it."""
    async with sessionmaker() as db, db.begin():
        device, row = await records.enrolled(db, serial)
        if not row.mdm_removable:
            raise ControlError(
                409, "not_removable", f"device {serial!r}'s MDM profile cannot be removed (IsMDMUnremovable)"
            )
        if await polls.take_lease(db, device.id) is None:
            raise ControlError(409, "poll_in_progress", f"device {serial!r} is talking to its MDM already")
        facts = records.facts_of(device, {})
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
        await records.record(db, device.id, attempt.steps)
    return CheckOutOut(serial_number=serial, sent_check_out=send, steps=[StepOut(**s) for s in attempt.steps])
