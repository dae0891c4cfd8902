"""Whole-emulator operations for test harnesses: wipe every piece of state."""

from __future__ import annotations

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession

from ..core.db import Base


def reset_statements() -> list[str]:
    """SQL that empties every table and puts the clock back to real time (one TRUNCATE, so
    concurrent requests see either all of the old state or none of it)."""
    tables = ", ".join(f'"{t.name}"' for t in Base.metadata.sorted_tables if t.name != "emulator_clock")
    return [
        f"TRUNCATE {tables} RESTART IDENTITY CASCADE",
        "UPDATE emulator_clock SET offset_seconds = 0",
        "ALTER SEQUENCE org_id_seq RESTART",
    ]


async def reset(db: AsyncSession) -> list[str]:
    """Wipe everything; returns the tables emptied."""
    for statement in reset_statements():
        await db.execute(text(statement))
    db.info.pop("emulator_clock_offset", None)
    return [t.name for t in Base.metadata.sorted_tables if t.name != "emulator_clock"]
