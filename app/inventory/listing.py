"""The inventory list (`GET /emulator/v1/orgs/{id}/devices`, the console's Devices page), built by
PostgreSQL in one statement on the hot pool (issue 15).

Per listed device, `wire.device_fields` and a pydantic `DeviceOut` cost about 16 ms of CPU per
page of 100, and the ORM session around the page (BEGIN, the org's `Session.get`, COMMIT) as
much again as the page's statement. Here one statement checks the org and the MDM server filter
and returns the page's JSON, as the fetch and sync pages do (dep_emulator.feed.read): the keyset read of
the org's devices by serial number, one ordered aggregate over the LIMIT and an ordered probe
for one more device. A single statement reads one snapshot; the list writes nothing.

The text must say what `DeviceList(devices=[router.device_out(view) ...])` says, less the
`software` view that GET one device adds (derived per device in Python, dep_emulator.devices.software): same
keys in the same order, nulls, times in pydantic's form, cursors (tests/devices/test_inventory_list.py
compares every device with `GET /emulator/v1/devices/{serial}`).
"""

from __future__ import annotations

import base64
import binascii
import json
from dataclasses import dataclass
from functools import cache
from typing import Any

import asyncpg
from sqlalchemy import TextClause, text

from ..core import driver
from ..core.errors import ControlError, not_found
from ..orgs.settings import ORG_SETTINGS

LIST_MAX = 1000


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
        """',"org_id":' || coalesce('"' || d.org_id || '"', 'null')""",  # null: released (F2)
        f"""',"server_uuid":' || {_json_text("d.server_uuid")}""",
        f"""',"order_number":' || {_json_text("d.order_number")}""",
        f"""',"order_date":' || {_json_time("d.order_date")}""",
        f"""',"replaces_serial_number":' || {_json_text("d.replaces_serial_number")}""",
        f"""',"replacement_date":' || {_json_time("d.replacement_date")}""",
        """',"released_from_org_id":' || coalesce('"' || d.released_org_id || '"', 'null')""",
        f"""',"released_at":' || {_json_time("d.released_at")}""",
        """',"fields":' || d.wire""",
        """',"history":' || 'null}'""",  # (not ':null' in one literal: text() would take it for a bind)
    ]
)


@cache
def list_page_sql(*, server: bool, order_number: bool, serial: bool, after: bool) -> TextClause:
    """One keyset page of an org's devices by serial number, as JSON text built by PostgreSQL.

    `org_found` and `server_found` say whether the org exists and the `:server_uuid` filter names
    one of its MDM servers; `devices` is the page's DeviceOut objects joined by commas (NULL for
    none), `last_serial` the last one's serial and `more` whether another device matches after it.
    Without a server filter the devices released from the org are listed too while its setting
    `released_devices` is `listed` (observed F2): a second keyset read, merged by serial number.
    """
    filters = ["order_number = :order_number"] if order_number else []
    filters += ["serial_number = :serial"] if serial else []
    filters += ["serial_number > :after"] if after else []
    where = ["org_id = :org", *filters]
    where += ["server_id = (SELECT id FROM listed_server)"] if server else []
    listed_server = (
        "listed_server AS (SELECT id FROM mdm_server WHERE server_uuid = :server_uuid AND org_id = :org),"
        if server
        else ""
    )
    found = "EXISTS (SELECT FROM listed_server)" if server else "true"
    columns = """device.serial_number, device.org_id, device.order_number, device.order_date,
                   device.replaces_serial_number, device.replacement_date, device.released_org_id,
                   device.released_at, device.wire, device.server_id"""
    reads = [f"SELECT {columns} FROM device WHERE {' AND '.join(where)}"]
    if not server:  # a released device has no server
        released = ["released_org_id = :org", "org_id IS NULL", *filters]
        reads.append(
            f"SELECT {columns} FROM device WHERE {' AND '.join(released)} AND (SELECT coalesce("
            "settings->>'released_devices', :released_default) FROM org WHERE id = :org) = 'listed'"
        )
    # The reads merged in serial order (a Merge Append of index scans), one more than the page.
    branches = [f"{read} ORDER BY serial_number LIMIT :probe" for read in reads]
    matched = branches[0] if len(branches) == 1 else " UNION ALL ".join(f"({b})" for b in branches)
    if len(branches) > 1:
        matched += " ORDER BY serial_number LIMIT :probe"
    return text(f"""
    WITH {listed_server} listed_org AS (SELECT id FROM org WHERE id = :org)
    SELECT EXISTS (SELECT FROM listed_org) AS org_found, {found} AS server_found,
           page.last_serial, page.devices, page.matched > :n AS more
    FROM (
        SELECT max(d.serial_number) FILTER (WHERE d.rank <= :n) AS last_serial,
               string_agg({_DEVICE_OUT}, ',' ORDER BY d.serial_number) FILTER (WHERE d.rank <= :n) AS devices,
               count(*) AS matched
        FROM (
            SELECT m.*, row_number() OVER (ORDER BY m.serial_number) AS rank,
                   (SELECT server_uuid FROM mdm_server WHERE mdm_server.id = m.server_id) AS server_uuid
            FROM ({matched}) m
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
    conn: asyncpg.Connection,
    *,
    org_id: str,
    server_uuid: str | None,
    order_number: str | None,
    serial: str | None,
    limit: int,
    cursor: str | None,
) -> DevicePage:
    """The org's devices by serial (keyset pages); filters combine with AND.

    404 for an unknown org, then for an MDM server not of this org, then 400 for a cursor this
    API did not return (the order of the checks the ORM version made one by one).
    """
    org = int(org_id) if org_id.isdigit() and len(org_id) < 19 else None  # as orgs.service.get_org
    if org is None:
        raise not_found("org", org_id)
    params: dict[str, object] = {"org": org, "n": limit, "probe": limit + 1}
    if server_uuid is None:
        params["released_default"] = ORG_SETTINGS["released_devices"].default
    if server_uuid is not None:
        params["server_uuid"] = server_uuid.upper()
    if order_number is not None:
        params["order_number"] = order_number
    if serial is not None:
        params["serial"] = serial
    bad_cursor = None
    try:
        after = _after_serial(cursor)
    except ControlError as exc:
        after, bad_cursor = None, exc
    if after is not None:
        params["after"] = after
    statement = list_page_sql(
        server=server_uuid is not None,
        order_number=order_number is not None,
        serial=serial is not None,
        after=after is not None,
    )
    row = await driver.fetchrow(conn, statement, params)
    if not row["org_found"]:
        raise not_found("org", org_id)
    if not row["server_found"]:
        raise not_found("MDM server", server_uuid or "")
    if bad_cursor is not None:
        raise bad_cursor
    return DevicePage(row["devices"] or "", _page_token(row["last_serial"]) if row["more"] else None)
