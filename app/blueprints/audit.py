"""Audit events for Blueprint and Configuration writes (abm-api-2.md §4.2, §5 item 9), written by the
service that performs the write, in its transaction, into the org's one audit trail
(dep_emulator.devices.audit). Apple still uses the Business Essentials name for Blueprints:
`COLLECTION_*`, subject type COLLECTION; Configurations are `CONFIG_SETTINGS_*`, subject type
DEVICE_MANAGEMENT_SETTING. That Apple writes them for API calls is *inferred* (§6).

The trail's columns are the device trail's: `serial_number` holds the subject id and
`device_model` the subject name; `details` holds the event's payload and the subject type.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from ..clock import service as clock
from ..devices import audit
from ..orgs.models import Org

COLLECTION_CREATED, COLLECTION_UPDATED, COLLECTION_DELETED = (
    "COLLECTION_CREATED",
    "COLLECTION_UPDATED",
    "COLLECTION_DELETED",
)
CONFIG_CREATED, CONFIG_UPDATED, CONFIG_DELETED = (
    "CONFIG_SETTINGS_CREATED",
    "CONFIG_SETTINGS_UPDATED",
    "CONFIG_SETTINGS_DELETED",
)
SUBJECT_TYPE = {
    **dict.fromkeys((COLLECTION_CREATED, COLLECTION_UPDATED, COLLECTION_DELETED), "COLLECTION"),
    **dict.fromkeys((CONFIG_CREATED, CONFIG_UPDATED, CONFIG_DELETED), "DEVICE_MANAGEMENT_SETTING"),
}


async def write(
    db: AsyncSession,
    *,
    org: Org,
    event_type: str,
    actor: str | None,
    subject_id: str,
    subject_name: str,
    payload: dict[str, Any],
) -> None:
    who = audit.actor_for(actor, admin=org.email)
    row = {
        "org_id": org.id,
        "event_type": event_type,
        "occurred_at": await clock.now(db),
        "group_id": audit.new_group(),
        "actor_type": who.type,
        "actor_id": who.id,
        "serial_number": subject_id,
        "device_model": subject_name[:120],
        "server_uuid": None,
        "server_name": None,
        "details": {"subjectType": SUBJECT_TYPE[event_type], "payload": payload},
    }
    await audit.record(db, [row])
