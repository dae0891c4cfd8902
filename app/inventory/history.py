"""An org's assignment history, newest first, as the portal's "View Assignment History" lists it.

One row per change of a device (`device_assignment`) while it was in the org, released and
disowned devices' included, with the MDM server's name and where the change came from. Rows
keep the server's uuid as text; the name is looked up while it exists.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from ..core.errors import ControlError
from ..devices import locking
from ..devices.audit import API_CLIENT_PREFIXES
from ..devices.models import Device, DeviceAssignment, DeviceEvent
from ..orgs.models import MdmServer, Org

PORTAL, CONTROL_API, ABM_API, MDM = "portal", "control_api", "abm_api", "mdm"
SOURCE_WORDS = {
    PORTAL: "portal",
    CONTROL_API: "control API",
    ABM_API: "Business Manager API activity",
    MDM: "MDM disown",
}


def source_of(row: DeviceAssignment) -> str:
    """Where a change came from: as recorded, else from who made it (rows written before 0014,
    and writers that do not say): an API account's client id is an activity, a disown the MDM."""
    if row.source:
        return row.source
    if row.action == "disowned":
        return MDM
    if row.actor and row.actor.startswith(API_CLIENT_PREFIXES):
        return ABM_API
    return CONTROL_API


@dataclass(frozen=True, slots=True)
class HistoryLine:
    id: int
    at: datetime
    serial_number: str
    action: str
    server_uuid: str | None
    server_name: str | None
    actor: str | None
    source: str


async def org_history(
    db: AsyncSession, *, org: Org, serial: str | None = None, before: int | None = None, limit: int = 50
) -> tuple[list[HistoryLine], int | None]:
    """The org's history rows, newest first; keyset pages (`before`: the last id shown)."""
    if serial is not None and not locking.usable_serial(serial):
        return [], None
    if limit < 1 or limit > 1000:
        raise ControlError(422, "validation_error", "limit must be between 1 and 1000")
    stmt = (
        select(DeviceAssignment, Device.serial_number, MdmServer.server_name)
        .join(Device, Device.id == DeviceAssignment.device_id)
        .outerjoin(MdmServer, MdmServer.server_uuid == DeviceAssignment.server_uuid)
        .where(DeviceAssignment.org_id == org.id)
        .order_by(DeviceAssignment.id.desc())
        .limit(limit + 1)
    )
    if serial is not None:
        stmt = stmt.where(Device.serial_number == serial)
    if before is not None:
        stmt = stmt.where(DeviceAssignment.id < before)
    rows = list(await db.execute(stmt))
    lines = [
        HistoryLine(
            row.id, row.at, serial_number, row.action, row.server_uuid, name, row.actor, source_of(row)
        )
        for row, serial_number, name in rows[:limit]
    ]
    return lines, lines[-1].id if len(rows) > limit else None


async def feed_events(db: AsyncSession, *, device: Device, limit: int = 100) -> list[DeviceEvent]:
    """The events the device's current server's feed holds for it, newest first."""
    if device.server_id is None:
        return []
    stmt = (
        select(DeviceEvent)
        .where(DeviceEvent.server_id == device.server_id, DeviceEvent.device_id == device.id)
        .order_by(DeviceEvent.seq.desc())
        .limit(limit)
    )
    return list(await db.scalars(stmt))
