from __future__ import annotations

from pydantic import BaseModel, Field


class ClockOut(BaseModel):
    now: str = Field(description="The emulator's current time, ISO 8601 UTC.")
    offset_seconds: float = Field(description="How far the emulator's clock runs ahead of real time.")


class ClockAdvanceIn(BaseModel):
    advance_seconds: float = Field(ge=0, le=100 * 365 * 86400, description="Seconds to move forward.")
