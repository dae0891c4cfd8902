"""Bulk load of generated devices with PostgreSQL COPY, inside the request's transaction.

A million devices is a supported org size (issue 3); row-by-row ORM inserts would take minutes.
Devices are generated lazily and copied in chunks, each chunk checked for serials that already
exist; the caller's exception rolls the whole transaction back, so nothing is half-written.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable, Iterator, Sequence
from datetime import datetime
from itertools import islice
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from . import audit
from .generator import GeneratedDevice

COPY_CHUNK = 20_000
RETURNED_SERIALS = 1000
COLUMNS = (
    "serial_number",
    "org_id",
    "feed_seq",
    "model",
    "description",
    "color",
    "device_family",
    "os",
    "asset_tag",
    "order_number",
    "order_date",
    "wifi_mac_address",
    "bluetooth_mac_address",
    "ethernet_mac_address",
    "imei",
    "meid",
    "eid",
    "is_replacement_device",
    "profile_status",
    "created_at",
    "updated_at",
)


async def raw_connection(db: AsyncSession) -> Any:
    """The asyncpg connection under the session, in the session's transaction."""
    connection = await db.connection()
    raw = await connection.get_raw_connection()
    return raw.driver_connection


def _batches(items: Iterable[GeneratedDevice], size: int) -> Iterator[list[GeneratedDevice]]:
    iterator = iter(items)
    while batch := list(islice(iterator, size)):
        yield batch


async def copy_generated(
    db: AsyncSession,
    *,
    org_id: int,
    specs: Iterable[GeneratedDevice],
    now: datetime,
    on_duplicates: Callable[[Sequence[str]], Exception],
    actor: audit.Actor,
) -> list[str]:
    """COPY the devices into `device`, and their DEVICE_ADDED_TO_ORG events into `audit_event`;
    returns the first 1000 serials. Raises on existing serials."""
    await db.flush()
    group = audit.new_group()
    conn = await raw_connection(db)
    first: list[str] = []
    for batch in _batches(specs, COPY_CHUNK):
        serials = [d.serial_number for d in batch]
        clashes = await conn.fetch(
            "SELECT serial_number FROM device WHERE serial_number = ANY($1::text[])", serials
        )
        if clashes:
            raise on_duplicates([row[0] for row in clashes])
        records = [
            (
                d.serial_number,
                org_id,
                0,
                d.model,
                d.description,
                d.color,
                d.device_family,
                d.os,
                d.asset_tag,
                d.order_number,
                d.order_date,
                d.wifi_mac_address,
                d.bluetooth_mac_address,
                d.ethernet_mac_address,
                list(d.imei),
                list(d.meid),
                d.eid,
                False,
                "empty",
                now,
                now,
            )
            for d in batch
        ]
        await conn.copy_records_to_table("device", records=records, columns=COLUMNS)
        events = [
            (
                org_id,
                audit.ADDED,
                now,
                group,
                actor.type,
                actor.id,
                d.serial_number,
                d.model,
                None,
                None,
                json.dumps(audit.added_details(d.order_number)),
            )
            for d in batch
        ]
        await conn.copy_records_to_table("audit_event", records=events, columns=audit.COPY_COLUMNS)
        if len(first) < RETURNED_SERIALS:
            first += serials[: RETURNED_SERIALS - len(first)]
    return first
