"""Control-API shapes for devices (ours to design; Apple's Device object is built in `wire.py`)."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from .generator import FAMILIES

SERIAL_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$"
MAC_PATTERN = r"^[0-9A-Fa-f]{2}(:[0-9A-Fa-f]{2}){5}$"
FAMILY_OS = {
    "iPhone": "iOS",
    "iPad": "iPadOS",
    "iPod": "iOS",
    "Mac": "OSX",
    "AppleTV": "tvOS",
    "Vision": "visionOS",
}
DEFAULT_MODEL = {
    "iPhone": "iPhone 15",
    "iPad": "iPad (10th generation)",
    "iPod": "iPod touch",
    "Mac": "MacBook Air",
    "AppleTV": "Apple TV 4K",
    "Vision": "Apple Vision Pro",
}
# First match wins: a model name tells its family ("iPad mini" before "iPhone", "Apple TV" ...).
_MODEL_FAMILY = (
    ("ipad", "iPad"),
    ("iphone", "iPhone"),
    ("ipod", "iPod"),
    ("apple tv", "AppleTV"),
    ("vision", "Vision"),
    ("mac", "Mac"),
    ("imac", "Mac"),
)
Family = Literal["iPhone", "iPad", "iPod", "Mac", "AppleTV", "Vision"]
assert set(FAMILY_OS) == set(FAMILIES)


class DeviceAttributes(BaseModel):
    """Attributes an admin may set or change (PATCH): everything except identity and assignment."""

    model_config = ConfigDict(extra="forbid")

    model: str | None = Field(default=None, min_length=1, max_length=120)
    description: str | None = Field(default=None, max_length=200)
    color: str | None = Field(default=None, max_length=60)
    device_family: Family | None = None
    os: Literal["iOS", "iPadOS", "OSX", "tvOS", "visionOS"] | None = None
    asset_tag: str | None = Field(default=None, max_length=120)
    order_number: str | None = Field(default=None, max_length=64)
    order_date: datetime | None = None
    wifi_mac_address: str | None = Field(default=None, pattern=MAC_PATTERN)
    bluetooth_mac_address: str | None = Field(default=None, pattern=MAC_PATTERN)
    ethernet_mac_address: str | None = Field(default=None, pattern=MAC_PATTERN)
    imei: list[str] | None = Field(default=None, max_length=4)
    meid: list[str] | None = Field(default=None, max_length=4)
    eid: str | None = Field(default=None, max_length=40)
    mdm_migration_deadline: datetime | None = None
    # What it is and runs (dep_emulator.devices.software); not in DEP's record: no feed event.
    product_type: str | None = Field(
        default=None, max_length=40, description="Model identifier, e.g. iPhone18,3; default: its model's."
    )
    os_version: str | None = Field(
        default=None, max_length=20, description="e.g. 26.1; the build: os_build, else the release table's."
    )
    os_build: str | None = Field(default=None, max_length=20, description="e.g. 23B85.")
    os_supplemental_extra: str | None = Field(
        default=None, max_length=8, description='Rapid Security Response applied, e.g. "(a)"; null: none.'
    )


class DeviceIn(DeviceAttributes):
    """A device to add to an org, as the portal's CSV or a JSON list gives it (spec §7 fields)."""

    serial_number: str = Field(pattern=SERIAL_PATTERN)

    @model_validator(mode="after")
    def _fill_defaults(self) -> DeviceIn:
        """Fill what a real device always has: family from the model name, OS from the family."""
        if self.device_family is None:
            name = (self.model or "").lower()
            self.device_family = next((fam for key, fam in _MODEL_FAMILY if key in name), "iPhone")  # type: ignore[misc]
        family: str = self.device_family or "iPhone"
        if self.model is None:
            self.model = DEFAULT_MODEL[family]
        if self.os is None:
            self.os = FAMILY_OS[family]  # type: ignore[assignment]
        if self.description is None:
            self.description = self.model.upper()
        if self.color is None:
            self.color = ""
        return self


class GenerateIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    count: int = Field(ge=1, le=2_000_000)
    families: list[Family] | None = None
    order_number: str | None = Field(default=None, max_length=64)
    seed: int | None = Field(default=None, ge=0, le=2**62)
    start: int = Field(
        default=0, ge=0, le=2**39, description="Index of the first device in the seed's sequence (chunking)."
    )
    server_uuid: str | None = Field(
        default=None, max_length=64, description="Assign them to this MDM server in the same request."
    )
    os_version: str | None = Field(
        default=None,
        max_length=20,
        description="Every generated device runs this OS version (build per platform from the release "
        "table); default: the current release of each platform.",
    )


class AddDevicesIn(BaseModel):
    """Either an explicit `devices` list or a `generate` request (exactly one)."""

    model_config = ConfigDict(extra="forbid")

    devices: list[DeviceIn] | None = Field(default=None, max_length=100_000)
    generate: GenerateIn | None = None

    @model_validator(mode="after")
    def _exactly_one(self) -> AddDevicesIn:
        if (self.devices is None) == (self.generate is None):
            raise ValueError('give exactly one of "devices" or "generate"')
        return self


class AddDevicesOut(BaseModel):
    count: int
    serials: list[str] | None = Field(default=None, description="The new serials, when there are ≤ 1000.")
    seed: int | None = Field(default=None, description="The generator seed used (generate only).")


class AssignmentIn(BaseModel):
    """Manage Devices → Assign to Server: `server_uuid` null unassigns."""

    model_config = ConfigDict(extra="forbid")

    server_uuid: str | None
    serials: list[str] | None = Field(default=None, max_length=2_000_000)
    order_number: str | None = Field(default=None, max_length=64)
    assigned_by: str | None = Field(default=None, max_length=250)

    @field_validator("serials")
    @classmethod
    def _text_only(cls, value: list[str] | None) -> list[str] | None:
        try:  # lone surrogates parse as JSON but could never be echoed back in the results
            "".join(value or ()).encode("utf-8")
        except UnicodeEncodeError:
            raise ValueError("serials must be valid Unicode text") from None
        return value

    @model_validator(mode="after")
    def _exactly_one(self) -> AssignmentIn:
        if (self.serials is None) == (self.order_number is None):
            raise ValueError('give exactly one of "serials" or "order_number"')
        return self


class AssignmentOut(BaseModel):
    count: int
    summary: dict[str, int] = Field(description="How many serials got each result.")
    results: dict[str, str] | None = Field(default=None, description="Per serial, when there are ≤ 10,000.")


class ReplaceIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    serial_number: str | None = Field(default=None, pattern=SERIAL_PATTERN, description="Default: generated.")


class HistoryOut(BaseModel):
    action: str
    server_uuid: str | None
    actor: str | None
    at: datetime


class SoftwareOut(BaseModel):
    """What the device is and runs (not part of DEP's record)."""

    product_type: str = Field(description="Hardware model identifier (MachineInfo PRODUCT).")
    part_number: str = Field(description="As the Business API's orgDevices shows it, e.g. MYMJ3LL/A.")
    os_version: str
    os_build: str
    os_supplemental_extra: str | None = Field(description='Rapid Security Response, e.g. "(a)".')
    supplemental_build_version: str


class DeviceOut(BaseModel):
    serial_number: str
    org_id: str | None
    server_uuid: str | None
    order_number: str | None
    order_date: datetime | None
    replaces_serial_number: str | None
    replacement_date: datetime | None
    # Released from an org (observed F2): the org it left, and when; null while in an org.
    released_from_org_id: str | None = None
    released_at: datetime | None = None
    fields: dict[str, Any] = Field(description="Apple's Device object, ungated (spec §7).")
    software: SoftwareOut | None = None
    history: list[HistoryOut] | None = None


class DeviceList(BaseModel):
    devices: list[DeviceOut]
    next_cursor: str | None
