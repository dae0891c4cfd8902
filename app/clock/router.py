"""Control API: read and move the emulator's clock."""

from __future__ import annotations

from fastapi import APIRouter

from ..core.db import DbSession
from . import service
from .schemas import ClockAdvanceIn, ClockOut

router = APIRouter(prefix="/clock", tags=["clock"])


async def _clock_out(db: DbSession) -> ClockOut:
    moment = await service.now(db)
    return ClockOut(
        now=moment.isoformat().replace("+00:00", "Z"), offset_seconds=await service.offset_seconds(db)
    )


@router.get("", response_model=ClockOut)
async def get_clock(db: DbSession) -> ClockOut:
    """The emulator's current time and its offset from real time."""
    return await _clock_out(db)


@router.post("", response_model=ClockOut)
async def advance_clock(body: ClockAdvanceIn, db: DbSession) -> ClockOut:
    """Move the clock forward (cursor expiry, token expiry and cooldowns follow it)."""
    await service.advance(db, seconds=body.advance_seconds)
    return await _clock_out(db)
