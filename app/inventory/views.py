"""Control-API reads of one device and the portal-side helpers behind the inventory's routes
(the list is `listing.py`)."""

from __future__ import annotations

import csv
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from ..core.errors import ControlError, not_found
from ..devices import locking, software
from ..devices.models import Device, DeviceAssignment
from ..devices.schemas import SoftwareOut
from ..orgs.models import MdmServer, Org
from .assignments import assign_locked


@dataclass(frozen=True, slots=True)
class DeviceView:
    device: Device
    server_uuid: str | None
    history: list[DeviceAssignment] | None = None


async def _server_uuid_map(db: AsyncSession, ids: set[int]) -> dict[int, str]:
    if not ids:
        return {}
    rows = await db.execute(select(MdmServer.id, MdmServer.server_uuid).where(MdmServer.id.in_(ids)))
    return {row[0]: row[1] for row in rows}


async def get_device(db: AsyncSession, *, serial: str) -> DeviceView:
    """Any device we know (also released ones), with its assignment history."""
    device = (
        await db.scalar(select(Device).where(Device.serial_number == serial))
        if locking.usable_serial(serial)
        else None
    )
    if device is None:
        raise not_found("device", serial)
    uuids = await _server_uuid_map(db, {device.server_id} if device.server_id else set())
    history = await db.scalars(
        select(DeviceAssignment).where(DeviceAssignment.device_id == device.id).order_by(DeviceAssignment.id)
    )
    return DeviceView(device, uuids.get(device.server_id or 0), list(history))


async def assign_order(
    db: AsyncSession,
    *,
    org: Org,
    server: MdmServer | None,
    order_number: str,
    assigned_by: str,
    source: str | None = None,
) -> dict[str, str]:
    """Assign every device of one order (the portal's "assign by order number")."""
    ids = await locking.lock_device_ids(
        db, where="org_id = :org AND order_number = :order", params={"org": org.id, "order": order_number}
    )
    return await assign_locked(
        db, org=org, server=server, device_ids=ids, assigned_by=assigned_by, source=source
    )


def _check_header(fieldnames: Sequence[str] | None) -> int:
    """Index of the serial_number column of the portal's CSV header; 422 without one."""
    names = [f.strip().lstrip("\ufeff") for f in fieldnames or ()]
    if "serial_number" not in names:
        raise ControlError(
            422, "invalid_csv", "the first row must be a header naming serial_number and others"
        )
    return names.index("serial_number")


def summary(results: Sequence[str]) -> dict[str, int]:
    counts: dict[str, int] = {}
    for result in results:
        counts[result] = counts.get(result, 0) + 1
    return counts


async def count_by_server(db: AsyncSession, *, server_ids: Sequence[int]) -> dict[int, int]:
    """Devices assigned to each server (the portal's "devices assigned" column)."""
    if not server_ids:
        return {}
    rows = await db.execute(
        select(Device.server_id, func.count())
        .where(Device.server_id.in_(list(server_ids)))
        .group_by(Device.server_id)
    )
    return {int(row[0] or 0): int(row[1]) for row in rows}


def serials_from_csv(lines: Iterable[str]) -> list[str]:
    """The serial_number column of the same CSV as `parse_csv`, read row by row (a stream, so a
    100,000-row upload is never held whole); blank cells are skipped."""
    reader = csv.reader(lines)
    column = _check_header(next(reader, None))
    serials = [row[column].strip() for row in reader if len(row) > column and row[column].strip()]
    if not serials:
        raise ControlError(422, "invalid_csv", "no devices in the CSV")
    return serials


async def order_serials(db: AsyncSession, *, org: Org, order_number: str) -> list[str]:
    """Serials of the org's devices of one order (Manage Devices → Order Number)."""
    rows = await db.scalars(
        select(Device.serial_number)
        .where(Device.org_id == org.id, Device.order_number == order_number)
        .order_by(Device.id)
    )
    return list(rows)


def software_out(d: Device) -> SoftwareOut:
    now = software.effective(d)
    return SoftwareOut(
        product_type=now.product_type,
        part_number=software.part_number(d.model, d.color, d.description),
        os_version=now.os_version,
        os_build=now.os_build,
        os_supplemental_extra=now.supplemental_extra,
        supplemental_build_version=now.supplemental_build,
    )
