"""auditEvents (abm-api.md §1.4, Apple "Get Audit Events"): the org's audit trail.

The trail is written by the devices service with every change (dep_emulator.devices.audit), so devices
added, assigned, unassigned or released through any route appear here; the blueprints service adds
COLLECTION_* and CONFIG_SETTINGS_* events for Blueprint and Configuration writes
(dep_emulator.blueprints.audit, abm-api-2.md §5 item 9), and the AppleCare service
SUBJECT_HAS_APPLECARE_PURCHASE_ADDED/_REMOVED (dep_emulator.apple_care.service). The other
AuditEventType values Apple lists are accepted as filters and match nothing.

Query: `filter[startTimestamp]` and `filter[endTimestamp]` (both required, as Apple's "Get Audit
Events" page lists them: developer.apple.com/documentation/applebusinessapi/get-audit-events; a
missing one is 400 PARAMETER_ERROR.REQUIRED naming it), `filter[actorId]`, `filter[subjectId]` (the
serial number) and `filter[type]` (one value each, as Apple documents), `fields[auditEvents]`,
`limit` and `cursor`. Events come oldest first; the range is inclusive at both ends.

Each resource carries Apple's common attributes and the event-specific payload under the key
that `eventDataPropertyKey` names. The emulator adds `mdmServerId` to the assign and unassign
payloads (Apple's unassign payload carries only the serial; unknown fields are allowed, §1.3).
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from fastapi import Request
from sqlalchemy import select, tuple_
from sqlalchemy.ext.asyncio import AsyncSession

from ..apple_care import service as apple_care
from ..blueprints import audit as policy_audit
from ..clock.service import isoformat
from ..core.errors import JsonApiError
from ..devices import audit
from ..devices.models import AuditEvent
from ..orgs.models import Org
from . import org_devices
from .jsonapi import Links, PageRequest, bad_parameter, cut_page, list_document, parse_fields, sparse

TYPE = "auditEvents"
CATEGORY = {
    audit.ADDED: "DEVICE_INVENTORY",
    audit.REMOVED: "DEVICE_INVENTORY",
    audit.ASSIGNED: "DEVICE_MANAGEMENT",
    audit.UNASSIGNED: "DEVICE_MANAGEMENT",
    audit.ERASED: "DEVICE_MANAGEMENT",
    **dict.fromkeys(apple_care.EVENT_TYPES, "DEVICE_INVENTORY"),
}
# Every AuditEventType Apple documents (a filter on one the emulator never writes matches nothing).
APPLE_TYPES = (
    *audit.EVENT_TYPES,
    "SUBJECT_HAS_ICLOUD_STORAGE_PURCHASE_ADDED",
    "SUBJECT_HAS_ICLOUD_STORAGE_PURCHASE_REMOVED",
    "SUBJECT_HAS_APPLECARE_PURCHASE_ADDED",
    "SUBJECT_HAS_APPLECARE_PURCHASE_REMOVED",
    "CONFIG_SETTINGS_CREATED",
    "CONFIG_SETTINGS_UPDATED",
    "CONFIG_SETTINGS_DELETED",
    "COLLECTION_CREATED",
    "COLLECTION_UPDATED",
    "COLLECTION_DELETED",
    "SUBSCRIPTION_CREATED",
    "SUBSCRIPTION_UPDATED",
    "SUBSCRIPTION_DELETED",
    "ACCOUNT_ROLE_LOCATION_CHANGED",
    "ACCOUNT_ADDED",
    "ACCOUNT_DELETED",
    "EXTERNAL_ACCOUNT_ASSOCIATED",
    "EXTERNAL_ACCOUNT_DISASSOCIATED",
    "DOMAIN_ADDED",
    "DOMAIN_REMOVED",
    "DOMAIN_VERIFIED",
    "API_ACCOUNT_CREATED_WITH_KEY",
    "API_ACCOUNT_CREATED_WITHOUT_KEY",
    "API_ACCOUNT_DELETED",
    "API_ACCOUNT_KEY_REVOKED",
    "API_ACCOUNT_KEY_GENERATED",
    "API_ACCOUNT_ROLE_LOCATION_CHANGED",
    "API_ACCOUNT_NAME_CHANGED",
)
COMMON_FIELDS = (
    "eventDateTime",
    "type",
    "category",
    "actorType",
    "actorId",
    "actorName",
    "subjectType",
    "subjectId",
    "subjectName",
    "outcome",
    "groupId",
    "eventDataPropertyKey",
)


def _data_key(event_type: str) -> str:
    """DEVICE_ADDED_TO_ORG → eventDataDeviceAddedToOrg (Apple's naming for every type)."""
    words = event_type.lower().split("_")
    return "eventData" + "".join(w.capitalize() for w in words).replace("Icloud", "ICloud").replace(
        "Applecare", "AppleCare"
    )


FIELDS = (*COMMON_FIELDS, *(_data_key(t) for t in APPLE_TYPES))


def _timestamp(request: Request, name: str, *, required: bool) -> datetime | None:
    key = f"filter[{name}]"
    raw = request.query_params.get(key)
    if raw is None or raw == "":
        if required:
            raise JsonApiError(
                400,
                "PARAMETER_ERROR.REQUIRED",
                "A required parameter is missing",
                f"'{key}' is required",
                source={"parameter": key},
            )
        return None
    try:
        value = datetime.fromisoformat(raw.replace("z", "Z"))
    except ValueError:
        raise bad_parameter(key, f"'{raw[:80]}' is not an ISO 8601 timestamp") from None
    return value if value.tzinfo is not None else value.replace(tzinfo=UTC)  # no zone: UTC


def _single(request: Request, name: str, *, max_length: int) -> str | None:
    key = f"filter[{name}]"
    values = request.query_params.getlist(key)
    if not values:
        return None
    if len(values) > 1 or "," in values[0] or not 0 < len(values[0]) <= max_length or "\x00" in values[0]:
        raise bad_parameter(key, f"'{key}' takes exactly one value")
    return values[0]


def parse_query(request: Request) -> dict[str, Any]:
    """The filters and sparse fieldset of a request; 400 for anything Apple would refuse."""
    start = _timestamp(request, "startTimestamp", required=True)
    end = _timestamp(request, "endTimestamp", required=True)
    if end is not None and start is not None and end < start:
        raise bad_parameter(
            "filter[endTimestamp]", "'filter[endTimestamp]' is before 'filter[startTimestamp]'"
        )
    event_type = _single(request, "type", max_length=64)
    if event_type is not None and event_type not in APPLE_TYPES:
        raise bad_parameter("filter[type]", f"'{event_type[:80]}' is not an audit event type")
    return {
        "start": start,
        "end": end,
        "event_type": event_type,
        "actor_id": _single(request, "actorId", max_length=250),
        "subject_id": _single(request, "subjectId", max_length=64),
        "fields": parse_fields(request, TYPE, FIELDS),
    }


def _cursor_key(event: AuditEvent) -> str:
    micros = int(event.occurred_at.timestamp() * 1_000_000)
    return f"{micros}:{event.id}"


def _after(page: PageRequest) -> tuple[datetime, int] | None:
    if page.after is None:
        return None
    micros, _, event_id = page.after.partition(":")
    try:
        moment = datetime.fromtimestamp(int(micros) / 1_000_000, UTC)
        return moment, int(event_id)
    except (ValueError, OverflowError, OSError):
        raise bad_parameter("cursor", "the cursor is not one this API returned") from None


def render(event: AuditEvent, org: Org, *, links: Links, fields: frozenset[str] | None) -> dict[str, Any]:
    key = _data_key(event.event_type)
    serial = event.serial_number
    payload: dict[str, Any] = {"serialNumber": serial}
    details = event.details or {}
    subject_type, category = "DEVICE", CATEGORY.get(event.event_type, "DEVICE_MANAGEMENT")
    if event.event_type in policy_audit.SUBJECT_TYPE:
        # Blueprint (COLLECTION) and Configuration events: the subject's id and name stand in
        # the trail's serial and model columns (dep_emulator.blueprints.audit).
        subject_type, payload = details.get("subjectType", "COLLECTION"), dict(details.get("payload", {}))
    elif event.event_type == audit.ADDED:
        source_type, source_id = org_devices.purchase_source(details.get("orderNumber"), org)
        payload |= {"purchaseSourceType": source_type, "purchaseSourceId": source_id}
    elif event.event_type == audit.REMOVED:
        payload["releaseEntityType"] = details.get("releaseEntityType")
        if details.get("releaseEntityId"):
            payload["releaseEntityId"] = details["releaseEntityId"]
    elif event.event_type in apple_care.EVENT_TYPES:  # the contract (dep_emulator.apple_care.service)
        payload |= {k: details[k] for k in ("agreementNumber", "description", "paymentType") if k in details}
    elif event.event_type == audit.ERASED:
        if event.server_uuid:
            payload["mdmServerId"] = event.server_uuid
    elif event.event_type == audit.ASSIGNED:
        payload |= {"targetServerName": event.server_name, "mdmServerId": event.server_uuid}
    else:
        payload["mdmServerId"] = event.server_uuid
    attributes = {
        "eventDateTime": isoformat(event.occurred_at),
        "type": event.event_type,
        "category": category,
        "actorType": event.actor_type,
        "actorId": event.actor_id,
        "actorName": event.actor_id,  # an email address or an API client id: its own best name
        "subjectType": subject_type,
        "subjectId": serial,
        "subjectName": event.device_model,
        "outcome": "SUCCESS",  # a change that failed is not written
        "groupId": event.group_id,
        "eventDataPropertyKey": key,
        key: payload,
    }
    # Apple documents no single-event endpoint: `self` is the query that finds exactly this event.
    moment = event.occurred_at.astimezone(UTC).isoformat()
    find = [
        ("filter[startTimestamp]", moment),
        ("filter[endTimestamp]", moment),
        ("filter[subjectId]", serial),
        ("filter[type]", event.event_type),
    ]
    return {
        "type": TYPE,
        "id": str(event.id),
        "attributes": sparse(attributes, fields),
        "links": {"self": links.url("/v1/auditEvents", find)},
    }


async def list_events(
    db: AsyncSession, *, org: Org, query: dict[str, Any], page: PageRequest, links: Links
) -> dict[str, Any]:
    """`GET /v1/auditEvents`: keyset pages over (occurred_at, id) (index ix_audit_event_org_time)."""
    end = query["end"]
    stmt = select(AuditEvent).where(
        AuditEvent.org_id == org.id, AuditEvent.occurred_at >= query["start"], AuditEvent.occurred_at <= end
    )
    if query["event_type"] is not None:
        stmt = stmt.where(AuditEvent.event_type == query["event_type"])
    if query["actor_id"] is not None:
        stmt = stmt.where(AuditEvent.actor_id == query["actor_id"])
    if query["subject_id"] is not None:
        stmt = stmt.where(AuditEvent.serial_number == query["subject_id"])
    after = _after(page)
    if after is not None:
        stmt = stmt.where(tuple_(AuditEvent.occurred_at, AuditEvent.id) > tuple_(*after))
    stmt = stmt.order_by(AuditEvent.occurred_at, AuditEvent.id).limit(page.fetch)
    events, next_key = cut_page(list(await db.scalars(stmt)), page.limit, _cursor_key)
    data = [render(e, org, links=links, fields=query["fields"]) for e in events]
    return list_document(data, links=links, page=page, next_key=next_key, total=None)
