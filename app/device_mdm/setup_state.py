"""Setup Assistant after enrollment, and the ordering races of device-2026.md §4, as states.

Two races MDM teams meet on real hardware, made observable here instead of hanging a test:

- **Commands before TokenUpdate** (fleet#32009). An MDM that acts on `Authenticate` (a webhook,
  say) sends `AccountConfiguration` before the device's `TokenUpdate`; it has no push token yet.
  With `hold_token_update` the device sends `Authenticate` and stops there, as Setup Assistant is
  between the two: state `token_update_pending`. It does not connect to its MDM (a poll is refused
  with that state's name); what the MDM queued meanwhile waits in the MDM's queue. NanoMDM clears
  its queue on Authenticate and keeps what is queued after it. `token_update.send` sends the held
  TokenUpdate (with `AwaitingConfiguration`); the next poll gets the queued commands.
- **`DeviceConfigured` never sent** (fleet#25671). A device enrolled with
  `await_device_configured` stays in `awaiting_configuration` until the MDM sends it: how long so
  far is read on the emulator clock (a test moves the clock), and once that is longer than
  `STALLED_AFTER` the report says the device is stuck there, as a real one is, without end.

The state is derived from `device_enrollment` (`token_update_at`, `awaiting_configuration`,
`configured_at`) and the exchange log; nothing runs in the background.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from ..clock import service as clock
from .models import DeviceEnrollment, MdmExchange
from .schemas import SetupStateOut

STALLED_AFTER = timedelta(minutes=10)  # our choice: a real device waits without end


def _minutes(seconds: float) -> str:
    if seconds < 120:
        return f"{seconds:.0f} seconds"
    if seconds < 7200:
        return f"{seconds / 60:.0f} minutes"
    return f"{seconds / 3600:.1f} hours"


async def state_of(db: AsyncSession, row: DeviceEnrollment) -> SetupStateOut:
    """Where Setup Assistant is for this enrollment, now (emulator clock)."""
    now = await clock.now(db)
    limit = STALLED_AFTER.total_seconds()
    if row.token_update_at is None:
        waited = max(0.0, (now - row.enrolled_at).total_seconds())
        stalled = waited >= limit
        report = (
            f"Authenticate sent {_minutes(waited)} ago; TokenUpdate held (hold_token_update). The device "
            "does not connect to its MDM and the MDM cannot push to it yet: commands the MDM sends now "
            "wait in its queue until the device sends TokenUpdate (POST .../mdm/token-update)."
        )
        if stalled:
            report += " An MDM that waits for TokenUpdate before it acts sees nothing happen."
        return SetupStateOut(
            state="token_update_pending",
            since=row.enrolled_at,
            waited_seconds=waited,
            stalled=stalled,
            stalled_after_seconds=limit,
            last_contact_at=await _last_contact(db, row.device_id, row.enrolled_at),
            report=report,
        )
    since = row.token_update_at
    commands, last = await _activity(db, row.device_id, since)
    if row.awaiting_configuration:
        waited = max(0.0, (now - since).total_seconds())
        stalled = waited >= limit
        report = (
            "Setup Assistant shows Awaiting Configuration (a Mac: \"Waiting for management server\") "
            f"since TokenUpdate, {_minutes(waited)} ago; only DeviceConfigured lets it go on. The device "
            f"answered {commands} command(s) meanwhile, none of them DeviceConfigured."
        )
        if stalled:
            report += (
                f" Stalled: the MDM has not sent DeviceConfigured for {_minutes(waited)}; a real device "
                "stays on this screen without end (fleet#25671) until the MDM sends it or the device is "
                "erased."
            )
        return SetupStateOut(
            state="awaiting_configuration",
            since=since,
            waited_seconds=waited,
            stalled=stalled,
            stalled_after_seconds=limit,
            commands_while_waiting=commands,
            last_contact_at=last,
            report=report,
        )
    if row.configured_at is not None:
        waited = max(0.0, (row.configured_at - since).total_seconds())
        return SetupStateOut(
            state="configured",
            since=row.configured_at,
            stalled_after_seconds=limit,
            last_contact_at=last,
            report=f"DeviceConfigured released Setup Assistant after {_minutes(waited)} of Awaiting "
            "Configuration; it went on to account creation.",
        )
    return SetupStateOut(
        state="not_awaiting",
        since=since,
        stalled_after_seconds=limit,
        last_contact_at=last,
        report="Enrolled without await_device_configured: Setup Assistant went on after TokenUpdate.",
    )


async def _activity(db: AsyncSession, device_id: int, since: datetime) -> tuple[int, datetime | None]:
    row = (
        await db.execute(
            select(
                func.count().filter(MdmExchange.step.like("command.%")),
                func.max(MdmExchange.at),
            ).where(MdmExchange.device_id == device_id, MdmExchange.at >= since)
        )
    ).one()
    return int(row[0]), row[1]


async def _last_contact(db: AsyncSession, device_id: int, since: datetime) -> datetime | None:
    return await db.scalar(
        select(func.max(MdmExchange.at)).where(MdmExchange.device_id == device_id, MdmExchange.at >= since)
    )
