"""A device's state in Apple's built-in device management (abm-api-2.md §4.1), for the console.

An ADE enrollment is listed in mdmDevices only while its device is in the org and assigned to the
built-in service (dep_emulator.abm.mdm_devices.VISIBLE); after a migration or a release the row
stays but Apple no longer shows it, and `BuiltinState.listed` says so.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from ..devices.models import Device
from ..orgs.models import MdmServer
from .models import BuiltinEnrollment, BuiltinService


@dataclass(frozen=True, slots=True)
class BuiltinState:
    service: MdmServer | None  # the org's built-in service, if it has one
    assigned: bool  # the device is assigned to it
    enrollment: BuiltinEnrollment | None
    listed: bool  # Apple lists the enrollment in mdmDevices


async def state(db: AsyncSession, *, device: Device) -> BuiltinState:
    service = None
    if device.org_id is not None:
        service = await db.scalar(
            select(MdmServer)
            .join(BuiltinService, BuiltinService.server_id == MdmServer.id)
            .where(BuiltinService.org_id == device.org_id)
        )
    enrollment = await db.scalar(select(BuiltinEnrollment).where(BuiltinEnrollment.device_id == device.id))
    assigned = service is not None and device.server_id == service.id
    listed = enrollment is not None and assigned and enrollment.org_id == device.org_id
    return BuiltinState(service=service, assigned=assigned, enrollment=enrollment, listed=listed)
