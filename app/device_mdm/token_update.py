"""The TokenUpdate a device held after Authenticate (`hold_token_update`, setup_state), sent now."""

from __future__ import annotations

from cryptography import x509
from sqlalchemy import update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from ..clock import service as clock
from ..core.config import Settings
from ..core.errors import ControlError
from ..device_setup.models import DeviceSetup
from . import enrollment as flow
from . import polls, records, transport
from .models import DeviceEnrollment
from .schemas import StepOut, TokenUpdateOut
from .setup_state import state_of


async def send(
    sessionmaker: async_sessionmaker[AsyncSession], *, serial: str, settings: Settings
) -> TokenUpdateOut:
    """The device sends the TokenUpdate it held after Authenticate; from then on it connects."""
    async with sessionmaker() as db, db.begin():
        device, row = await records.enrolled(db, serial)
        if row.token_update_at is not None:
            raise ControlError(
                409, "token_update_sent", f"device {serial!r} sent its TokenUpdate already: nothing is held"
            )
        until = await polls.take_lease(db, device.id)
        if until is None:
            raise ControlError(409, "poll_in_progress", f"device {serial!r} is talking to its MDM already")
        setup = await db.get(DeviceSetup, device.id)
        facts = records.facts_of(device, setup.cloud_configuration if setup is not None else {})
        identity = transport.Identity.from_pem(row.identity_certificate_pem, row.identity_key_pem)
        anchors = [x509.load_pem_x509_certificate(p.encode()) for p in row.anchors_pem]
        url, sign = row.check_in_url, row.sign_message
        message = flow.token_update_message(
            topic=row.topic,
            udid=row.udid,
            push_magic=row.push_magic,
            token=row.token,
            unlock_token=row.unlock_token,
            awaiting=row.awaiting_configuration,
        )
        device_id = device.id
    attempt = flow.Attempt()
    detail = None
    async with transport.mdm_client(
        identity, anchors, client_certificate=not sign, timeout_seconds=settings.mdm_contact_timeout_seconds
    ) as client:
        try:
            await flow.check_in(attempt, client, url, message, identity=identity, sign=sign, facts=facts)
        except flow.EnrollmentFailed as exc:
            detail = f"{exc} (the device keeps holding its TokenUpdate; send it again)"
    async with sessionmaker() as db, db.begin():
        values: dict[str, object] = {"lease_until": None}
        if detail is None:
            values["token_update_at"] = await clock.now(db)
        await db.execute(
            update(DeviceEnrollment)
            .where(DeviceEnrollment.device_id == device_id, DeviceEnrollment.lease_until == until)
            .values(**values)
        )
        await records.record(db, device_id, attempt.steps)
        after = await db.get(DeviceEnrollment, device_id)
        state = await state_of(db, after) if after is not None else None
    return TokenUpdateOut(
        serial_number=serial,
        ok=detail is None,
        detail=detail,
        setup=state,
        steps=[StepOut(**s) for s in attempt.steps],
    )
