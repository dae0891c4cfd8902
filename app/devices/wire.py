"""Apple's Device object on the wire (spec §7) and its gating by protocol version (spec §2)."""

from __future__ import annotations

from typing import Any

from ..clock.service import isoformat
from .models import Device

# Fields each protocol version adds; anything not listed is protocol 1.
SINCE_VERSION: dict[str, int] = {
    "os": 2,
    "device_family": 2,
    "mdm_migration_deadline": 8,
    "bluetooth_mac_address": 10,
    "ethernet_mac_address": 10,
    "wifi_mac_address": 10,
    "eid": 10,
    "imei": 10,
    "meid": 10,
    "is_replacement_device": 10,
    "released_by_replacement": 10,
}
IPADOS_SINCE = 7  # iPads report "iPadOS" from protocol 7, "iOS" before


def device_fields(device: Device) -> dict[str, Any]:
    """Every wire field the device has, ungated; absent values are left out, never null."""
    fields: dict[str, Any] = {
        "serial_number": device.serial_number,
        "model": device.model,
        "description": device.description,
        "color": device.color,
        "asset_tag": device.asset_tag,
        "profile_status": device.profile_status,
        "profile_uuid": device.profile_uuid,
        "profile_assign_time": _time(device.profile_assign_time),
        "profile_push_time": _time(device.profile_push_time),
        "device_assigned_date": _time(device.device_assigned_date),
        "device_assigned_by": device.device_assigned_by,
        "os": device.os,
        "device_family": device.device_family,
        "mdm_migration_deadline": _time(device.mdm_migration_deadline),
        "bluetooth_mac_address": device.bluetooth_mac_address,
        "ethernet_mac_address": device.ethernet_mac_address,
        "wifi_mac_address": device.wifi_mac_address,
        "eid": device.eid,
        "imei": list(device.imei) or None,
        "meid": list(device.meid) or None,
        "is_replacement_device": device.is_replacement_device,
    }
    return {k: v for k, v in fields.items() if v is not None}


def gate(fields: dict[str, Any], version: int) -> dict[str, Any]:
    """The subset of `fields` that protocol `version` carries."""
    gated = {k: v for k, v in fields.items() if SINCE_VERSION.get(k, 1) <= version}
    if version < IPADOS_SINCE and gated.get("os") == "iPadOS":
        gated["os"] = "iOS"
    return gated


def _time(value: Any) -> str | None:
    return isoformat(value) if value is not None else None
