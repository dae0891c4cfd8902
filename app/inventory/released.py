"""Devices released from an org (observed behaviour F2, issue 29).

Apple's guide "Release devices in Apple Business" (support.apple.com, axmec4d28461): a released
device stays in the organisation's device list, marked released, and can no longer be assigned to
any MDM server; it comes back only when it is added again (Apple Configurator or a reseller), which
makes it a device of the org again, `added` on its next assignment.

The release itself (dep_emulator.bulk.release) takes the device out of the org (no org, no server:
every feed, fetch and assignment rule treats it as gone) and keeps on the row the org it left, when
and by whom (`released_org_id`, `released_at`, `releaser_type`, `releaser_id`). The lists read those
(dep_emulator.inventory.listing, dep_emulator.abm.org_devices) while the org's setting
`released_devices` is `listed` (the default; `removed` is the documented behaviour). The refusals
are here: `refuse_released` for the control API and the console (409 `device_released`), and
`add_back` is the one way back besides adding the serial again as a new device.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession

from ..clock import service as clock
from ..core.errors import ControlError, not_found
from ..devices import audit, locking
from ..devices.models import Device, DeviceAssignment
from ..orgs.models import Org
from .assignments import reset_profile

__all__ = ["add_back", "refuse_released", "released_serials"]
SHOWN = 100


async def released_serials(db: AsyncSession, *, org: Org, serials: Sequence[str]) -> dict[str, datetime]:
    """The serials among these that were released from `org` and not added back: serial → release time."""
    wanted = [s for s in locking.unique(serials) if locking.usable_serial(s)]
    if not wanted:
        return {}
    rows = await db.execute(
        text(
            "SELECT serial_number, released_at FROM device "
            "WHERE serial_number = ANY(:serials) AND released_org_id = :org AND org_id IS NULL "
            "ORDER BY serial_number"
        ),
        {"serials": wanted, "org": org.id},
    )
    return {row[0]: row[1] for row in rows}


async def refuse_released(db: AsyncSession, *, org: Org, serials: Sequence[str]) -> None:
    """409 `device_released` naming the serials released from `org`: an assignment by the control API
    or the console is refused as a whole (nothing written) until they are added back."""
    released = await released_serials(db, org=org, serials=serials)
    if not released:
        return
    shown = list(released)[:SHOWN]
    when = ", ".join(f"{s} (released {clock.isoformat(released[s])})" for s in shown[:10])
    raise ControlError(
        409,
        "device_released",
        f"{len(released)} device(s) were released from the organization and cannot be assigned until "
        f"added back (POST /emulator/v1/devices/{{serial}}/add-back): {when}"
        + (" ..." if len(released) > 10 else ""),
        serials=shown,
    )


async def add_back(
    db: AsyncSession, *, serial: str, actor: str | None = None, source: str | None = None
) -> Device:
    """Add a released device back to the org it was released from, as Apple Configurator or a reseller
    would: a device of the org again, added now (DEVICE_ADDED_TO_ORG, history `added`), unassigned with
    a fresh profile state, so its next assignment is `added` on that server's feed.

    404 for an unknown serial; 409 `not_released` for a device that is in an org or whose org is gone.
    """
    ids = await locking.lock_devices_by_serial(db, serials=[serial]) if locking.usable_serial(serial) else []
    device = (await locking.load_devices(db, ids=ids))[0] if ids else None
    if device is None:
        raise not_found("device", serial)
    if device.org_id is not None:
        raise ControlError(409, "not_released", f"device {serial} is a device of org {device.org_id}")
    org = await db.get(Org, device.released_org_id) if device.released_org_id is not None else None
    if org is None:
        raise ControlError(
            409,
            "not_released",
            f"device {serial} was not released from an existing org: add it to an org as a new device",
        )
    now = await clock.now(db)
    device.org_id = org.id
    device.created_at = now  # addedToOrgDateTime: the last time it was added to the org
    device.released_org_id = None
    device.released_at = None
    device.releaser_type = None
    device.releaser_id = None
    device.device_assigned_by = None
    device.device_assigned_date = None
    reset_profile(device)
    device.updated_at = now
    history = DeviceAssignment(
        device_id=device.id, action="added", actor=actor or org.email, at=now, org_id=org.id, source=source
    )
    db.add(history)
    who = audit.actor_for(actor, admin=org.email)
    row = audit.event(
        device,
        audit.ADDED,
        org_id=org.id,
        at=now,
        group=audit.new_group(),
        actor=who,
        details=audit.added_details(device.order_number),
    )
    await audit.record(db, [row])
    await db.flush()
    return device
