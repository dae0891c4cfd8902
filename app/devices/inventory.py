"""Control-API reads of the inventory and the portal-side helpers behind its routes."""

from __future__ import annotations

import base64
import binascii
import csv
import json
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from functools import cache
from typing import Any

from sqlalchemy import TextClause, func, select, text
from sqlalchemy.ext.asyncio import AsyncSession

from ..core.errors import ControlError, not_found
from ..orgs.models import MdmServer, Org
from . import locking
from .assignments import assign_locked
from .models import Device, DeviceAssignment

LIST_MAX = 1000


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


def _json_text(column: str) -> str:
    """JSON text of a nullable text column (`to_json` escapes it); `null` when absent."""
    return f"coalesce(to_json({column})::text, 'null')"


def _json_time(column: str) -> str:
    """JSON text of a nullable timestamptz as pydantic writes a UTC datetime (DeviceOut): ISO 8601
    with `Z`, the six digits of microseconds only when there are any; `null` when absent."""
    utc = f"({column}) AT TIME ZONE 'UTC'"
    fraction = f"CASE WHEN date_trunc('second', {column}) = {column} THEN '' ELSE to_char({utc}, '.US') END"
    return f"""coalesce('"' || to_char({utc}, 'YYYY-MM-DD"T"HH24:MI:SS') || {fraction} || 'Z"', 'null')"""


# One DeviceOut (schemas.py) of the list, in its key order, with `history` null. `fields` is the
# device's stored wire text: Apple's Device object at the latest protocol, which is ungated
# (migration 0010; tests/devices/test_feed_sql.py holds it to wire.device_fields).
_DEVICE_OUT = " || ".join(
    [
        """'{"serial_number":' || to_json(d.serial_number)::text""",
        """',"org_id":"' || d.org_id || '"'""",  # the listed org's: never null here
        f"""',"server_uuid":' || {_json_text("d.server_uuid")}""",
        f"""',"order_number":' || {_json_text("d.order_number")}""",
        f"""',"order_date":' || {_json_time("d.order_date")}""",
        f"""',"replaces_serial_number":' || {_json_text("d.replaces_serial_number")}""",
        f"""',"replacement_date":' || {_json_time("d.replacement_date")}""",
        """',"fields":' || d.wire""",
        """',"history":' || 'null}'""",  # (not ':null' in one literal: text() would take it for a bind)
    ]
)


@cache
def list_page_sql(*, server: bool, order_number: bool, serial: bool, after: bool) -> TextClause:
    """One keyset page of an org's devices by serial number, as JSON text built by PostgreSQL.

    `devices` is the page's DeviceOut objects joined by commas (NULL for none), `last_serial` the
    last one's serial, `more` whether another device matches after it. As the feed pages do
    (feed_read.py): one ordered aggregate over the LIMIT, and an ordered probe for one more row.
    """
    where = ["org_id = :org"]
    where += ["server_id = :server"] if server else []
    where += ["order_number = :order_number"] if order_number else []
    where += ["serial_number = :serial"] if serial else []
    matches = " AND ".join(where)
    return text(f"""
    SELECT page.last_serial, page.devices,
           (SELECT serial_number FROM device
            WHERE {matches} AND serial_number > page.last_serial
            ORDER BY serial_number LIMIT 1) IS NOT NULL AS more
    FROM (
        SELECT max(d.serial_number) AS last_serial,
               string_agg({_DEVICE_OUT}, ',' ORDER BY d.serial_number) AS devices
        FROM (
            SELECT device.serial_number, device.org_id, device.order_number, device.order_date,
                   device.replaces_serial_number, device.replacement_date, device.wire,
                   (SELECT server_uuid FROM mdm_server WHERE mdm_server.id = device.server_id) AS server_uuid
            FROM device
            WHERE {matches}{" AND serial_number > :after" if after else ""}
            ORDER BY serial_number LIMIT :n
        ) d
    ) page""")


@dataclass(frozen=True, slots=True)
class DevicePage:
    """A page of the inventory list whose devices are already JSON (DeviceOut objects joined by commas)."""

    devices_json: str
    next_cursor: str | None

    def render(self) -> bytes:
        """The control API's DeviceList body."""
        return f'{{"devices":[{self.devices_json}],"next_cursor":{json.dumps(self.next_cursor)}}}'.encode()

    def devices(self) -> list[dict[str, Any]]:
        """The page's devices as DeviceOut-shaped dicts (the console's page)."""
        parsed: list[dict[str, Any]] = json.loads(f"[{self.devices_json}]")
        return parsed


async def list_devices(
    db: AsyncSession,
    *,
    org: Org,
    server_uuid: str | None,
    order_number: str | None,
    serial: str | None,
    limit: int,
    cursor: str | None,
) -> DevicePage:
    """The org's devices by serial (keyset pages); filters combine with AND.

    One statement builds the page's JSON (issue 15): no Python object per listed device.
    """
    params: dict[str, object] = {"org": org.id, "n": limit}
    if server_uuid is not None:
        server = await db.scalar(select(MdmServer).where(MdmServer.server_uuid == server_uuid.upper()))
        if server is None or server.org_id != org.id:
            raise not_found("MDM server", server_uuid)
        params["server"] = server.id
    if order_number is not None:
        params["order_number"] = order_number
    if serial is not None:
        params["serial"] = serial
    after = _after_serial(cursor)
    if after is not None:
        params["after"] = after
    statement = list_page_sql(
        server=server_uuid is not None,
        order_number=order_number is not None,
        serial=serial is not None,
        after=after is not None,
    )
    row = (await db.execute(statement, params)).one()
    return DevicePage(row.devices or "", _page_token(row.last_serial) if row.more else None)


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
