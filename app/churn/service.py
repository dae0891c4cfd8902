"""Scheduled churn: the one writer of `churn_schedule`, and the events it runs (scenario 9, §3).

An insert event generates `devices_per_event` devices with the deterministic generator (each
event continues the schedule's sequence, so serials never repeat) and, with a server, assigns
them to it (`added` on its feed). A delete event picks devices of the org (or of the server)
in a pseudo-random but reproducible order and releases them (or only unassigns them):
`deleted` on their server's feed. All of it goes through dep_emulator.devices, never around it.

Events are claimed by `claim_due` with `FOR UPDATE SKIP LOCKED` and run in the claiming
transaction together with the advance of `next_run_at` (dep_emulator.churn.worker), so every event
runs exactly once whichever replica gets there first.
"""

from __future__ import annotations

import logging
import secrets
from dataclasses import dataclass, field
from datetime import timedelta

from sqlalchemy import delete, func, or_, select, text
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.ext.asyncio import AsyncSession

from ..clock import service as clock
from ..core.errors import ControlError, not_found
from ..inventory import service as devices
from ..inventory.assignments import release_locked
from ..orgs.models import MdmServer, Org
from .models import ChurnSchedule
from .schemas import ChurnOut, ChurnSpec

logger = logging.getLogger("dep_emulator.churn")

# Columns compared to decide whether a re-declared schedule (seed files) changed.
_DEFINITION = (
    "kind",
    "server_id",
    "devices_per_event",
    "interval_seconds",
    "max_event_count",
    "device_types",
    "action",
    "order_number",
)


@dataclass(slots=True)
class EventResult:
    affected: int = 0
    serials: list[str] = field(default_factory=list)
    error: str | None = None


def _definition(org: Org, server: MdmServer | None, spec: ChurnSpec) -> dict[str, object]:
    if server is not None and server.org_id != org.id:
        raise ControlError(409, "foreign_server", "that MDM server belongs to another org")
    return {
        "kind": spec.kind,
        "server_id": server.id if server is not None else None,
        "devices_per_event": spec.devices_per_event,
        "interval_seconds": float(spec.interval_in_seconds),
        "max_event_count": spec.max_event_count,
        "device_types": list(spec.device_types) if spec.device_types else None,
        "action": spec.action,
        "order_number": spec.order_number,
    }


async def find_schedule(db: AsyncSession, *, org: Org, name: str) -> ChurnSchedule | None:
    return await db.scalar(
        select(ChurnSchedule).where(ChurnSchedule.org_id == org.id, ChurnSchedule.name == name)
    )


async def create_schedule(
    db: AsyncSession, *, org: Org, server: MdmServer | None, spec: ChurnSpec
) -> ChurnSchedule:
    """A new schedule; its first event is one interval (or `start_in_seconds`) from now. 409 on a name."""
    values = _definition(org, server, spec)
    if await find_schedule(db, org=org, name=spec.name) is not None:
        raise ControlError(
            409, "duplicate_churn_name", f"this org already has a churn schedule {spec.name!r}"
        )
    now = await clock.now(db)
    start = spec.start_in_seconds if spec.start_in_seconds is not None else spec.interval_in_seconds
    schedule = ChurnSchedule(
        org_id=org.id,
        name=spec.name,
        seed=spec.seed if spec.seed is not None else secrets.randbits(48),
        events_run=0,
        devices_generated=0,
        devices_affected=0,
        next_run_at=now + timedelta(seconds=start),
        created_at=now,
        **values,
    )
    db.add(schedule)
    await db.flush()
    return schedule


async def ensure_schedule(
    db: AsyncSession, *, org: Org, server: MdmServer | None, spec: ChurnSpec
) -> tuple[ChurnSchedule, str]:
    """Declarative form for seed files: create, or update the definition keeping the progress.

    Returns the schedule and "created", "updated" or "unchanged".
    """
    existing = await find_schedule(db, org=org, name=spec.name)
    if existing is None:
        return await create_schedule(db, org=org, server=server, spec=spec), "created"
    values = _definition(org, server, spec)
    if spec.seed is not None:
        values["seed"] = spec.seed
    changed = {k: v for k, v in values.items() if getattr(existing, k) != v}
    if not changed:
        return existing, "unchanged"
    for key, value in changed.items():
        setattr(existing, key, value)
    await db.flush()
    return existing, "updated"


async def list_schedules(db: AsyncSession, *, org: Org) -> list[ChurnSchedule]:
    result = await db.scalars(
        select(ChurnSchedule).where(ChurnSchedule.org_id == org.id).order_by(ChurnSchedule.id)
    )
    return list(result)


async def get_schedule(db: AsyncSession, *, churn_id: str, for_update: bool = False) -> ChurnSchedule:
    query = select(ChurnSchedule).where(
        ChurnSchedule.id == (int(churn_id) if churn_id.isdigit() and len(churn_id) < 19 else -1)
    )
    schedule = await db.scalar(query.with_for_update() if for_update else query)
    if schedule is None:
        raise not_found("churn schedule", churn_id)
    return schedule


async def delete_schedule(db: AsyncSession, *, schedule: ChurnSchedule) -> None:
    await db.execute(delete(ChurnSchedule).where(ChurnSchedule.id == schedule.id))
    db.expunge(schedule)


async def delete_org_schedules(db: AsyncSession, *, org: Org) -> int:
    count = await db.scalar(
        select(func.count()).select_from(ChurnSchedule).where(ChurnSchedule.org_id == org.id)
    )
    await db.execute(delete(ChurnSchedule).where(ChurnSchedule.org_id == org.id))
    return int(count or 0)


def finished(schedule: ChurnSchedule) -> bool:
    return schedule.max_event_count is not None and schedule.events_run >= schedule.max_event_count


async def claim_due(db: AsyncSession) -> ChurnSchedule | None:
    """Lock the most overdue unfinished schedule, skipping rows another replica is running."""
    now = await clock.now(db)
    return await db.scalar(
        select(ChurnSchedule)
        .where(
            ChurnSchedule.next_run_at <= now,
            or_(
                ChurnSchedule.max_event_count.is_(None),
                ChurnSchedule.events_run < ChurnSchedule.max_event_count,
            ),
        )
        .order_by(ChurnSchedule.next_run_at, ChurnSchedule.id)
        .limit(1)
        .with_for_update(skip_locked=True)
    )


async def run_event(
    db: AsyncSession, *, schedule: ChurnSchedule, scheduled: bool, swallow_errors: bool
) -> EventResult:
    """Run one event of a locked schedule and count it; `scheduled` also advances `next_run_at`.

    With `swallow_errors` (the background worker) a failing event is logged, recorded in
    `last_error` and still counted, so a broken schedule cannot spin; otherwise it raises.
    """
    if finished(schedule):
        raise ControlError(409, "churn_finished", f"churn schedule {schedule.name!r} ran all its events")
    now = await clock.now(db)
    schedule_id, kind, n = schedule.id, schedule.kind, schedule.devices_per_event
    try:
        async with db.begin_nested():
            result = await _execute(db, schedule)
    except (ControlError, SQLAlchemyError, ValueError) as exc:
        if not swallow_errors:
            raise
        result = EventResult(error=str(exc) or type(exc).__name__)
        logger.warning("churn event failed", extra={"churn_id": schedule_id, "error": result.error})
        await db.refresh(schedule)
        if kind == "insert":
            schedule.devices_generated += n  # never retry the same serials
    schedule.events_run += 1
    schedule.devices_affected += result.affected
    schedule.last_run_at = now
    schedule.last_error = result.error
    if scheduled:
        schedule.next_run_at = schedule.next_run_at + timedelta(seconds=schedule.interval_seconds)
    await db.flush()
    return result


async def _execute(db: AsyncSession, schedule: ChurnSchedule) -> EventResult:
    org = await db.get(Org, schedule.org_id)
    assert org is not None  # the schedule is deleted with its org
    server = await db.get(MdmServer, schedule.server_id) if schedule.server_id is not None else None
    actor = f"churn:{schedule.name}"
    if schedule.kind == "insert":
        made = await devices.generate_devices(
            db,
            org=org,
            count=schedule.devices_per_event,
            families=schedule.device_types,
            order_number=schedule.order_number,
            seed=schedule.seed,
            start=schedule.devices_generated,
            server=server,
            assigned_by=actor,
        )
        schedule.devices_generated += made.count
        return EventResult(affected=made.count, serials=made.serials)
    return await _delete(db, schedule=schedule, org=org, server=server, actor=actor)


async def _delete(
    db: AsyncSession, *, schedule: ChurnSchedule, org: Org, server: MdmServer | None, actor: str
) -> EventResult:
    """Pick N devices reproducibly (md5 of serial and event number), lock them, release or unassign."""
    scope = "server_id = :server" if server is not None else "org_id = :org"
    rows = await db.execute(
        text(f"SELECT serial_number FROM device WHERE {scope} ORDER BY md5(serial_number || :salt) LIMIT :n"),
        {
            "server": server.id if server else None,
            "org": org.id,
            "salt": f":{schedule.seed}:{schedule.events_run}",
            "n": schedule.devices_per_event,
        },
    )
    chosen = [row[0] for row in rows]
    locked = await devices.devices_by_serial(db, serials=chosen, for_update=True)
    victims = [
        d for d in locked.values() if d.org_id == org.id and (server is None or d.server_id == server.id)
    ]
    if not victims:
        return EventResult()
    serials = sorted(d.serial_number for d in victims)
    if schedule.action == "unassign":
        await devices.assign_devices(db, org=org, server=None, serials=serials, assigned_by=actor)
    else:
        await release_locked(db, device_ids=[d.id for d in victims], action="released", actor=actor)
    return EventResult(affected=len(victims), serials=serials)


async def schedule_out(db: AsyncSession, schedule: ChurnSchedule) -> ChurnOut:
    server_uuid = None
    if schedule.server_id is not None:
        server_uuid = await db.scalar(select(MdmServer.server_uuid).where(MdmServer.id == schedule.server_id))
    done = finished(schedule)
    insert = schedule.kind == "insert"
    return ChurnOut(
        id=str(schedule.id),
        org_id=str(schedule.org_id),
        name=schedule.name,
        kind=schedule.kind,
        server_uuid=server_uuid,
        devices_per_event=schedule.devices_per_event,
        interval_in_seconds=schedule.interval_seconds,
        max_event_count=schedule.max_event_count,
        device_types=schedule.device_types,
        action=None if insert else schedule.action,
        seed=schedule.seed if insert else None,
        order_number=schedule.order_number,
        events_run=schedule.events_run,
        devices_affected=schedule.devices_affected,
        next_run_at=None if done else schedule.next_run_at,
        last_run_at=schedule.last_run_at,
        last_error=schedule.last_error,
        finished=done,
        created_at=schedule.created_at,
    )
