"""The org's audit trail: one row per device added, removed, assigned, unassigned or erased.

Only the devices service writes it, inside the transaction of the change (so every route that
changes the inventory shows up: control API, Business Manager activities, DEP disown, AppleCare
replacement). The Business Manager API renders it as `auditEvents` (dep_emulator.abm.audit_events).

Event types, actor types and release entity types are Apple's names (Apple Business API
`AuditEventType`, `AuditEventActorType`, `AuditEventReleaseEntityType`). Who acted is derived from
the actor string the service already receives: an API account's client id (`BUSINESSAPI.`/
`SCHOOLAPI.`) is an API user, anything else a portal user, nothing the org's administrator.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import insert
from sqlalchemy.ext.asyncio import AsyncSession

from ..orgs.models import MdmServer
from .models import AuditEvent, Device

ADDED, REMOVED = "DEVICE_ADDED_TO_ORG", "DEVICE_REMOVED_FROM_ORG"
ASSIGNED, UNASSIGNED = "DEVICE_ASSIGNED_TO_SERVER", "DEVICE_UNASSIGNED_FROM_SERVER"
ERASED = "DEVICE_IS_ERASED"  # issue 29 item 11: a device erased through the emulator
EVENT_TYPES = (ADDED, REMOVED, ASSIGNED, UNASSIGNED, ERASED)
USER, API_USER, SYSTEM = "USER", "API_USER", "SYSTEM"
API_CLIENT_PREFIXES = ("BUSINESSAPI.", "SCHOOLAPI.")
# Who released a device (AuditEventReleaseEntityType), by the devices service's release action.
RELEASED_BY = {"released": "USER", "disowned": "MDM", "replaced": "REPLACEMENT"}
CHUNK = 5000
COPY_COLUMNS = (
    "org_id",
    "event_type",
    "occurred_at",
    "group_id",
    "actor_type",
    "actor_id",
    "serial_number",
    "device_model",
    "server_uuid",
    "server_name",
    "details",
)


@dataclass(frozen=True, slots=True)
class Actor:
    type: str
    id: str | None


def actor_for(actor: str | None, *, admin: str | None) -> Actor:
    """The actor of a change made on behalf of `actor` (None: the org's administrator, `admin`)."""
    if actor is None:
        return Actor(USER, admin)
    if actor.startswith(API_CLIENT_PREFIXES):
        return Actor(API_USER, actor)
    return Actor(USER, actor)


def new_group() -> str:
    """One group id for the events of one operation (Apple's `groupId`)."""
    return str(uuid.uuid4())


def event(
    device: Device,
    event_type: str,
    *,
    org_id: int,
    at: datetime,
    group: str,
    actor: Actor,
    server: tuple[str, str] | None = None,
    details: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """A row for `record`; `server` is (uuid, name) of the server assigned to or left."""
    return {
        "org_id": org_id,
        "event_type": event_type,
        "occurred_at": at,
        "group_id": group,
        "actor_type": actor.type,
        "actor_id": actor.id,
        "serial_number": device.serial_number,
        "device_model": device.model,
        "server_uuid": server[0] if server else None,
        "server_name": server[1] if server else None,
        "details": details or {},
    }


def added_details(order_number: str | None) -> dict[str, Any]:
    return {"orderNumber": order_number}


def removed_details(action: str, actor: Actor) -> dict[str, Any]:
    """`releaseEntityType`/`releaseEntityId` of a release (Apple leaves the id out for a USER)."""
    entity_type = RELEASED_BY.get(action, "USER")
    if entity_type == "USER" and actor.type == API_USER:
        entity_type = "API"
    entity_id = actor.id if entity_type in ("API", "MDM") else None
    return {"releaseEntityType": entity_type, "releaseEntityId": entity_id}


async def record(db: AsyncSession, rows: Iterable[dict[str, Any]]) -> None:
    """Append rows built by `event`, in order (ids, and so the trail's order, follow the list)."""
    batch = list(rows)
    for start in range(0, len(batch), CHUNK):
        await db.execute(insert(AuditEvent), batch[start : start + CHUNK])


async def record_erased(db: AsyncSession, device: Device, *, at: datetime) -> None:
    """DEVICE_IS_ERASED for a device of an org erased through the emulator (control API, console, an
    MDM's EraseDevice): Apple's system sees the erase (actor SYSTEM), on the server it is assigned to."""
    if device.org_id is None:
        return
    server = None
    if device.server_id is not None:
        row = await db.get(MdmServer, device.server_id)
        server = (row.server_uuid, row.server_name) if row is not None else None
    row_values = event(
        device,
        ERASED,
        org_id=device.org_id,
        at=at,
        group=new_group(),
        actor=Actor(SYSTEM, None),
        server=server,
    )
    await record(db, [row_values])
