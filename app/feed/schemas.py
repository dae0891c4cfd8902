"""Apple's device request and response shapes, for the OpenAPI document only (spec §6.2–§6.7, §7).

Handlers build these bodies as dicts (`feed_read`, `wire.gate` decides the fields per protocol
version) and read requests by hand (`dep_body`); these models describe the wire so clients and
Schemathesis know what to expect. Extra fields are allowed: Apple adds fields over time.
"""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

CURSOR_MAX = 1000  # spec §1.4: cursors are opaque strings of at most 1000 characters


class _Open(BaseModel):
    model_config = ConfigDict(extra="allow")


class DepDevice(_Open):
    """Apple's Device object (spec §7); fields appear by protocol version, absent rather than null."""

    serial_number: str
    model: str | None = None
    description: str | None = None
    color: str | None = None
    asset_tag: str | None = None
    profile_status: Literal["empty", "assigned", "pushed", "removed"] | None = None
    profile_uuid: str | None = None
    profile_assign_time: str | None = None
    profile_push_time: str | None = None
    device_assigned_date: str | None = None
    device_assigned_by: str | None = None
    os: str | None = None
    device_family: str | None = None
    mdm_migration_deadline: str | None = None
    bluetooth_mac_address: str | None = None
    ethernet_mac_address: str | None = None
    wifi_mac_address: str | None = None
    eid: str | None = None
    imei: list[str] | None = None
    meid: list[str] | None = None
    is_replacement_device: bool | None = None
    op_type: Literal["added", "modified", "deleted"] | None = Field(default=None, description="Sync only.")
    op_date: str | None = Field(default=None, description="Sync only.")


class FetchDeviceRequest(BaseModel):
    """Fetch (spec §6.2): no cursor (absent, null or "") starts a new fetch."""

    cursor: str | None = Field(default=None, max_length=CURSOR_MAX)
    limit: int | None = Field(default=None, description="Default 100, clamped to 1..1000.")


class SyncDeviceRequest(BaseModel):
    """Sync (spec §6.3): the cursor is required (CURSOR_REQUIRED without it)."""

    cursor: str = Field(max_length=CURSOR_MAX)
    limit: int | None = Field(default=None, description="Default 100, clamped to 1..1000.")


class FetchDeviceResponse(BaseModel):
    devices: list[DepDevice]
    cursor: str
    fetched_until: str
    more_to_follow: bool


class DeviceListRequest(BaseModel):
    """Details and disown (spec §6.4, §6.5); missing or empty → DEVICE_ID_REQUIRED."""

    devices: list[str] = Field(min_length=1)


class DeviceDetail(DepDevice):
    serial_number: str | None = None  # type: ignore[assignment]  # absent when NOT_ACCESSIBLE
    response_status: Literal["SUCCESS", "NOT_ACCESSIBLE"]


class DeviceListResponse(BaseModel):
    devices: dict[str, DeviceDetail]


class DeviceStatusResponse(BaseModel):
    devices: dict[str, Literal["SUCCESS", "NOT_ACCESSIBLE", "FAILED"]]


class ReplacementDetails(BaseModel):
    serial_number: str
    original_device_serial_number: str
    replacement_date: str = Field(pattern=r"^\d{4}-\d{2}-\d{2}$")
