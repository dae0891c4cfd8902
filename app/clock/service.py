"""The one clock of the emulator: wall time plus an offset shared through the database.

Every expiry and timestamp in the service comes from `now(db)`. Tests and admins move it
forward with `advance`, which is how 7-day cursor expiry or one-year token expiry becomes
testable in milliseconds. The offset is read once per database session (cached in
`db.info`), so one request sees one consistent "now" and pays one query at most.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession

_OFFSET_KEY = "emulator_clock_offset"


def wall_now() -> datetime:
    """Real time. Only for things the client's own clock produces (OAuth timestamps)."""
    return datetime.now(UTC)


# For a statement that reads the offset along with other rows (one round trip, see `prime`).
OFFSET_SCALAR_SQL = "(SELECT offset_seconds FROM emulator_clock WHERE id = 1)"


def prime(db: AsyncSession, offset: float | None) -> None:
    """Record an offset read by another statement (`OFFSET_SCALAR_SQL`), so `now` needs no query."""
    db.info[_OFFSET_KEY] = float(offset or 0.0)


async def offset_seconds(db: AsyncSession) -> float:
    cached = db.info.get(_OFFSET_KEY)
    if cached is None:
        row = await db.execute(text("SELECT offset_seconds FROM emulator_clock WHERE id = 1"))
        cached = float(row.scalar_one_or_none() or 0.0)
        db.info[_OFFSET_KEY] = cached
    return float(cached)


async def now(db: AsyncSession) -> datetime:
    """The emulator's current time (timezone-aware UTC)."""
    return at_offset(await offset_seconds(db))


def at_offset(offset: float | None) -> datetime:
    """The emulator's time for an offset read by another statement (`OFFSET_SCALAR_SQL`)."""
    return wall_now() + timedelta(seconds=float(offset or 0.0))


async def advance(db: AsyncSession, *, seconds: float) -> float:
    """Move the clock forward by `seconds` (never backwards); returns the new offset."""
    if seconds < 0:
        raise ValueError("the clock only moves forward")
    row = await db.execute(
        text(
            "INSERT INTO emulator_clock (id, offset_seconds) VALUES (1, :s) "
            "ON CONFLICT (id) DO UPDATE SET offset_seconds = emulator_clock.offset_seconds + :s "
            "RETURNING offset_seconds"
        ),
        {"s": float(seconds)},
    )
    new_offset = float(row.scalar_one())
    db.info[_OFFSET_KEY] = new_offset
    return new_offset


def isoformat(moment: datetime) -> str:
    """Apple's timestamp form: second precision, UTC, `Z` suffix (spec §1.4)."""
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
