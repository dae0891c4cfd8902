"""Control-API reads of the inventory and the portal-side helpers behind its routes."""

from __future__ import annotations

import base64
import binascii
import csv
import io
from collections.abc import Sequence
from dataclasses import dataclass
from types import SimpleNamespace
from typing import cast

from pydantic import ValidationError
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from ..core.errors import ControlError, not_found
from ..orgs.models import MdmServer, Org
from . import locking
from .assignments import assign_locked
from .models import Device, DeviceAssignment
from .schemas import DeviceIn

LIST_MAX = 1000
CSV_LIST_SEPARATOR = ";"  # imei/meid cells hold several values: "35 123456 789012 3;35 ..."


_LIST_COLUMNS = [c for c in Device.__table__.c if c.computed is None]


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


def _page_token(serial: str) -> str:
    return base64.urlsafe_b64encode(serial.encode()).decode().rstrip("=")


def _after_serial(token: str | None) -> str | None:
    if not token:
        return None
    try:
        return base64.urlsafe_b64decode(token + "=" * (-len(token) % 4)).decode()
    except (binascii.Error, ValueError, UnicodeDecodeError):
        raise ControlError(400, "invalid_cursor", "cursor is not one this API returned") from None


async def list_devices(
    db: AsyncSession,
    *,
    org: Org,
    server_uuid: str | None,
    order_number: str | None,
    serial: str | None,
    limit: int,
    cursor: str | None,
) -> tuple[list[DeviceView], str | None]:
    """The org's devices by serial (keyset pages); filters combine with AND."""
    # Core rows with Device's columns and the server's uuid in one statement: no ORM instance per
    # listed device, no second query (issue 15); the views read them as devices.
    query = (
        select(*_LIST_COLUMNS, MdmServer.server_uuid.label("listed_server_uuid"))
        .outerjoin(MdmServer, MdmServer.id == Device.server_id)
        .where(Device.org_id == org.id)
        .order_by(Device.serial_number)
    )
    if server_uuid is not None:
        server = await db.scalar(select(MdmServer).where(MdmServer.server_uuid == server_uuid.upper()))
        if server is None or server.org_id != org.id:
            raise not_found("MDM server", server_uuid)
        query = query.where(Device.server_id == server.id)
    if order_number is not None:
        query = query.where(Device.order_number == order_number)
    if serial is not None:
        query = query.where(Device.serial_number == serial)
    after = _after_serial(cursor)
    if after is not None:
        query = query.where(Device.serial_number > after)
    rows = list(await db.execute(query.limit(limit + 1)))
    more = len(rows) > limit
    rows = rows[:limit]
    # Plain attributes: a Row's are looked up by name on every access (device_fields reads 21 each).
    views = [
        DeviceView(cast(Device, SimpleNamespace(**row._asdict())), row.listed_server_uuid) for row in rows
    ]
    return views, _page_token(rows[-1].serial_number) if more else None


async def assign_order(
    db: AsyncSession, *, org: Org, server: MdmServer | None, order_number: str, assigned_by: str
) -> dict[str, str]:
    """Assign every device of one order (the portal's "assign by order number")."""
    ids = await locking.lock_device_ids(
        db, where="org_id = :org AND order_number = :order", params={"org": org.id, "order": order_number}
    )
    return await assign_locked(db, org=org, server=server, device_ids=ids, assigned_by=assigned_by)


def parse_csv(text: str) -> list[DeviceIn]:
    """The portal's CSV: a header row naming Device fields (serial_number required), one device a row."""
    reader = csv.DictReader(io.StringIO(text.lstrip("\ufeff")))
    if not reader.fieldnames or "serial_number" not in [f.strip() for f in reader.fieldnames]:
        raise ControlError(
            422, "invalid_csv", "the first row must be a header naming serial_number and others"
        )
    devices: list[DeviceIn] = []
    for line, row in enumerate(reader, start=2):
        values: dict[str, object] = {}
        for key, value in row.items():
            if key is None:
                raise ControlError(422, "invalid_csv", f"line {line}: more cells than header columns")
            value = (value or "").strip()
            if value == "":
                continue
            values[key.strip()] = (
                value.split(CSV_LIST_SEPARATOR) if key.strip() in ("imei", "meid") else value
            )
        try:
            devices.append(DeviceIn.model_validate(values))
        except ValidationError as exc:
            err = exc.errors()[0]
            where = ".".join(str(p) for p in err["loc"])
            raise ControlError(422, "invalid_csv", f"line {line}: {where}: {err['msg']}") from None
    if not devices:
        raise ControlError(422, "invalid_csv", "no devices in the CSV")
    return devices


def summary(results: Sequence[str]) -> dict[str, int]:
    counts: dict[str, int] = {}
    for result in results:
        counts[result] = counts.get(result, 0) + 1
    return counts
