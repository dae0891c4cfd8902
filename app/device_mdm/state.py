"""What the control API (and the console, later) reads and scripts about a managed device.

Plain functions over one transaction each. The poll loop's schedule is wall-clock time of
the database server (`clock_timestamp()`), so every replica agrees on when a poll is due,
whatever the emulator clock says (the loop is for staging, where devices run in real time).
"""

from __future__ import annotations

from cryptography import x509
from sqlalchemy import select, text
from sqlalchemy.ext.asyncio import AsyncSession

from ..core.errors import ControlError, not_found
from ..device_setup import service as setup_service
from ..devices import locking
from ..devices.models import Device
from . import account_config, setup_state, web_view
from .models import DeviceEnrollment, MdmExchange
from .schemas import EraseOut, ExchangeOut, ExchangesOut, ManagedOut


async def _device_id(db: AsyncSession, serial: str) -> int:
    device_id = None
    if locking.usable_serial(serial):
        device_id = await db.scalar(select(Device.id).where(Device.serial_number == serial))
    if device_id is None:
        raise not_found("device", serial)
    return device_id


async def _enrollment(db: AsyncSession, serial: str, *, lock: bool = False) -> DeviceEnrollment:
    device_id = await _device_id(db, serial)
    query = select(DeviceEnrollment).where(DeviceEnrollment.device_id == device_id)
    row = await db.scalar(query.with_for_update() if lock else query)
    if row is None:
        raise ControlError(409, "not_enrolled", f"device {serial!r} is not enrolled in an MDM")
    return row


async def managed(db: AsyncSession, *, serial: str) -> ManagedOut:
    row = await _enrollment(db, serial)
    cert = x509.load_pem_x509_certificate(row.identity_certificate_pem.encode())
    subject, issuer = cert.subject.rfc4514_string(), cert.issuer.rfc4514_string()
    return ManagedOut(
        serial_number=serial,
        udid=row.udid,
        enrolled_at=row.enrolled_at,
        server_url=row.server_url,
        check_in_url=row.check_in_url,
        topic=row.topic,
        sign_message=row.sign_message,
        mdm_removable=row.mdm_removable,
        identity_subject=subject,
        identity_issuer=issuer,
        awaiting_configuration=row.awaiting_configuration,
        profiles=row.profiles,
        lock=row.lock,
        not_now_remaining=row.not_now_remaining,
        account_configuration=row.account_configuration,
        accounts=account_config.accounts(row.account_configuration),
        poll_every_seconds=row.poll_every_seconds,
        next_poll_at=row.next_poll_at,
        setup=await setup_state.state_of(db, row),
    )


async def exchanges(db: AsyncSession, *, serial: str, after_id: int, limit: int) -> ExchangesOut:
    """The device's exchanges in the order they happened, oldest first, a page at a time."""
    device_id = await _device_id(db, serial)
    rows = (
        await db.scalars(
            select(MdmExchange)
            .where(MdmExchange.device_id == device_id, MdmExchange.id > after_id)
            .order_by(MdmExchange.id)
            .limit(limit + 1)
        )
    ).all()
    page = rows[:limit]
    return ExchangesOut(
        serial_number=serial,
        exchanges=[
            ExchangeOut(
                id=r.id,
                at=r.at,
                step=r.step,
                ok=r.ok,
                url=r.url,
                status=r.status,
                detail=r.detail,
                command_uuid=r.command_uuid,
                sent=r.sent,
                answered=r.answered,
            )
            for r in page
        ],
        next_after_id=page[-1].id if len(rows) > limit else None,
    )


async def schedule(db: AsyncSession, *, serial: str, every_seconds: float | None) -> ManagedOut:
    """Start (first poll now) or stop (None) the device's poll loop."""
    row = await _enrollment(db, serial, lock=True)
    row.poll_every_seconds = every_seconds
    row.next_poll_at = (await db.scalar(text("SELECT clock_timestamp()"))) if every_seconds else None
    await db.flush()
    return await managed(db, serial=serial)


async def not_now(db: AsyncSession, *, serial: str, count: int) -> ManagedOut:
    """Script the device to answer its next `count` commands with NotNow (a busy device)."""
    row = await _enrollment(db, serial, lock=True)
    row.not_now_remaining = count
    await db.flush()
    return await managed(db, serial=serial)


async def erase(db: AsyncSession, *, serial: str) -> EraseOut:
    """Erase all content and settings: the installed configuration and the MDM enrollment are
    gone (the exchange log stays); Apple's record stays. The control API and the MDM's
    EraseDevice command both end here."""
    device, had_configuration = await setup_service.erase(db, serial=serial)
    await web_view.erase(db, device_id=device.id)
    enrollment = await db.get(DeviceEnrollment, device.id)
    if enrollment is not None:
        await db.delete(enrollment)
        await db.flush()
    return EraseOut(
        serial_number=device.serial_number,
        had_configuration=had_configuration,
        was_enrolled=enrollment is not None,
    )
