"""Control-API shapes for Apple's built-in device management (ours to design)."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

Family = Literal["iPhone", "iPad", "Mac", "AppleTV", "Vision"]


class EnrollmentIn(BaseModel):
    """An enrollment in the built-in service: `serial_number` of an org device assigned to the
    built-in service (ADE), or, with `account_driven`, a device the org's inventory lacks."""

    model_config = ConfigDict(extra="forbid")

    serial_number: str = Field(pattern=r"^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$")
    account_driven: bool = False
    user: str | None = Field(
        default=None, max_length=250, pattern=r"^[^\x00]*$", description="User id or Managed Apple Account."
    )
    device_name: str | None = Field(default=None, max_length=200, pattern=r"^[^\x00]*$")
    device_family: Family = Field(default="iPhone", description="Account-driven only (ADE: the device's).")
    device_model: str | None = Field(default=None, max_length=120, pattern=r"^[^\x00]*$")
    os_version: str = Field(default="26.1", max_length=20, pattern=r"^[0-9.]+$")
    locked: bool = False
    lost_mode: bool = False
    file_vault: bool = False
    firewall: bool = False


class EnrollmentOut(BaseModel):
    id: str
    serial_number: str
    enrollment_type: Literal["ADE", "ACCOUNT_DRIVEN"]


class ServiceOut(BaseModel):
    server_uuid: str
    server_name: str


class LockStatusIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    lock_type: Literal["NONE", "USER", "MDM"]
    server_error: bool = Field(default=False, description="Apple's documented plain server error (500).")
