"""Loading a device's DDM state into a poll and saving it after (one row in `device_ddm`)."""

from __future__ import annotations

from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

from ...clock import service as clock
from . import credentials
from .models import DeviceDdm
from .session import DAILY, DdmSession, default_while_awaiting


async def load(db: AsyncSession, device_id: int, *, os_version: str) -> DdmSession:
    """The device's DDM state; a full report is due once a day of emulator time has passed since
    the last one (§3.5: the daily safety sync), an identity renewal once a credential asset's
    identity is old enough (ddm/credentials.py)."""
    row = await db.get(DeviceDdm, device_id)
    now = await clock.now(db)
    if row is None:
        return DdmSession(while_awaiting=default_while_awaiting(os_version), now=now)
    daily = row.enabled and row.last_full_report_at is not None and now - row.last_full_report_at >= DAILY
    return DdmSession(
        enabled=row.enabled,
        while_awaiting=row.while_awaiting or default_while_awaiting(os_version),
        declarations_token=row.declarations_token,
        declarations=dict(row.declarations),
        status=dict(row.status),
        assets=dict(row.assets),
        legacy_profiles=dict(row.legacy_profiles),
        reported=dict(row.reported),
        last_report=row.last_report,
        last_report_at=row.last_report_at,
        reports_sent=row.reports_sent,
        last_sync=row.last_sync,
        full_report_due=row.full_report_due or daily,
        last_full_report_at=row.last_full_report_at,
        now=now,
        renewal_due=any(  # of assets in use: an inactive or removed one is not renewed
            credentials.renewal_due(a.get("identity"), now)
            for identifier, a in row.assets.items()
            if row.status.get(identifier, {}).get("active")
        ),
    )


async def save(db: AsyncSession, device_id: int, ddm: DdmSession, *, reports_before: int) -> None:
    """Store what the poll changed (nothing when DDM was not touched)."""
    if not ddm.changed:
        return
    now = await clock.now(db)
    if ddm.last_sync is not None and "at" not in ddm.last_sync:
        ddm.last_sync = {"at": now.isoformat()} | ddm.last_sync
    values = {
        "enabled": ddm.enabled,
        "declarations_token": ddm.declarations_token,
        "declarations": ddm.declarations,
        "status": ddm.status,
        "assets": ddm.assets,
        "legacy_profiles": ddm.legacy_profiles,
        "reported": ddm.reported,
        "last_report": ddm.last_report,
        "last_report_at": now if ddm.reports_sent != reports_before else ddm.last_report_at,
        "reports_sent": ddm.reports_sent,
        "last_sync": ddm.last_sync,
        "full_report_due": ddm.full_report_due,
        "last_full_report_at": now
        if ddm.full_sent or (ddm.last_full_report_at is None and ddm.reports_sent > 0)
        else ddm.last_full_report_at,
    }
    await db.execute(
        insert(DeviceDdm)
        .values(device_id=device_id, while_awaiting=None, **values)
        .on_conflict_do_update(index_elements=[DeviceDdm.device_id], set_=values)
    )
