"""Rows for PostgreSQL COPY in its text format, built away from the event loop (issue 14).

`generated_chunk` runs in a worker process (or a thread, for small requests): it generates one
chunk of devices and returns the COPY text of their `device` rows and of their audit trail, so
the service's event loop only moves bytes while a million devices are written. It imports
nothing but the generator, so a spawned worker starts in a fraction of a second.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from ..devices.generator import generate_devices
from ..devices.software import build_for

NULL = "\\N"
_ESCAPES = str.maketrans({"\\": "\\\\", "\t": "\\t", "\n": "\\n", "\r": "\\r"})
# The COPY columns of a generated device; an assigned one has the last three too.
DEVICE_COLUMNS = (
    "serial_number", "org_id", "feed_seq", "model", "description", "color", "device_family", "os",
    "asset_tag", "order_number", "order_date", "wifi_mac_address", "bluetooth_mac_address",
    "ethernet_mac_address", "imei", "meid", "eid", "is_replacement_device", "profile_status",
    "created_at", "updated_at", "os_version", "os_build",
)  # fmt: skip
ASSIGNED_COLUMNS = (*DEVICE_COLUMNS, "server_id", "device_assigned_date", "device_assigned_by")
AUDIT_COLUMNS = (
    "org_id", "event_type", "occurred_at", "group_id", "actor_type", "actor_id", "serial_number",
    "device_model", "server_uuid", "server_name", "details",
)  # fmt: skip


def field(value: object) -> str:
    """One value in COPY text format: NULL, escaped text, ISO time, t/f."""
    if value is None:
        return NULL
    if isinstance(value, bool):
        return "t" if value else "f"
    if isinstance(value, datetime):
        return value.isoformat()
    return str(value).translate(_ESCAPES)


def array(values: Sequence[str]) -> str:
    """A text[] value: quoted elements (backslash and quote escaped), then escaped for COPY."""
    quoted = ",".join('"' + v.replace("\\", "\\\\").replace('"', '\\"') + '"' for v in values)
    return ("{" + quoted + "}").translate(_ESCAPES)


@dataclass(frozen=True, slots=True)
class Audit:
    """The audit trail's fixed part for one request (dep_emulator.devices.audit)."""

    group: str
    actor_type: str  # who added the devices (the org's administrator)
    actor_id: str | None
    added: str  # DEVICE_ADDED_TO_ORG
    assigned: str  # DEVICE_ASSIGNED_TO_SERVER
    assigned_group: str
    assigned_actor_type: str  # who assigned them
    assigned_actor_id: str | None


@dataclass(frozen=True, slots=True)
class Chunk:
    """Devices `start .. start + count - 1` of one generator sequence, and where they go.

    With `server_id`, device `start + i` is assigned with feed_seq `first_seq + i - offset`.
    """

    count: int
    seed: int
    families: tuple[str, ...] | None
    order_number: str | None
    start: int
    now: datetime
    org_id: int
    audit: Audit
    server_id: int | None = None
    server_label: tuple[str, str] | None = None  # (uuid, name)
    assigned_by: str | None = None
    first_seq: int = 0
    os_version: str | None = None  # every device runs this (build per platform); None: the current one


@dataclass(frozen=True, slots=True)
class ChunkRows:
    devices: bytes  # COPY text, DEVICE_COLUMNS or ASSIGNED_COLUMNS
    audit: bytes  # COPY text, AUDIT_COLUMNS
    serials: list[str]


def generated_chunk(chunk: Chunk) -> ChunkRows:
    """COPY text of one chunk's devices and audit rows (ADDED, and ASSIGNED when assigned)."""
    now = field(chunk.now)
    org = str(chunk.org_id)
    a = chunk.audit
    audit_head = [org, a.added, now, a.group, a.actor_type, field(a.actor_id)]
    assigned_head = [
        org,
        a.assigned,
        now,
        a.assigned_group,
        a.assigned_actor_type,
        field(a.assigned_actor_id),
    ]
    label = [field(v) for v in chunk.server_label] if chunk.server_label else [NULL, NULL]
    tail = [str(chunk.server_id), now, field(chunk.assigned_by)] if chunk.server_id is not None else []
    devices: list[str] = []
    audit: list[str] = []
    serials: list[str] = []
    specs = generate_devices(
        chunk.count,
        seed=chunk.seed,
        families=chunk.families,
        order_number=chunk.order_number,
        start=chunk.start,
        now=chunk.now,
    )
    for i, d in enumerate(specs):
        serial, model = field(d.serial_number), field(d.model)
        seq = str(chunk.first_seq + i) if chunk.server_id is not None else "0"
        row = [
            serial, org, seq, model, field(d.description), field(d.color), field(d.device_family),
            field(d.os), field(d.asset_tag), field(d.order_number), field(d.order_date),
            field(d.wifi_mac_address), field(d.bluetooth_mac_address), field(d.ethernet_mac_address),
            array(d.imei), array(d.meid), field(d.eid), "f", "empty", now, now,
            field(chunk.os_version), field(build_for(d.os, chunk.os_version) if chunk.os_version else None),
            *tail,
        ]  # fmt: skip
        devices.append("\t".join(row))
        details = field(json.dumps({"orderNumber": d.order_number}))
        audit.append("\t".join([*audit_head, serial, model, NULL, NULL, details]))
        if chunk.server_id is not None:
            audit.append("\t".join([*assigned_head, serial, model, *label, "{}"]))
        serials.append(d.serial_number)
    return ChunkRows(
        devices=("\n".join(devices) + "\n").encode() if devices else b"",
        audit=("\n".join(audit) + "\n").encode() if audit else b"",
        serials=serials,
    )
