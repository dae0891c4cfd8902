"""orgDeviceActivities (abm-api.md §1.4–§1.6): assign, unassign, migrate and release devices.

Effects are applied when the activity is created, through `dep_emulator.inventory.service` (the one
writer of devices), so the DEP fetch/sync feed shows them at once, exactly as for an
assignment made any other way. What the client sees of the activity is derived on every read
from `completes_at` against the emulator clock: IN_PROGRESS with moving sub-statuses until the
configured delay has passed, then COMPLETED. Nothing runs in the background and no replica
keeps state in memory.
"""

from __future__ import annotations

import csv
import io
import uuid
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import select, text
from sqlalchemy.ext.asyncio import AsyncSession

from ..clock import service as clock
from ..clock.service import isoformat
from ..core.errors import JsonApiError
from ..inventory import service as devices
from ..inventory.assignments import ServerGone
from ..orgs.models import MdmServer, Org
from . import servers, variants
from .jsonapi import Links, conflict, not_found, sparse, unprocessable
from .models import Activity, ActivityDevice
from .tokens import Caller

TYPE = "orgDeviceActivities"
ASSIGN, UNASSIGN = "ASSIGN_DEVICES", "UNASSIGN_DEVICES"
ASSIGN_WITH_DEADLINE = "ASSIGN_DEVICES_WITH_MDM_MIGRATION_DEADLINE"
UPDATE_DEADLINE, CANCEL_MIGRATION = "UPDATE_MDM_MIGRATION_DEADLINE", "CANCEL_MDM_MIGRATION"
RELEASE = "RELEASE_DEVICES"
NEEDS_SERVER = {ASSIGN, UNASSIGN, ASSIGN_WITH_DEADLINE}
NEEDS_DEADLINE = {ASSIGN_WITH_DEADLINE, UPDATE_DEADLINE}
ACTIVITY_TYPES = (ASSIGN, UNASSIGN, ASSIGN_WITH_DEADLINE, UPDATE_DEADLINE, CANCEL_MIGRATION, RELEASE)
MAX_DEADLINE = timedelta(days=90)
RETENTION = timedelta(days=30)  # Apple: activities can be read back for 30 days
FIELDS = ("status", "subStatus", "createdDateTime", "completedDateTime", "downloadUrl")
IN_PROGRESS_SUB_STATUSES = ("SUBMITTED", "PRE_PROCESSING", "PROCESSING", "POST_PROCESSING")
RELEASED_MESSAGE = (
    "The device was released from this organization and must be added again before it can be assigned"
)
CSV_HEADER = ("serialNumber", "activityType", "mdmServerId", "status", "message")


@dataclass(frozen=True, slots=True)
class ActivityRequest:
    activity_type: str
    server_id: str | None
    deadline: datetime | None
    serials: list[str]


def parse_request(body: Any) -> ActivityRequest:
    """OrgDeviceActivityCreateRequest; 422 for anything that does not match its shape."""
    data = body.get("data") if isinstance(body, dict) else None
    if not isinstance(data, dict):
        raise unprocessable("/data", "The request body must be a JSON object with a 'data' object")
    if data.get("type") != TYPE:
        raise unprocessable("/data/type", f"'data.type' must be '{TYPE}'")
    attributes, relationships = data.get("attributes"), data.get("relationships")
    if not isinstance(attributes, dict):
        raise unprocessable("/data/attributes", "'data.attributes' is required")
    activity_type = attributes.get("activityType")
    if activity_type not in ACTIVITY_TYPES:
        raise unprocessable(
            "/data/attributes/activityType", f"'activityType' must be one of {', '.join(ACTIVITY_TYPES)}"
        )
    if not isinstance(relationships, dict):
        raise unprocessable("/data/relationships", "'data.relationships' is required")
    linkage = relationships.get("devices")
    items = linkage.get("data") if isinstance(linkage, dict) else None
    if not isinstance(items, list) or not items:
        raise unprocessable("/data/relationships/devices/data", "'devices' must list at least one orgDevice")
    serials: list[str] = []
    for index, item in enumerate(items):
        if (
            not isinstance(item, dict)
            or item.get("type") != "orgDevices"
            or not isinstance(item.get("id"), str)
        ):
            raise unprocessable(
                f"/data/relationships/devices/data/{index}",
                "each device must be {type: orgDevices, id: serial}",
            )
        serials.append(item["id"])
    server_id = None
    server = relationships.get("mdmServer")
    if activity_type in NEEDS_SERVER:
        server_data = server.get("data") if isinstance(server, dict) else None
        if (
            not isinstance(server_data, dict)
            or server_data.get("type") != servers.TYPE
            or not isinstance(server_data.get("id"), str)
        ):
            raise unprocessable(
                "/data/relationships/mdmServer", f"{activity_type} needs 'mdmServer' {{type: mdmServers, id}}"
            )
        server_id = server_data["id"]
    deadline = None
    if activity_type in NEEDS_DEADLINE:
        metadata = attributes.get("activityTypeMetadata")
        raw = metadata.get("mdmMigrationDeadlineDateTime") if isinstance(metadata, dict) else None
        pointer = "/data/attributes/activityTypeMetadata/mdmMigrationDeadlineDateTime"
        try:
            deadline = datetime.fromisoformat(raw) if isinstance(raw, str) else None
        except ValueError:
            deadline = None
        if deadline is None or deadline.tzinfo is None:
            raise unprocessable(pointer, f"{activity_type} needs an ISO 8601 deadline with a time zone")
    return ActivityRequest(activity_type, server_id, deadline, list(dict.fromkeys(serials)))


async def _server(db: AsyncSession, *, org: Org, server_id: str | None) -> MdmServer | None:
    if server_id is None:
        return None
    try:
        return await servers.get_server(db, org=org, server_id=server_id)
    except JsonApiError as exc:  # the JSON:API 404, which is a 409 inside an activity (§1.5)
        raise conflict(
            "ENTITY_ERROR.RELATIONSHIP.INVALID",
            f"There is no mdmServer with id '{server_id}'",
            pointer="/data/relationships/mdmServer/data/id",
        ) from exc


async def _apply(
    db: AsyncSession, *, caller: Caller, request: ActivityRequest, server: MdmServer | None
) -> dict[str, str]:
    """Run the activity through the devices service; an error message per failed serial."""
    # Only what deciding needs (no device objects: a 10,000-device activity read them twice).
    found = await devices.lock_by_serial(db, serials=request.serials)
    mine = {s: d for s, d in found.items() if d.org_id == caller.org.id}
    # Released from this org (observed F2): each fails in the activity's log, the others go on.
    released = [s for s in request.serials if s in found and _released_from(found[s], caller.org.id)]
    unknown = [s for s in request.serials if s not in mine and s not in released]
    if unknown:
        shown = ", ".join(unknown[:20]) + (" ..." if len(unknown) > 20 else "")
        raise conflict(
            "ENTITY_ERROR.RELATIONSHIP.INVALID",
            f"{len(unknown)} device(s) are not in this organization: {shown}",
            pointer="/data/relationships/devices/data",
        )
    actor = caller.account.client_id
    failures: dict[str, str] = dict.fromkeys(released, RELEASED_MESSAGE)
    request = replace(request, serials=[s for s in request.serials if s in mine])
    kind = request.activity_type
    if kind == ASSIGN:
        await devices.assign_devices(
            db, org=caller.org, server=server, serials=request.serials, assigned_by=actor
        )
    elif kind == UNASSIGN:
        assert server is not None
        on_server = [s for s in request.serials if mine[s].server_id == server.id]
        failures |= {
            s: "The device is not assigned to this mdmServer" for s in request.serials if s not in on_server
        }
        await devices.assign_devices(db, org=caller.org, server=None, serials=on_server, assigned_by=actor)
    elif kind == ASSIGN_WITH_DEADLINE:
        listed = [mine[s] for s in request.serials]
        await devices.set_migration_deadline(db, devices=listed, deadline=request.deadline)
        await devices.assign_devices(
            db, org=caller.org, server=server, serials=request.serials, assigned_by=actor
        )
    elif kind in (UPDATE_DEADLINE, CANCEL_MIGRATION):
        # A serial without a migration in progress fails only in the log, not the request (§1.5).
        migrating = []
        for serial in request.serials:
            if mine[serial].mdm_migration_deadline is None:
                failures[serial] = "The device has no MDM migration in progress"
            else:
                migrating.append(mine[serial])
        deadline = request.deadline if kind == UPDATE_DEADLINE else None
        await devices.set_migration_deadline(db, devices=migrating, deadline=deadline)
    else:  # RELEASE_DEVICES: out of the org, `deleted` on its server (all at once: locked above)
        await devices.release_devices(db, device_ids=[mine[s].id for s in request.serials], actor=actor)
    return failures


def _released_from(device: devices.LockedDevice, org_id: int) -> bool:
    return device.org_id is None and device.released_org_id == org_id


def _check_deadline(request: ActivityRequest, *, now: datetime) -> None:
    """409 for a deadline out of range. An update may move the deadline earlier, even into the
    past (Apple's current UPDATE_MDM_MIGRATION_DEADLINE page; the device then migrates at once):
    only a new migration needs a deadline in the future. None is more than 90 days ahead."""
    deadline = request.deadline
    if deadline is None:
        return
    if deadline > now + MAX_DEADLINE:
        problem = "at most 90 days ahead"
    elif request.activity_type != UPDATE_DEADLINE and deadline <= now:
        problem = "in the future"
    else:
        return
    raise conflict(
        "ENTITY_ERROR.ATTRIBUTE.INVALID",
        f"'mdmMigrationDeadlineDateTime' must be {problem}",
        pointer="/data/attributes/activityTypeMetadata/mdmMigrationDeadlineDateTime",
    )


async def create_activity(
    db: AsyncSession, *, caller: Caller, body: Any, delay_seconds: float, links: Links
) -> dict[str, Any]:
    """`POST /v1/orgDeviceActivities` → 201; 409 for an unknown server or serial or a bad deadline."""
    request = parse_request(body)
    variants.refuse_activity_type(caller, activity_type=request.activity_type, business_only={RELEASE})
    now = await clock.now(db)
    _check_deadline(request, now=now)
    server = await _server(db, org=caller.org, server_id=request.server_id)
    try:
        failures = await _apply(db, caller=caller, request=request, server=server)
    except ServerGone as exc:  # DELETE /v1/mdmServers/{id} won the race for the server's row lock
        raise conflict(
            "ENTITY_ERROR.RELATIONSHIP.INVALID",
            f"There is no mdmServer with id '{exc.server_uuid}'",
            pointer="/data/relationships/mdmServer/data/id",
        ) from exc
    activity = Activity(
        id=str(uuid.uuid4()),
        org_id=caller.org.id,
        account_id=caller.account.id,
        activity_type=request.activity_type,
        server_uuid=server.server_uuid if server else None,
        deadline=request.deadline,
        device_count=len(request.serials),
        failed_count=len(failures),
        created_at=now,
        completes_at=now + timedelta(seconds=delay_seconds),
    )
    db.add(activity)
    await db.flush()
    await db.execute(  # one statement of arrays (5,000-row VALUES were 12-19 % of a 10,000-device activity)
        text(
            "INSERT INTO abm_activity_device (activity_id, position, serial_number, succeeded, message) "
            "SELECT :activity, u.position - 1, u.serial, u.ok, u.message "
            "FROM unnest(CAST(:serials AS text[]), CAST(:ok AS boolean[]), CAST(:messages AS text[])) "
            "WITH ORDINALITY AS u(serial, ok, message, position)"
        ),
        {
            "activity": activity.id,
            "serials": list(request.serials),
            "ok": [serial not in failures for serial in request.serials],
            "messages": [failures.get(serial, "Success") for serial in request.serials],
        },
    )
    resource = render(activity, now=now, links=links, fields=None)
    return {"data": resource, "links": {"self": links.url("/v1/orgDeviceActivities")}}


def log_filename(activity: Activity) -> str:
    return f"ABM-ActivityLog_{activity.id}.csv"


def render(
    activity: Activity, *, now: datetime, links: Links, fields: frozenset[str] | None
) -> dict[str, Any]:
    completed = now >= activity.completes_at
    if completed:
        status = "COMPLETED"
        if activity.failed_count == 0:
            sub_status = "COMPLETED_WITH_SUCCESS"
        elif activity.failed_count < activity.device_count:
            sub_status = "COMPLETED_WITH_FAILURE"  # partial (§1.5)
        else:
            sub_status = "COMPLETED_WITH_ERROR"
    else:
        status = "IN_PROGRESS"
        span = (activity.completes_at - activity.created_at).total_seconds()
        elapsed = (now - activity.created_at).total_seconds()
        step = min(int(elapsed / span * len(IN_PROGRESS_SUB_STATUSES)), len(IN_PROGRESS_SUB_STATUSES) - 1)
        sub_status = IN_PROGRESS_SUB_STATUSES[max(step, 0)]
    download_url = None
    if completed:
        # Stands in for Apple's presigned blob URL; pyaxm reads the file name from this parameter.
        disposition = f'attachment;filename="{log_filename(activity)}"'
        download_url = links.url(
            f"/emulator/activity-logs/{activity.id}.csv", [("response-content-disposition", disposition)]
        )
    attributes = {
        "status": status,
        "subStatus": sub_status,
        "createdDateTime": isoformat(activity.created_at),
        "completedDateTime": isoformat(activity.completes_at) if completed else None,
        "downloadUrl": download_url,
    }
    return {
        "type": TYPE,
        "id": activity.id,
        "attributes": sparse(attributes, fields),
        "links": {"self": links.url(f"/v1/orgDeviceActivities/{activity.id}")},
    }


async def _visible(db: AsyncSession, *, activity_id: str, org_id: int | None, now: datetime) -> Activity:
    activity = None
    try:
        uuid.UUID(activity_id)
        activity = await db.get(Activity, activity_id.lower())
    except ValueError:
        pass
    if (
        activity is None
        or (org_id is not None and activity.org_id != org_id)
        or now > activity.created_at + RETENTION
    ):
        raise not_found(TYPE, activity_id)
    return activity


async def get_activity(
    db: AsyncSession, *, org: Org, activity_id: str, links: Links, fields: frozenset[str] | None
) -> dict[str, Any]:
    now = await clock.now(db)
    activity = await _visible(db, activity_id=activity_id, org_id=org.id, now=now)
    return {"data": render(activity, now=now, links=links, fields=fields), "links": {"self": links.self_url}}


@dataclass(frozen=True, slots=True)
class ActivityLog:
    filename: str
    content: str


async def activity_log(db: AsyncSession, *, activity_id: str) -> ActivityLog | None:
    """The CSV log of a completed activity (None while in progress or unknown). Its columns are the
    emulator's choice: Apple's are unverified (§1.9)."""
    now = await clock.now(db)
    try:
        activity = await _visible(db, activity_id=activity_id, org_id=None, now=now)
    except JsonApiError:
        return None
    if now < activity.completes_at:
        return None
    rows = await db.execute(
        select(ActivityDevice.serial_number, ActivityDevice.succeeded, ActivityDevice.message)
        .where(ActivityDevice.activity_id == activity.id)
        .order_by(ActivityDevice.position)
    )
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(CSV_HEADER)
    for serial, succeeded, message in rows:
        status = "SUCCESS" if succeeded else "FAILED"
        writer.writerow((serial, activity.activity_type, activity.server_uuid or "", status, message))
    return ActivityLog(filename=log_filename(activity), content=out.getvalue())
