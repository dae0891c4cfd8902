"""Control API: a managed device (enroll, poll, check out, its state, its exchanges, its scripts).

These handlers take the sessionmaker rather than a request transaction: the device talks to
the MDM between short transactions (`service`), never inside one.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Query, Request
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from ..core.db import DbSession
from ..core.dep import SettingsDep
from ..core.openapi import control_errors
from ..device_setup.schemas import ActivateIn
from . import polls, service, state, token_update
from .schemas import (
    ActivationOut,
    CheckOutOut,
    EnrollmentOut,
    EraseOut,
    ExchangesOut,
    ManagedOut,
    NotNowIn,
    PollOut,
    ScheduleIn,
    TokenUpdateOut,
)

router = APIRouter(tags=["managed device"])


def get_sessionmaker(request: Request) -> async_sessionmaker[AsyncSession]:
    sessionmaker: async_sessionmaker[AsyncSession] = request.app.state.sessionmaker
    return sessionmaker


Sessions = Annotated[async_sessionmaker[AsyncSession], Depends(get_sessionmaker)]


# Switching on and erasing span Apple's side (dep_emulator.device_setup) and the MDM's, so they
# live here, where both are known; they keep their "device setup" tag (a router of their own, since
# route tags add to a router's).
setup_router = APIRouter(tags=["device setup"])


@setup_router.post(
    "/devices/{serial}/activate",
    response_model=ActivationOut,
    response_model_exclude_none=True,
    responses=control_errors(409),  # not_activated: with enroll, erased while the MDM answered
)
async def activate(
    serial: str, db: DbSession, sessions: Sessions, settings: SettingsDep, body: ActivateIn | None = None
) -> ActivationOut:
    """Switch the device on: what it gets from Apple, with `contact_mdm` what the MDM answers,
    with `enroll` the enrollment that follows."""
    return await service.switch_on(
        db, sessions, serial=serial, options=body or ActivateIn(), settings=settings
    )


@setup_router.post("/devices/{serial}/erase", response_model=EraseOut)
async def erase(serial: str, db: DbSession) -> EraseOut:
    """Erase the device: its next activation asks Apple again."""
    return await state.erase(db, serial=serial)


@router.post(
    "/devices/{serial}/enroll",
    response_model=EnrollmentOut,
    response_model_exclude_none=True,
    responses=control_errors(409),  # not_activated, already_enrolled
)
async def enroll(serial: str, sessions: Sessions, settings: SettingsDep) -> EnrollmentOut:
    """Enroll an activated device in its MDM: profile, identity (SCEP/PKCS#12), Authenticate, TokenUpdate."""
    return await service.enroll(sessions, serial=serial, settings=settings)


@router.post(
    "/devices/{serial}/mdm/poll",
    response_model=PollOut,
    response_model_exclude_none=True,
    responses=control_errors(409),  # not_enrolled, poll_in_progress, token_update_pending
)
async def poll(serial: str, sessions: Sessions, settings: SettingsDep) -> PollOut:
    """Wake the device as an APNs push would: Idle, then every command the MDM has, answered."""
    return await polls.poll(sessions, serial=serial, settings=settings)


@router.post(
    "/devices/{serial}/mdm/token-update",
    response_model=TokenUpdateOut,
    response_model_exclude_none=True,
    responses=control_errors(409),  # not_enrolled, token_update_sent, poll_in_progress
)
async def send_token_update(serial: str, sessions: Sessions, settings: SettingsDep) -> TokenUpdateOut:
    """The device sends the TokenUpdate it held after Authenticate (activate's hold_token_update)."""
    return await token_update.send(sessions, serial=serial, settings=settings)


@router.post(
    "/devices/{serial}/mdm/checkout",
    response_model=CheckOutOut,
    response_model_exclude_none=True,
    responses=control_errors(409),  # not_enrolled, not_removable, poll_in_progress
)
async def check_out(serial: str, sessions: Sessions, settings: SettingsDep) -> CheckOutOut:
    """The user removes the MDM profile (only if removable); CheckOut is sent if the payload asks."""
    return await service.check_out(sessions, serial=serial, settings=settings)


@router.get(
    "/devices/{serial}/mdm",
    response_model=ManagedOut,
    responses=control_errors(409),  # not_enrolled
)
async def managed(serial: str, db: DbSession) -> ManagedOut:
    """The device's enrollment: identity, Await Configuration, installed profiles, lock, poll loop."""
    return await state.managed(db, serial=serial)


@router.get("/devices/{serial}/mdm/exchanges", response_model=ExchangesOut)
async def exchanges(
    serial: str,
    db: DbSession,
    after_id: Annotated[int, Query(ge=0)] = 0,
    limit: Annotated[int, Query(ge=1, le=500)] = 100,
) -> ExchangesOut:
    """Every exchange with the MDM and SCEP server, oldest first (kept across erases)."""
    return await state.exchanges(db, serial=serial, after_id=after_id, limit=limit)


@router.put(
    "/devices/{serial}/mdm/schedule",
    response_model=ManagedOut,
    responses=control_errors(409),  # not_enrolled
)
async def schedule(serial: str, body: ScheduleIn, db: DbSession) -> ManagedOut:
    """Opt in to the poll loop: the device polls every N seconds (for staging; APNs is not emulated)."""
    return await state.schedule(db, serial=serial, every_seconds=body.every_seconds)


@router.delete(
    "/devices/{serial}/mdm/schedule",
    response_model=ManagedOut,
    responses=control_errors(409),  # not_enrolled
)
async def unschedule(serial: str, db: DbSession) -> ManagedOut:
    """Stop the device's poll loop."""
    return await state.schedule(db, serial=serial, every_seconds=None)


@router.put(
    "/devices/{serial}/mdm/not-now",
    response_model=ManagedOut,
    responses=control_errors(409),  # not_enrolled
)
async def not_now(serial: str, body: NotNowIn, db: DbSession) -> ManagedOut:
    """Script the device to answer its next N commands with NotNow."""
    return await state.not_now(db, serial=serial, count=body.count)
