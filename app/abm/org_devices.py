"""orgDevices (abm-api.md §1.5): the org's devices as the portal API shows them.

Reads only; every change to a device goes through `app.devices.service` (see activities.py).
Every documented attribute is always present, because strict clients (applebusiness, pyaxm)
reject a missing one (§2.2): strings the emulator does not model are `""`, lists `[]`, and
dates and optional values null. Values DEP does not carry are derived, deterministically:
- `productFamily`: DEP's device_family (iPod, absent from Apple's enum, reports as iPhone);
- `deviceCapacity`: the storage size in the DEP description ("... 256GB ...");
- `purchaseSourceType`/`purchaseSourceId`: APPLE and the org's customer number when the device
  came with an order number, else MANUALLY_ADDED (Apple Configurator) and "";
- `mdmMigrationStatus`: REQUESTED while a migration deadline is set.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from app.abm import servers
from app.abm.jsonapi import Links, PageRequest, list_document, not_found, sparse
from app.clock import service as clock
from app.clock.service import isoformat
from app.devices.models import Device
from app.orgs.models import MdmServer, Org

TYPE = "orgDevices"
ATTRIBUTES = (
    "serialNumber",
    "addedToOrgDateTime",
    "releasedFromOrgDateTime",
    "updatedDateTime",
    "deviceModel",
    "productFamily",
    "productType",
    "deviceCapacity",
    "partNumber",
    "orderNumber",
    "color",
    "status",
    "orderDateTime",
    "imei",
    "meid",
    "eid",
    "wifiMacAddress",
    "bluetoothMacAddress",
    "ethernetMacAddress",
    "purchaseSourceId",
    "purchaseSourceType",
    "isMdmMigrationCapable",
    "mdmMigrationStatus",
    "mdmMigrationDeadlineDateTime",
)
FIELDS = (*ATTRIBUTES, "assignedServer", "appleCareCoverage")
COVERAGE_TYPE = "appleCareCoverage"
COVERAGE_FIELDS = (
    "status",
    "paymentType",
    "description",
    "startDateTime",
    "endDateTime",
    "isRenewable",
    "isCanceled",
    "contractCancelDateTime",
    "agreementNumber",
)
PRODUCT_FAMILY = {
    "iPhone": "iPhone",
    "iPad": "iPad",
    "Mac": "Mac",
    "AppleTV": "AppleTV",
    "Vision": "Vision",
    "iPod": "iPhone",
    "Watch": "Watch",
}
MIGRATION_CAPABLE = {"iPhone", "iPad", "Mac", "Vision"}
_CAPACITY = re.compile(r"\b(\d+(?:GB|TB))\b")


def _time(value: datetime | None) -> str | None:
    return isoformat(value) if value is not None else None


def attributes(device: Device, org: Org) -> dict[str, Any]:
    capacity = _CAPACITY.search(device.description or "")
    purchased = device.order_number is not None
    return {
        "serialNumber": device.serial_number,
        "addedToOrgDateTime": isoformat(device.created_at),
        "releasedFromOrgDateTime": None,
        "updatedDateTime": isoformat(device.updated_at),
        "deviceModel": device.model,
        "productFamily": PRODUCT_FAMILY.get(device.device_family, device.device_family),
        "productType": "",
        "deviceCapacity": capacity.group(1) if capacity else "",
        "partNumber": "",
        "orderNumber": device.order_number or "",
        "color": device.color or "",
        "status": "ASSIGNED" if device.server_id is not None else "UNASSIGNED",
        "orderDateTime": _time(device.order_date),
        "imei": list(device.imei),
        "meid": list(device.meid),
        "eid": device.eid,
        "wifiMacAddress": device.wifi_mac_address or "",
        "bluetoothMacAddress": device.bluetooth_mac_address or "",
        "ethernetMacAddress": [device.ethernet_mac_address] if device.ethernet_mac_address else [],
        "purchaseSourceId": str(org.id) if purchased else "",
        "purchaseSourceType": "APPLE" if purchased else "MANUALLY_ADDED",
        "isMdmMigrationCapable": device.device_family in MIGRATION_CAPABLE,
        "mdmMigrationStatus": "REQUESTED" if device.mdm_migration_deadline is not None else None,
        "mdmMigrationDeadlineDateTime": _time(device.mdm_migration_deadline),
    }


def render(
    devices: Sequence[Device], org: Org, *, links: Links, fields: frozenset[str] | None
) -> list[dict[str, Any]]:
    resources = []
    for device in devices:
        path = f"/v1/orgDevices/{device.serial_number}"
        relationships = {
            "assignedServer": {
                "links": {
                    "self": links.url(f"{path}/relationships/assignedServer"),
                    "related": links.url(f"{path}/assignedServer"),
                }
            },
            "appleCareCoverage": {"links": {"related": links.url(f"{path}/appleCareCoverage")}},
        }
        resources.append(
            {
                "type": TYPE,
                "id": device.serial_number,  # an orgDevice's id is its serial number (§1.3)
                "attributes": sparse(attributes(device, org), fields),
                "relationships": sparse(relationships, fields),
                "links": {"self": links.url(path)},
            }
        )
    return resources


async def get_device(db: AsyncSession, *, org: Org, serial: str) -> Device:
    device = None
    if 0 < len(serial) <= 64 and "\x00" not in serial:
        device = await db.scalar(
            select(Device).where(Device.org_id == org.id, Device.serial_number == serial)
        )
    if device is None:
        raise not_found(TYPE, serial)
    return device


async def list_devices(
    db: AsyncSession, *, org: Org, page: PageRequest, links: Links, fields: frozenset[str] | None
) -> dict[str, Any]:
    """Keyset pages in serial-number order (index ix_device_org_serial)."""
    query = select(Device).where(Device.org_id == org.id)
    if page.after is not None:
        query = query.where(Device.serial_number > page.after)
    devices = list(await db.scalars(query.order_by(Device.serial_number).limit(page.limit + 1)))
    total = await db.scalar(select(func.count()).select_from(Device).where(Device.org_id == org.id))
    more = len(devices) > page.limit
    devices = devices[: page.limit]
    data = render(devices, org, links=links, fields=fields)
    return list_document(
        data, links=links, page=page, next_key=devices[-1].serial_number if more else None, total=total
    )


async def one_device(
    db: AsyncSession, *, org: Org, serial: str, links: Links, fields: frozenset[str] | None
) -> dict[str, Any]:
    device = await get_device(db, org=org, serial=serial)
    return {"data": render([device], org, links=links, fields=fields)[0], "links": {"self": links.self_url}}


async def assigned_server_linkage(db: AsyncSession, *, org: Org, serial: str, links: Links) -> dict[str, Any]:
    """`GET /v1/orgDevices/{id}/relationships/assignedServer`: `{type, id}` or null when unassigned."""
    device = await get_device(db, org=org, serial=serial)
    server_uuid = await _server_uuid(db, device)
    return {
        "data": {"type": servers.TYPE, "id": server_uuid} if server_uuid else None,
        "links": {
            "self": links.self_url,
            "related": links.url(f"/v1/orgDevices/{device.serial_number}/assignedServer"),
        },
    }


async def assigned_server(
    db: AsyncSession, *, org: Org, serial: str, links: Links, fields: frozenset[str] | None
) -> dict[str, Any]:
    """`GET /v1/orgDevices/{id}/assignedServer`: the mdmServer resource, or null when unassigned."""
    device = await get_device(db, org=org, serial=serial)
    server = await db.get(MdmServer, device.server_id) if device.server_id is not None else None
    data = (await servers.render(db, [server], links=links, fields=fields))[0] if server else None
    return {"data": data, "links": {"self": links.self_url}}


async def _server_uuid(db: AsyncSession, device: Device) -> str | None:
    if device.server_id is None:
        return None
    uuid: str | None = await db.scalar(select(MdmServer.server_uuid).where(MdmServer.id == device.server_id))
    return uuid


async def apple_care_coverage(
    db: AsyncSession, *, org: Org, serial: str, page: PageRequest, links: Links, fields: frozenset[str] | None
) -> dict[str, Any]:
    """Every device has Apple's one-year Limited Warranty from its order (or addition) date; the
    emulator models no AppleCare+ contracts."""
    device = await get_device(db, org=org, serial=serial)
    now = await clock.now(db)
    start = device.order_date or device.created_at
    end = start + timedelta(days=365)
    coverage = {
        "status": "ACTIVE" if start <= now < end else "INACTIVE",
        "paymentType": "NONE",
        "description": "Limited Warranty",
        "startDateTime": isoformat(start),
        "endDateTime": isoformat(end),
        "isRenewable": False,
        "isCanceled": False,
        "contractCancelDateTime": None,
        "agreementNumber": None,
    }
    data = [
        {"type": COVERAGE_TYPE, "id": f"{device.serial_number}-LW", "attributes": sparse(coverage, fields)}
    ]
    return list_document(data, links=links, page=page, next_key=None, total=1)
