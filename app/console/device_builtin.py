"""The device page's block on the Business API 2.x state (issue 30): the Blueprints that hold the
device, its state in Apple's built-in device management, and the Activation Lock status Apple's
`GET /v1/orgDevices/{id}/activationLockStatus` reports. Rendered by `_device_builtin.html`."""

from __future__ import annotations

from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from ..abm import mdm_devices
from ..blueprints import reads as blueprint_reads
from ..builtin_mdm import reads as builtin_reads
from ..builtin_mdm import service as builtin
from ..devices.models import Device
from ..orgs.models import Org
from .paging import LINKS


async def context(db: AsyncSession, *, device: Device, org: Org | None) -> dict[str, Any]:
    """What the block shows; a released device (no org) is in no Blueprint and no built-in service."""
    state = await builtin_reads.state(db, device=device)
    details = None
    if org is not None and state.listed and state.enrollment is not None:
        document = await mdm_devices.details(
            db, org=org, device_id=state.enrollment.id, links=LINKS, fields=None
        )
        details = document["data"]["attributes"]
    lock_type, lock_error = await builtin.lock_status(db, device=device)
    blueprints = (
        await blueprint_reads.holding(db, org=org, members=[("orgDevices", device.serial_number)])
        if org is not None
        else []
    )
    return {
        "blueprints": blueprints,
        "state": state,
        "details": details,
        "lock_type": lock_type,
        "lock_error": lock_error,
    }
