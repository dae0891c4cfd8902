"""Apple's per-device assignment throttle and the cooldown that hides devices from sync (spec §12).

The rule is per org (`AssignmentThrottle`, stored in `org.settings`): once a serial has been
assigned `max_assigns` times within `window_seconds`, the next assign puts it in a cooldown of
`cooldown_seconds` on the emulator clock. While the cooldown lasts every assign answers
THROTTLED (protocol ≥ 9) or FAILED (below 9), and, as observed in the field (review comment on
fleetdm/fleet PR #45590), the device's events are left out of `/devices/sync` pages.

For the sync query: `visible_in_sync(DeviceEvent.device_id, now)` (SQLAlchemy) and
`VISIBLE_IN_SYNC_SQL` (text SQL over `device_event e`, parameter `:now`) are false for events of
devices in a hiding cooldown, whatever the event (the previous MDM gets no `deleted` either).
Events skipped that way are not re-sent when the cooldown ends; that is the observed loss that
makes clients re-fetch (fleetdm/fleet#51696). Fetch is unaffected.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import ColumnElement, delete, exists, func, insert, literal, select, update
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.ext.asyncio import AsyncSession

from ..clock import service as clock
from ..devices.models import Device
from ..orgs.models import MdmServer, Org
from .models import AssignmentAttempt, AssignmentCooldown
from .schemas import AssignmentCooldownList, AssignmentCooldownOut, AssignmentThrottle

THROTTLE_KEY = "assignment_throttle"


# NOT IN, not NOT EXISTS: a hashed subplan built once per statement keeps the sync page a keyset
# scan of the event index with a filter, whatever the statistics say; NOT EXISTS becomes an anti
# join, which on stale statistics (right after a bulk assignment) was planned as a scan and sort
# of every remaining event. `device_id` is the primary key, never NULL, so NOT IN means NOT EXISTS.
def visible_in_sync_sql(now: str = ":now") -> str:
    """The predicate over `e`, with the emulator's time as the SQL expression `now` (a constant
    fragment of the caller's, never a value)."""
    hidden = f"SELECT c.device_id FROM assignment_cooldown c WHERE c.hidden AND c.until_at > {now}"
    return f"e.device_id NOT IN ({hidden})"


VISIBLE_IN_SYNC_SQL = visible_in_sync_sql()


async def rule(db: AsyncSession, *, org_id: int) -> AssignmentThrottle:
    """The org's rule, kept in `org.settings["assignment_throttle"]` (read fresh, not from the ORM cache)."""
    value = await db.scalar(select(Org.settings[THROTTLE_KEY]).where(Org.id == org_id))
    return AssignmentThrottle.model_validate(value if isinstance(value, dict) else {})


async def set_rule(db: AsyncSession, *, org_id: int, new_rule: AssignmentThrottle) -> AssignmentThrottle:
    """Replace the org's rule; turning throttling off also ends the org's current cooldowns.

    Merged in SQL (`settings || {...}`) so the org's other switches are never overwritten.
    """
    current = func.coalesce(Org.settings, literal({}, JSONB))
    await db.execute(
        update(Org)
        .where(Org.id == org_id)
        .values(settings=current.op("||")(literal({THROTTLE_KEY: new_rule.model_dump()}, JSONB)))
        .execution_options(synchronize_session=False)
    )
    if new_rule.max_assigns is None:
        org_devices = select(Device.id).where(Device.org_id == org_id)
        await db.execute(delete(AssignmentCooldown).where(AssignmentCooldown.device_id.in_(org_devices)))
        await db.execute(delete(AssignmentAttempt).where(AssignmentAttempt.device_id.in_(org_devices)))
    return new_rule


async def admit(db: AsyncSession, *, org_id: int, devices: Sequence[Device], now: datetime) -> dict[int, int]:
    """Decide which of `devices` (rows already locked) may be assigned now.

    Returns {device id: seconds until its cooldown ends} for the throttled ones and logs an
    attempt for each admitted one (only while the org has a rule, so the log stays bounded).
    """
    if not devices:
        return {}
    ids = [d.id for d in devices]
    active = await db.execute(
        select(AssignmentCooldown.device_id, AssignmentCooldown.until_at).where(
            AssignmentCooldown.device_id.in_(ids), AssignmentCooldown.until_at > now
        )
    )
    throttled = {device_id: _seconds_until(until, now) for device_id, until in active}
    current = await rule(db, org_id=org_id)
    if current.max_assigns is None:
        return throttled

    candidates = [i for i in ids if i not in throttled]
    window_start = now - timedelta(seconds=current.window_seconds)
    counts: dict[int, int] = dict(
        (
            await db.execute(
                select(AssignmentAttempt.device_id, func.count())
                .where(AssignmentAttempt.device_id.in_(candidates), AssignmentAttempt.at > window_start)
                .group_by(AssignmentAttempt.device_id)
            )
        ).all()
    )
    over = [i for i in candidates if counts.get(i, 0) >= current.max_assigns]
    if over:
        until = now + timedelta(seconds=current.cooldown_seconds)
        statement = pg_insert(AssignmentCooldown).values(
            [
                {"device_id": i, "started_at": now, "until_at": until, "hidden": current.hide_from_sync}
                for i in over
            ]
        )
        await db.execute(
            statement.on_conflict_do_update(
                index_elements=[AssignmentCooldown.device_id],
                set_={"started_at": now, "until_at": until, "hidden": current.hide_from_sync},
            )
        )
        # Counting starts afresh after the cooldown.
        await db.execute(delete(AssignmentAttempt).where(AssignmentAttempt.device_id.in_(over)))
        throttled.update({i: current.cooldown_seconds for i in over})

    admitted = [i for i in candidates if i not in throttled]
    if admitted:
        await db.execute(
            delete(AssignmentAttempt).where(
                AssignmentAttempt.device_id.in_(admitted), AssignmentAttempt.at <= window_start
            )
        )
        rows: list[dict[str, Any]] = [{"device_id": i, "at": now} for i in admitted]
        await db.execute(insert(AssignmentAttempt), rows)
    return throttled


def visible_in_sync(device_id: Any, now: datetime) -> ColumnElement[bool]:
    """SQL predicate for the sync query: false while the device is in a hiding cooldown.

    Use it as `.where(visible_in_sync(DeviceEvent.device_id, now))`; `device_id` may be any
    column or expression holding device ids (NULL ids stay visible).
    """
    return ~exists().where(
        AssignmentCooldown.device_id == device_id,
        AssignmentCooldown.until_at > now,
        AssignmentCooldown.hidden.is_(True),
    )


async def hidden_serials(db: AsyncSession, *, server: MdmServer, now: datetime) -> set[str]:
    """Serials of this server's devices that sync currently leaves out."""
    result = await db.scalars(
        select(Device.serial_number)
        .join(AssignmentCooldown, AssignmentCooldown.device_id == Device.id)
        .where(Device.server_id == server.id, AssignmentCooldown.until_at > now, AssignmentCooldown.hidden)
    )
    return set(result)


def _seconds_until(until: datetime, now: datetime) -> int:
    remaining = (until - now).total_seconds()
    return max(1, int(remaining) + (remaining % 1 > 0))


async def active_cooldowns(db: AsyncSession, *, org_id: int) -> AssignmentCooldownList:
    now = await clock.now(db)
    rows = await db.execute(
        select(Device.serial_number, AssignmentCooldown)
        .join(AssignmentCooldown, AssignmentCooldown.device_id == Device.id)
        .where(Device.org_id == org_id, AssignmentCooldown.until_at > now)
        .order_by(Device.serial_number)
    )
    return AssignmentCooldownList(
        cooldowns=[
            AssignmentCooldownOut(
                serial_number=serial,
                started_at=cooldown.started_at,
                until_at=cooldown.until_at,
                hidden_from_sync=cooldown.hidden,
            )
            for serial, cooldown in rows
        ]
    )
