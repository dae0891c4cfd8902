"""mdmDevices and their details (abm-api-2.md §2.8), and orgDevices' activationLockStatus (§2.9).

mdmDevices lists the devices enrolled in Apple's built-in service (dep_emulator.builtin_mdm): ADE
devices while they are in the org and assigned to the built-in service, plus account-driven
enrollments. Strict clients need `deviceName`, `productFamily` and `serialNumber` non-null (`""`
at worst) and `relationships.details.links` (`related`, the key Apple's example implies;
*unverified*). `platform` values are *unverified*: the OS names of the device family.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import select, text
from sqlalchemy.ext.asyncio import AsyncSession

from ..builtin_mdm import service as builtin
from ..builtin_mdm.models import BuiltinEnrollment
from ..clock.service import isoformat
from ..core.errors import JsonApiError
from ..orgs.models import Org
from . import org_devices
from .jsonapi import Links, PageRequest, cut_page, list_document, not_found, sparse

TYPE, DETAILS_TYPE, LOCK_TYPE = "mdmDevices", "mdmDeviceDetails", "activationLockStatus"
FIELDS = ("serialNumber", "deviceName", "productFamily", "enrolledUserId", "details")
DETAILS_FIELDS = (
    "serialNumber", "deviceName", "deviceModel", "osVersion", "platform", "wifiMacAddress",
    "bluetoothMacAddress", "ethernetMacAddress", "imei", "meid", "deviceEraseStatus", "deviceLockStatus",
    "lostModeStatus", "isFileVaultEnabled", "isFirewallEnabled", "lastCheckInDateTime",
    "storageFreeCapacity", "storageTotalCapacity",
)  # fmt: skip
PLATFORM = {"iPhone": "iOS", "iPad": "iPadOS", "Mac": "macOS", "AppleTV": "tvOS", "Vision": "visionOS"}
# Shown: account-driven, or an ADE device still in the org and assigned to the built-in service.
VISIBLE = (
    "(e.device_id IS NULL OR EXISTS (SELECT 1 FROM device d WHERE d.id = e.device_id "
    "AND d.org_id = e.org_id AND d.server_id = :server))"
)
PAGE_SQL = text(
    f"SELECT e.* FROM builtin_enrollment e WHERE e.org_id = :org AND e.id > :after AND {VISIBLE} "
    "ORDER BY e.org_id, e.id LIMIT :n"
)
ONE_SQL = text(f"SELECT e.* FROM builtin_enrollment e WHERE e.org_id = :org AND e.id = :id AND {VISIBLE}")


async def _server_id(db: AsyncSession, org: Org) -> int:
    server = await builtin.service_server(db, org=org)
    return server.id if server is not None else -1


def render(e: BuiltinEnrollment, *, links: Links, fields: frozenset[str] | None) -> dict[str, Any]:
    path = f"/v1/mdmDevices/{e.id}"
    attributes = {
        "serialNumber": e.serial_number,
        "deviceName": e.device_name or "",
        "productFamily": org_devices.PRODUCT_FAMILY.get(e.device_family, e.device_family),
        "enrolledUserId": str(e.user_id) if e.user_id is not None else None,
    }
    relationships = {"details": {"links": {"related": links.url(f"{path}/details")}}}
    return {
        "type": TYPE,
        "id": e.id,
        "attributes": sparse(attributes, fields),
        "relationships": sparse(relationships, fields),
        "links": {"self": links.url(path)},
    }


async def list_devices(
    db: AsyncSession, *, org: Org, page: PageRequest, links: Links, fields: frozenset[str] | None
) -> dict[str, Any]:
    params = {
        "org": org.id,
        "after": page.after or "",
        "n": page.fetch,
        "server": await _server_id(db, org),
    }
    found, next_key = cut_page(
        list(await db.scalars(select(BuiltinEnrollment).from_statement(PAGE_SQL), params)),
        page.limit,
        lambda e: e.id,
    )
    data = [render(e, links=links, fields=fields) for e in found]
    return list_document(data, links=links, page=page, next_key=next_key, total=None)


async def details(
    db: AsyncSession, *, org: Org, device_id: str, links: Links, fields: frozenset[str] | None
) -> dict[str, Any]:
    e = None
    if 0 < len(device_id) <= 36 and "\x00" not in device_id:
        params = {"org": org.id, "id": device_id, "server": await _server_id(db, org)}
        e = await db.scalar(select(BuiltinEnrollment).from_statement(ONE_SQL), params)
    if e is None:
        raise not_found(TYPE, device_id)
    attributes = {
        "serialNumber": e.serial_number,
        "deviceName": e.device_name,
        "deviceModel": e.device_model,
        "osVersion": e.os_version,
        "platform": PLATFORM.get(e.device_family, e.device_family),
        "wifiMacAddress": e.wifi_mac_address,
        "bluetoothMacAddress": e.bluetooth_mac_address,
        "ethernetMacAddress": e.ethernet_mac_address,  # a string here, an array on orgDevices
        "imei": list(e.imei),
        "meid": list(e.meid),
        "deviceEraseStatus": "ERASED" if e.erased else "NOT_ERASED",
        "deviceLockStatus": "LOCKED" if e.locked else "UNLOCKED",
        "lostModeStatus": "ENABLED" if e.lost_mode else "DISABLED",
        "isFileVaultEnabled": e.file_vault,
        "isFirewallEnabled": e.firewall,
        "lastCheckInDateTime": isoformat(e.last_check_in_at),
        "storageFreeCapacity": e.storage_free,  # bytes (unit unverified)
        "storageTotalCapacity": e.storage_total,
    }
    data = {"type": DETAILS_TYPE, "id": e.id, "attributes": sparse(attributes, fields)}
    return {"data": data, "links": {"self": links.self_url}}


async def activation_lock_status(db: AsyncSession, *, org: Org, serial: str, links: Links) -> dict[str, Any]:
    """`GET /v1/orgDevices/{id}/activationLockStatus` (both variants; id = the serial)."""
    device = (await org_devices.get_device(db, org=org, serial=serial)).device
    lock_type, server_error = await builtin.lock_status(db, device=device)
    if server_error:
        # Apple documents a plain server error for an internal lock state (§2.9).
        raise JsonApiError(
            500, "INTERNAL_ERROR", "An unexpected error occurred", "The server could not process the request."
        )
    attributes = {"isLocked": lock_type != "NONE", "lockType": lock_type}
    data = {"type": LOCK_TYPE, "id": device.serial_number, "attributes": attributes}
    return {"data": data, "links": {"self": links.self_url}}


async def activation_lock_linkage(db: AsyncSession, *, org: Org, serial: str, links: Links) -> dict[str, Any]:
    """`GET /v1/orgDevices/{id}/relationships/activationLockStatus`: `{type, id}` (the id is the serial)."""
    device = (await org_devices.get_device(db, org=org, serial=serial)).device
    path = f"/v1/orgDevices/{device.serial_number}"
    return {
        "data": {"type": LOCK_TYPE, "id": device.serial_number},
        "links": {"self": links.self_url, "related": links.url(f"{path}/activationLockStatus")},
    }
