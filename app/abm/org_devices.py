"""orgDevices (abm-api.md §1.5): the org's devices as the portal API shows them.

Reads only; every change to a device goes through `dep_emulator.inventory.service` (see activities.py).
Every documented attribute is always present, because strict clients (applebusiness, pyaxm)
reject a missing one (§2.2): strings the emulator does not model are `""`, lists `[]`, and
dates and optional values null. Values DEP does not carry are derived, deterministically:
- `productFamily`: DEP's device_family (iPod, absent from Apple's enum, reports as iPhone);
- `deviceCapacity`: the storage size in the DEP description ("... 256GB ...");
- `purchaseSourceType`/`purchaseSourceId`: APPLE and the org's customer number when the device
  came with an order number, else MANUALLY_ADDED (Apple Configurator) and "";
- `mdmMigrationStatus`: REQUESTED while a migration deadline is set;
- `productType` (e.g. iPhone17,1) and `partNumber` (e.g. MYMJ3LL/A): dep_emulator.devices.software,
  from the model, colour, storage and region (so deterministic per generator seed).

A device released from the org (RELEASE_DEVICES, the control API, a DEP disown, a replacement)
can still be read by id, UNASSIGNED, with `releasedFromOrgDateTime`, `releaserEntityType` and
`releaserId`, and stays in the list while the org's `released_devices` is `listed` (observed F2,
dep_emulator.inventory.released): Apple's list example (get-org-devices) carries
`releasedFromOrgDateTime` on listed devices. The release is kept on the device row; one read
before migration 0018 falls back to the org's audit trail (dep_emulator.devices.audit).
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from ..apple_care import service as apple_care
from ..clock import service as clock
from ..clock.service import isoformat
from ..devices import audit, software
from ..devices.models import AuditEvent, Device
from ..orgs.models import MdmServer, Org
from ..orgs.settings import org_setting
from . import servers
from .jsonapi import Links, PageRequest, cut_page, list_document, not_found, sparse

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
    "releaserEntityType",  # abm-api-2.md §2.9: set once released (values as the audit trail's)
    "releaserId",
)
FIELDS = (*ATTRIBUTES, "assignedServer", "appleCareCoverage", "activationLockStatus")
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


def purchase_source(order_number: str | None, org: Org) -> tuple[str, str]:
    """(purchaseSourceType, purchaseSourceId): bought from Apple with an order, else added by hand."""
    return ("APPLE", str(org.id)) if order_number is not None else ("MANUALLY_ADDED", "")


def attributes(device: Device, org: Org, released_at: datetime | None = None) -> dict[str, Any]:
    capacity = _CAPACITY.search(device.description or "")
    source_type, source_id = purchase_source(device.order_number, org)
    assigned = device.server_id is not None and released_at is None
    return {
        "serialNumber": device.serial_number,
        "addedToOrgDateTime": isoformat(device.created_at),
        "releasedFromOrgDateTime": _time(released_at),
        "updatedDateTime": isoformat(released_at or device.updated_at),
        "deviceModel": device.model,
        "productFamily": PRODUCT_FAMILY.get(device.device_family, device.device_family),
        "productType": software.effective(device).product_type,
        "deviceCapacity": capacity.group(1) if capacity else "",
        "partNumber": software.part_number(device.model, device.color, device.description),
        "orderNumber": device.order_number or "",
        "color": device.color or "",
        "status": "ASSIGNED" if assigned else "UNASSIGNED",
        "orderDateTime": _time(device.order_date),
        "imei": list(device.imei),
        "meid": list(device.meid),
        "eid": device.eid,
        "wifiMacAddress": device.wifi_mac_address or "",
        "bluetoothMacAddress": device.bluetooth_mac_address or "",
        "ethernetMacAddress": [device.ethernet_mac_address] if device.ethernet_mac_address else [],
        "purchaseSourceId": source_id,
        "purchaseSourceType": source_type,
        "isMdmMigrationCapable": device.device_family in MIGRATION_CAPABLE,
        "mdmMigrationStatus": "REQUESTED" if device.mdm_migration_deadline is not None else None,
        "mdmMigrationDeadlineDateTime": _time(device.mdm_migration_deadline),
        "releaserEntityType": device.releaser_type if released_at is not None else None,
        "releaserId": device.releaser_id if released_at is not None else None,
    }


def render(
    devices: Sequence[Device],
    org: Org,
    *,
    links: Links,
    fields: frozenset[str] | None,
    released: Mapping[str, datetime] | None = None,
) -> list[dict[str, Any]]:
    """orgDevice resources; `released` maps the serials of released devices to their release time."""
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
            "activationLockStatus": {  # abm-api-2.md §2.9, both variants
                "links": {
                    "self": links.url(f"{path}/relationships/activationLockStatus"),
                    "related": links.url(f"{path}/activationLockStatus"),
                }
            },
        }
        resources.append(
            {
                "type": TYPE,
                "id": device.serial_number,  # an orgDevice's id is its serial number (§1.3)
                "attributes": sparse(
                    attributes(device, org, (released or {}).get(device.serial_number)), fields
                ),
                "relationships": sparse(relationships, fields),
                "links": {"self": links.url(path)},
            }
        )
    return resources


@dataclass(frozen=True, slots=True)
class OrgDevice:
    """A device as this org sees it: in the org, or released from it at `released_at`."""

    device: Device
    released_at: datetime | None = None

    @property
    def server_id(self) -> int | None:
        return self.device.server_id if self.released_at is None else None

    @property
    def released(self) -> dict[str, datetime]:
        return {self.device.serial_number: self.released_at} if self.released_at else {}


async def get_device(db: AsyncSession, *, org: Org, serial: str) -> OrgDevice:
    """The org's device by serial, or one it released (its last trail entry is a removal); else 404."""
    if not 0 < len(serial) <= 64 or "\x00" in serial:
        raise not_found(TYPE, serial)
    device = await db.scalar(select(Device).where(Device.serial_number == serial))
    if device is None:
        raise not_found(TYPE, serial)
    if device.org_id == org.id:
        return OrgDevice(device)
    if device.org_id is None and device.released_org_id == org.id and device.released_at is not None:
        return OrgDevice(device, released_at=device.released_at)
    last = (
        await db.execute(
            select(AuditEvent.event_type, AuditEvent.occurred_at)
            .where(
                AuditEvent.serial_number == serial,
                AuditEvent.org_id == org.id,
                AuditEvent.event_type.in_((audit.ADDED, audit.REMOVED)),
            )
            .order_by(AuditEvent.id.desc())
            .limit(1)
        )
    ).first()
    if last is None or last[0] != audit.REMOVED:
        raise not_found(TYPE, serial)
    return OrgDevice(device, released_at=last[1])


async def list_devices(
    db: AsyncSession, *, org: Org, page: PageRequest, links: Links, fields: frozenset[str] | None
) -> dict[str, Any]:
    """Keyset pages in serial-number order (index ix_device_org_serial), with the devices released
    from the org (`releasedFromOrgDateTime` set, as in Apple's list example) while its setting
    `released_devices` is `listed` (observed F2; index ix_device_released_org_serial): two keyset
    reads merged by serial number."""
    wheres = [[Device.org_id == org.id]]
    if org_setting(org, "released_devices") == "listed":
        wheres.append([Device.released_org_id == org.id, Device.org_id.is_(None)])
    read: list[Device] = []
    total = 0
    for where in wheres:
        query = select(Device).where(*where)
        if page.after is not None:
            query = query.where(Device.serial_number > page.after)
        read += await db.scalars(query.order_by(Device.serial_number).limit(page.fetch))
        total += await db.scalar(select(func.count()).select_from(Device).where(*where)) or 0
    read.sort(key=lambda d: d.serial_number)
    devices, next_key = cut_page(read[: page.fetch], page.limit, lambda d: d.serial_number)
    released = {d.serial_number: d.released_at for d in devices if d.org_id is None and d.released_at}
    data = render(devices, org, links=links, fields=fields, released=released)
    return list_document(data, links=links, page=page, next_key=next_key, total=total)


async def one_device(
    db: AsyncSession, *, org: Org, serial: str, links: Links, fields: frozenset[str] | None
) -> dict[str, Any]:
    found = await get_device(db, org=org, serial=serial)
    data = render([found.device], org, links=links, fields=fields, released=found.released)[0]
    return {"data": data, "links": {"self": links.self_url}}


async def assigned_server_linkage(db: AsyncSession, *, org: Org, serial: str, links: Links) -> dict[str, Any]:
    """`GET /v1/orgDevices/{id}/relationships/assignedServer`: `{type, id}` or null when unassigned."""
    found = await get_device(db, org=org, serial=serial)
    server_uuid = await _server_uuid(db, found.server_id)
    return {
        "data": {"type": servers.TYPE, "id": server_uuid} if server_uuid else None,
        "links": {
            "self": links.self_url,
            "related": links.url(f"/v1/orgDevices/{found.device.serial_number}/assignedServer"),
        },
    }


async def assigned_server(
    db: AsyncSession, *, org: Org, serial: str, links: Links, fields: frozenset[str] | None
) -> dict[str, Any]:
    """`GET /v1/orgDevices/{id}/assignedServer`: the mdmServer resource, or null when unassigned."""
    found = await get_device(db, org=org, serial=serial)
    server = await db.get(MdmServer, found.server_id) if found.server_id is not None else None
    data = (await servers.render(db, [server], links=links, fields=fields))[0] if server else None
    return {"data": data, "links": {"self": links.self_url}}


async def _server_uuid(db: AsyncSession, server_id: int | None) -> str | None:
    if server_id is None:
        return None
    uuid: str | None = await db.scalar(select(MdmServer.server_uuid).where(MdmServer.id == server_id))
    return uuid


async def apple_care_coverage(
    db: AsyncSession, *, org: Org, serial: str, page: PageRequest, links: Links, fields: frozenset[str] | None
) -> dict[str, Any]:
    """Every device has Apple's one-year Limited Warranty from its order (or addition) date (id
    `{serial}-LW`), then its AppleCare+ contracts by start date (id: the agreement number, as in
    Apple's example; dep_emulator.apple_care). Keyset pages by position in that order."""
    device = (await get_device(db, org=org, serial=serial)).device
    warranty = apple_care.limited_warranty(device, now=await clock.now(db))
    items = [(f"{device.serial_number}-LW", warranty)]
    for contract in await apple_care.contracts(db, device_id=device.id):
        items.append((contract.agreement_number, apple_care.out(contract).model_dump()))
    ids = [item_id for item_id, _ in items]
    first = ids.index(page.after) + 1 if page.after in ids else 0
    shown = items[first : first + page.limit]
    more = first + page.limit < len(items)
    data = [
        {"type": COVERAGE_TYPE, "id": item_id, "attributes": sparse(_coverage(attributes), fields)}
        for item_id, attributes in shown
    ]
    return list_document(
        data, links=links, page=page, next_key=shown[-1][0] if more else None, total=len(items)
    )


def _coverage(attributes: dict[str, Any]) -> dict[str, Any]:
    """Apple's attribute order, times as the rest of the API writes them."""
    out = {key: attributes[key] for key in COVERAGE_FIELDS}
    for key in ("startDateTime", "endDateTime", "contractCancelDateTime"):
        out[key] = _time(out[key])
    return out
