"""Adding listed devices (the portal's CSV, a JSON list): staged with COPY, written as sets (issue 14).

Rows are validated one by one as `DeviceIn` (in a thread, so the event loop keeps serving) and
COPYed into a temporary table in batches while the request body streams in: memory stays flat
for a million-row CSV. Then a handful of statements decide and write everything at once:
serials repeated in the list or owned by an org → 409 naming them, nothing written; serials
released earlier are revived (the row keeps its history); the rest are inserted, each with a
DEVICE_ADDED_TO_ORG audit row. With a server they arrive assigned to it, written as generated
devices are (`dep_emulator.bulk.generation`: `added` events and history rows from the devices).
"""

from __future__ import annotations

import asyncio
import codecs
import csv
from collections.abc import AsyncIterator, Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from pydantic import ValidationError
from sqlalchemy.ext.asyncio import AsyncSession

from ..core.errors import ControlError
from ..devices import audit
from ..devices import events as feed
from ..devices.locking import lock_servers, references_held
from ..devices.schemas import DeviceIn
from ..orgs.models import MdmServer, Org
from . import generation as bulk

BATCH = 5000
CSV_LIST_SEPARATOR = ";"  # imei/meid cells hold several values: "35 123456 789012 3;35 ..."
FIELDS = (
    "serial_number", "model", "description", "color", "device_family", "os", "asset_tag", "order_number",
    "order_date", "wifi_mac_address", "bluetooth_mac_address", "ethernet_mac_address", "imei", "meid",
    "eid", "mdm_migration_deadline",
)  # fmt: skip
_STAGE = """
CREATE TEMP TABLE device_import (
    line bigint PRIMARY KEY, serial_number text, model text, description text, color text,
    device_family text, os text, asset_tag text, order_number text, order_date timestamptz,
    wifi_mac_address text, bluetooth_mac_address text, ethernet_mac_address text,
    imei text[], meid text[], eid text, mdm_migration_deadline timestamptz
) ON COMMIT DROP
"""
_SETS = ", ".join(f"{name} = i.{name}" for name in FIELDS[1:])
_VALUES = ", ".join(f"i.{name}" for name in FIELDS[1:])
# A device new to the org: no server, a fresh profile state, not a replacement.
_ASSIGNMENT = """
    server_id = $3::int,
    feed_seq = CASE WHEN $3::int IS NULL THEN 0 ELSE $4::bigint + i.line - $5::bigint END,
    device_assigned_date = CASE WHEN $3::int IS NULL THEN NULL ELSE $2::timestamptz END,
    device_assigned_by = CASE WHEN $3::int IS NULL THEN NULL ELSE $6::text END
"""
_REVIVE = f"""
UPDATE device d SET {_SETS}, org_id = $1::bigint, created_at = $2::timestamptz, updated_at = $2::timestamptz,
       {_ASSIGNMENT},
       is_replacement_device = false, replaces_serial_number = NULL, replacement_date = NULL,
       released_org_id = NULL, released_at = NULL, releaser_type = NULL, releaser_id = NULL,
       profile_uuid = NULL, profile_status = 'empty', profile_assign_time = NULL, profile_push_time = NULL
FROM device_import i WHERE d.serial_number = i.serial_number
"""
_INSERT = f"""
INSERT INTO device (serial_number, org_id, {", ".join(FIELDS[1:])}, profile_status, is_replacement_device,
                    created_at, updated_at, server_id, feed_seq, device_assigned_date, device_assigned_by)
SELECT i.serial_number, $1::bigint, {_VALUES}, 'empty', false, $2::timestamptz, $2::timestamptz, $3::int,
       CASE WHEN $3::int IS NULL THEN 0 ELSE $4::bigint + i.line - $5::bigint END,
       CASE WHEN $3::int IS NULL THEN NULL ELSE $2::timestamptz END,
       CASE WHEN $3::int IS NULL THEN NULL ELSE $6::text END
FROM device_import i
WHERE NOT EXISTS (SELECT 1 FROM device d WHERE d.serial_number = i.serial_number)
ORDER BY i.line
"""
_AUDIT = """
INSERT INTO audit_event (org_id, event_type, occurred_at, group_id, actor_type, actor_id,
                         serial_number, device_model, server_uuid, server_name, details)
SELECT $1::bigint, k.event_type, $2::timestamptz, k.group_id, k.actor_type, k.actor_id,
       i.serial_number, i.model, k.server_uuid, k.server_name,
       CASE WHEN k.step = 1 THEN jsonb_build_object('orderNumber', i.order_number) ELSE '{}'::jsonb END
FROM device_import i
CROSS JOIN (SELECT * FROM unnest($3::int[], $4::text[], $5::text[], $6::text[], $7::text[], $8::text[],
                                 $9::text[]) AS k(step, event_type, group_id, actor_type, actor_id,
                                                  server_uuid, server_name)) AS k
ORDER BY i.line, k.step
"""


@dataclass(frozen=True, slots=True)
class Imported:
    count: int
    serials: list[str]  # the first 1000, in list order
    device_ids: list[int]  # in list order (only when asked for)


def _cells(header: list[str], row: list[str], line: int) -> dict[str, object]:
    """One CSV record as DeviceIn input: blank cells left out, imei/meid split on `;`."""
    if len(row) > len(header):
        raise ControlError(422, "invalid_csv", f"line {line}: more cells than header columns")
    values: dict[str, object] = {}
    for key, value in zip(header, row, strict=False):
        value = value.strip()
        if value:
            values[key] = value.split(CSV_LIST_SEPARATOR) if key in ("imei", "meid") else value
    return values


def _validated(line: int, values: dict[str, object]) -> DeviceIn:
    try:
        return DeviceIn.model_validate(values)
    except ValidationError as exc:
        err = exc.errors()[0]
        where = ".".join(str(p) for p in err["loc"])
        raise ControlError(422, "invalid_csv", f"line {line}: {where}: {err['msg']}") from None


def _record(line: int, device: DeviceIn) -> tuple[Any, ...]:
    values = device.model_dump(include=set(FIELDS))
    values["imei"] = values["imei"] or []
    values["meid"] = values["meid"] or []
    return (line, *(values[name] for name in FIELDS))


def _csv_records(header: list[str], first_line: int, records: list[str]) -> list[tuple[Any, ...]]:
    """Parse and validate one batch of CSV records (runs in a thread)."""
    out = []
    for line, row in enumerate(csv.reader(records), start=first_line):
        device = _validated(line, _cells(header, row, line))
        out.append(_record(line, device))
    return out


class CsvRecords:
    """Splits a streamed UTF-8 body into whole CSV records (a quoted cell may hold line breaks)."""

    def __init__(self) -> None:
        self._decoder = codecs.getincrementaldecoder("utf-8")()
        self._tail = ""
        self._open: list[str] = []  # lines of a record whose quotes are still open

    def feed(self, data: bytes, *, final: bool = False) -> list[str]:
        try:
            text = self._tail + self._decoder.decode(data, final=final)
        except UnicodeDecodeError:
            raise ControlError(422, "invalid_csv", "the CSV is not UTF-8") from None
        lines = text.split("\n")
        self._tail = "" if final else lines.pop()
        records = []
        for line in lines:
            self._open.append(line)
            if sum(part.count('"') for part in self._open) % 2 == 0:
                records.append("\n".join(self._open))
                self._open = []
        if final and self._open:
            records.append("\n".join(self._open))
        return records


async def _records(body: AsyncIterator[bytes]) -> AsyncIterator[list[str]]:
    splitter = CsvRecords()
    async for data in body:
        yield splitter.feed(data)
    yield splitter.feed(b"", final=True)


async def csv_batches(body: AsyncIterator[bytes]) -> AsyncIterator[list[tuple[Any, ...]]]:
    """Staging records of a streamed portal CSV: a header row naming Device fields (serial_number
    required), one device a record (blank ones skipped); 422 `invalid_csv` naming the line of the
    first bad one."""
    no_header = ControlError(
        422, "invalid_csv", "the first row must be a header naming serial_number and others"
    )
    header: list[str] | None = None
    line = 1  # the header's
    pending: list[str] = []
    async for records in _records(body):
        for record in records:
            if not record.strip():
                continue
            if header is None:
                header = [h.strip() for h in next(csv.reader([record.lstrip("\ufeff")]), [])]
                if "serial_number" not in header:
                    raise no_header
                continue
            pending.append(record)
        while len(pending) >= BATCH:
            batch, pending = pending[:BATCH], pending[BATCH:]
            yield await asyncio.to_thread(_csv_records, header or [], line + 1, batch)
            line += len(batch)
    if header is None:
        raise no_header
    if pending:
        yield await asyncio.to_thread(_csv_records, header, line + 1, pending)
    elif line == 1:
        raise ControlError(422, "invalid_csv", "no devices in the CSV")


async def list_batches(devices: Sequence[DeviceIn]) -> AsyncIterator[list[tuple[Any, ...]]]:
    """Staging records of an already validated list (line = position)."""
    for start in range(0, len(devices), BATCH):
        yield [_record(start + i, d) for i, d in enumerate(devices[start : start + BATCH])]


async def import_devices(
    db: AsyncSession,
    *,
    org: Org,
    batches: AsyncIterator[list[tuple[Any, ...]]],
    server: MdmServer | None = None,
    actor: str | None = None,
    now: datetime,
    on_duplicates: Callable[[Sequence[str]], Exception],
    server_gone: Callable[[str], Exception],
    with_ids: bool = False,
) -> Imported:
    """Add the staged devices to the org (and to `server`); 409 naming every duplicate, nothing written.

    `actor` None: the org's administrator added (and assigned) them.
    """
    await db.flush()
    conn = await bulk.raw_connection(db)
    await conn.execute("DROP TABLE IF EXISTS device_import")
    await conn.execute(_STAGE)
    columns = ["line", *FIELDS]
    async for records in batches:
        await conn.copy_records_to_table("device_import", records=records, columns=columns)
    count, first_line = await conn.fetchrow("SELECT count(*), coalesce(min(line), 0) FROM device_import")
    if count == 0:
        await conn.execute("DROP TABLE device_import")
        return Imported(count=0, serials=[], device_ids=[])
    # Lock what exists (in id order, as every writer does), then refuse what is taken.
    await conn.execute(
        "SELECT d.id FROM device d JOIN device_import i USING (serial_number) ORDER BY d.id FOR UPDATE OF d"
    )
    taken = await conn.fetch(
        """
        SELECT serial_number FROM device_import GROUP BY serial_number HAVING count(*) > 1
        UNION
        SELECT d.serial_number FROM device d JOIN device_import i USING (serial_number)
        WHERE d.org_id IS NOT NULL
        """
    )
    if taken:
        raise on_duplicates(sorted(row[0] for row in taken))
    first_seq = 0
    assigned_by = actor or org.email
    if server is not None:
        if server.id not in await lock_servers(db, server_ids=[server.id]):
            raise server_gone(server.server_uuid)
        first_seq = (await feed.allocate(db, {server.id: count}))[server.id]
    server_id = server.id if server is not None else None
    args = (org.id, now, server_id, first_seq, first_line, assigned_by)
    async with references_held(conn, org_id=org.id, rows=count):
        await conn.execute(_REVIVE, *args)
        await conn.execute(_INSERT, *args)
        await _audit(conn, org=org, server=server, actor=actor, now=now)
        if server is not None:
            trail = (server.id, first_seq, now, count)
            await conn.execute(bulk.ASSIGNED_EVENTS, *trail)
            await conn.execute(bulk.ASSIGNED_HISTORY, *trail, server.server_uuid, assigned_by)
    serials = [
        r[0] for r in await conn.fetch("SELECT serial_number FROM device_import ORDER BY line LIMIT 1000")
    ]
    ids: list[int] = []
    if with_ids:
        rows = await conn.fetch(
            "SELECT d.id FROM device_import i JOIN device d USING (serial_number) ORDER BY i.line"
        )
        ids = [row[0] for row in rows]
    await conn.execute("DROP TABLE device_import")
    return Imported(count=count, serials=serials, device_ids=ids)


async def _audit(conn: Any, *, org: Org, server: MdmServer | None, actor: str | None, now: datetime) -> None:
    """DEVICE_ADDED_TO_ORG for each device, then DEVICE_ASSIGNED_TO_SERVER when assigning."""
    steps: list[tuple[int, str, str, audit.Actor, str | None, str | None]] = [
        (1, audit.ADDED, audit.new_group(), audit.actor_for(actor, admin=org.email), None, None)
    ]
    if server is not None:
        who = audit.actor_for(actor, admin=org.email)
        steps.append((2, audit.ASSIGNED, audit.new_group(), who, server.server_uuid, server.server_name))
    columns: Iterable[Any] = zip(
        *((step, kind, group, who.type, who.id, uuid, name) for step, kind, group, who, uuid, name in steps),
        strict=True,
    )
    await conn.execute(_AUDIT, org.id, now, *(list(c) for c in columns))
