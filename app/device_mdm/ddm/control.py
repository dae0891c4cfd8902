"""What the control API (and the console) read and set about a device's DDM."""

from __future__ import annotations

from typing import Any

from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

from ...device_setup import machine_info
from ...devices.models import Device
from ..state import _enrollment
from .models import DeviceDdm
from .schemas import DdmIn, DdmOut, DeclarationOut
from .store import load
from .sync import subscriptions


async def _os_version(db: AsyncSession, device_id: int) -> str:
    device = await db.get(Device, device_id)
    return str(machine_info.machine_info(device, language="en")["OS_VERSION"]) if device is not None else ""


async def ddm(db: AsyncSession, *, serial: str) -> DdmOut:
    enrollment = await _enrollment(db, serial)
    session = await load(db, enrollment.device_id, os_version=await _os_version(db, enrollment.device_id))
    row = await db.get(DeviceDdm, enrollment.device_id)
    declarations = [
        DeclarationOut(
            identifier=identifier,
            kind=held["kind"],
            type=held["type"],
            server_token=held["server_token"],
            active=bool(session.status.get(identifier, {}).get("active", False)),
            valid=session.status.get(identifier, {}).get("valid", "unknown"),
            reasons=session.status.get(identifier, {}).get("reasons", []),
            payload=held["payload"],
            identity=_identity(session.assets.get(identifier)) if held["kind"] == "asset" else None,
        )
        for identifier, held in sorted(session.declarations.items(), key=lambda i: (i[1]["kind"], i[0]))
    ]
    return DdmOut(
        serial_number=serial,
        enabled=session.enabled,
        while_awaiting=session.while_awaiting,
        while_awaiting_set=row is not None and row.while_awaiting is not None,
        declarations_token=session.declarations_token,
        declarations=declarations,
        subscribed_status_items=sorted(subscriptions(session)),
        last_sync=session.last_sync,
        last_report=session.last_report,
        last_report_at=session.last_report_at,
        reports_sent=session.reports_sent,
        full_report_due=session.full_report_due,
        last_full_report_at=session.last_full_report_at,
    )


def _identity(fetched: dict[str, Any] | None) -> dict[str, Any] | None:
    if fetched is None or not fetched.get("identity"):
        return None
    identity: dict[str, Any] = fetched["identity"] | {
        "renewals": fetched.get("renewals", 0),
        "renewal_problem": fetched.get("renewal_problem"),  # the last renewal failed: why
    }
    return identity


async def set_switches(db: AsyncSession, *, serial: str, body: DdmIn) -> DdmOut:
    enrollment = await _enrollment(db, serial, lock=True)
    changes: dict[str, object] = {}
    if "while_awaiting" in body.model_fields_set:
        changes["while_awaiting"] = body.while_awaiting
    if body.full_report:
        changes["full_report_due"] = True
    fresh: dict[str, object] = {
        "enabled": False,
        "while_awaiting": None,
        "declarations": {},
        "status": {},
        "assets": {},
        "legacy_profiles": {},
        "reported": {},
        "reports_sent": 0,
        "full_report_due": False,
    }
    statement = insert(DeviceDdm).values(device_id=enrollment.device_id, **(fresh | changes))
    if changes:
        await db.execute(statement.on_conflict_do_update(index_elements=[DeviceDdm.device_id], set_=changes))
    else:
        await db.execute(statement.on_conflict_do_nothing(index_elements=[DeviceDdm.device_id]))
    return await ddm(db, serial=serial)
