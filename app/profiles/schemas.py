"""Apple's wire shapes for profiles and assignment (spec §6.9–§6.12), and our throttle rule."""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel, ConfigDict, Field


class DefineProfileResponse(BaseModel):
    """`POST /profile` answer: the new UUID and one status per requested serial (§6.9)."""

    profile_uuid: str
    devices: dict[str, str]


class ProfileOut(BaseModel):
    """`GET /profile` answer (§6.10): `profile_uuid` and the profile as it was defined (§7.2):
    every field the MDM sent and validation kept, absent ones left out."""

    model_config = ConfigDict(extra="allow")

    profile_uuid: str
    profile_name: str
    url: str


class AssignProfileResponse(BaseModel):
    """`POST`/`PUT /profile/devices` answer (§6.11); `retry_after_seconds` only at protocol ≥ 10
    and only when a device is THROTTLED."""

    profile_uuid: str
    devices: dict[str, str]
    retry_after_seconds: int | None = None


class ClearProfileResponse(BaseModel):
    """`DELETE /profile/devices` answer (§6.12)."""

    devices: dict[str, str]


class AssignmentCooldownOut(BaseModel):
    serial_number: str
    started_at: datetime
    until_at: datetime
    hidden_from_sync: bool


class AssignmentCooldownList(BaseModel):
    cooldowns: list[AssignmentCooldownOut]


class AssignmentThrottle(BaseModel):
    """Apple's per-device assignment throttle (spec §12): more than `max_assigns` assigns of one
    serial within `window_seconds` put it in a cooldown of `cooldown_seconds` on the emulator clock.

    During the cooldown assigns answer THROTTLED (protocol ≥ 9) or FAILED (below 9), and, as
    observed in the field, the device's events are left out of sync pages (`hide_from_sync`).
    """

    model_config = ConfigDict(extra="forbid")

    max_assigns: int | None = Field(
        default=None,
        ge=0,
        description="Assigns of one serial allowed within the window; null: no throttling.",
    )
    window_seconds: int = Field(default=3600, ge=1)
    cooldown_seconds: int = Field(default=86400, ge=1, description="Apple advised 24 h (fleet#37072).")
    hide_from_sync: bool = True
