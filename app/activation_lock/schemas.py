"""Activation lock: Apple's wire shape (spec §6.6) and our control-API view of a device's lock."""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel, ConfigDict, Field


class ActivationLockStatusResponse(BaseModel):
    """One object, not a map: `{"serial_number", "response_status"}` (§6.6)."""

    serial_number: str
    response_status: str


class ActivationLockOut(BaseModel):
    serial_number: str
    locked: bool
    locked_at: datetime | None
    server_uuid: str | None = Field(description="The MDM server that locked it.")
    escrow_key: str | None = Field(description="As the MDM sent it (hex PBKDF2 hash of the bypass code).")
    locked_to: str | None = Field(description="Without an escrow key: the admin who created the MDM server.")
    lost_message: str | None
    scripted_failures: int = Field(description="How many upcoming lock requests answer FAILED.")


class ScriptedFailuresIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    count: int = Field(
        ge=0, le=1000, description="The next `count` lock requests for the device answer FAILED."
    )
