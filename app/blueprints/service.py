"""Blueprints (abm-api-2.md §2.7, §3.1–§3.3): the only writer, with Apple's rules.

- Unknown ids in any relationship are dropped silently (§3.1); a client finds out by reading back.
- After dropping, a Blueprint needs content (apps, packages or configurations) and a target
  (orgDevices, users or userGroups): else 409 MISSING_RESOURCES / MISSING_MEMBERS, on create, on
  PATCH and when a relationship DELETE would empty a side (the "after" and the DELETE case are
  *unverified* choices, §3.3).
- PATCH replaces each relationship it sends (the JSON:API reading; *unverified*, §3.2).
- Relationship POST adds, DELETE removes; re-adding and removing a non-member are no-ops (204).
- A relationship body holds at most MAX_IDS ids (*unverified*; 10,000 so one request can target
  10,000 devices, issue 30), 409 ENTITY_ERROR.RELATIONSHIP.INVALID beyond, as for a wrong `type`.
- DELETE removes at once (no lingering TO_BE_DELETED state).
- Never touches a device's assignment or the DEP feed (§4.2). Every write leaves a COLLECTION_*
  audit event.
"""

from __future__ import annotations

import uuid
from typing import Any

from sqlalchemy import delete, func, select
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.ext.asyncio import AsyncSession

from ..clock import service as clock
from ..orgs.models import Org
from . import audit, members
from .errors import (
    ATTRIBUTE_INVALID,
    MISSING_MEMBERS,
    MISSING_RESOURCES,
    RELATIONSHIP_INVALID,
    conflict,
    not_found,
    unprocessable,
)
from .models import Blueprint, BlueprintMember

TYPE = "blueprints"
MAX_IDS = 10_000
CHUNK = 5000


def _linkage_ids(value: Any, kind: str, pointer: str) -> list[str]:
    """The ids of a `{"data": [{"type", "id"}…]}` linkage body for relationship `kind`."""
    data = value.get("data") if isinstance(value, dict) else None
    if not isinstance(data, list):
        raise unprocessable(pointer, f"'{kind}' must be an object with a 'data' array")
    if len(data) > MAX_IDS:
        raise conflict(RELATIONSHIP_INVALID, f"At most {MAX_IDS} ids per request", pointer)
    ids = []
    for i, item in enumerate(data):
        if not isinstance(item, dict) or item.get("type") != kind or not isinstance(item.get("id"), str):
            raise conflict(
                RELATIONSHIP_INVALID,
                f"Each item must be {{'type': '{kind}', 'id': '<id>'}}",
                f"{pointer}/{i}",
            )
        ids.append(item["id"])
    return ids


def _data(body: Any, *, creating: bool) -> tuple[dict[str, Any], dict[str, Any], dict[str, list[str]]]:
    data = body.get("data") if isinstance(body, dict) else None
    if not isinstance(data, dict):
        raise unprocessable("/data", "The request body must be a JSON object with a 'data' object")
    if data.get("type") != TYPE:
        raise unprocessable("/data/type", f"'data.type' must be '{TYPE}'")
    attributes = data.get("attributes", {})
    if not isinstance(attributes, dict):
        raise unprocessable("/data/attributes", "'data.attributes' must be an object")
    for name in attributes:
        if name not in ("name", "description"):
            raise unprocessable(f"/data/attributes/{name}", f"'{name}' cannot be set")
    if creating or "name" in attributes:
        name = attributes.get("name")
        if not isinstance(name, str) or not name.strip() or len(name) > 200 or "\x00" in name:
            raise conflict(
                ATTRIBUTE_INVALID, "'name' must be a string of 1 to 200 characters", "/data/attributes/name"
            )
    description = attributes.get("description", "")
    if not isinstance(description, str) or len(description) > 1000 or "\x00" in description:
        raise conflict(
            ATTRIBUTE_INVALID,
            "'description' must be a string of at most 1000 characters",
            "/data/attributes/description",
        )
    relationships = data.get("relationships", {})
    if not isinstance(relationships, dict):
        raise unprocessable("/data/relationships", "'data.relationships' must be an object")
    linked: dict[str, list[str]] = {}
    for kind, value in relationships.items():
        if kind not in members.RELATIONSHIPS:
            raise unprocessable(
                f"/data/relationships/{kind}", f"'{kind}' is not a relationship of blueprints"
            )
        linked[kind] = _linkage_ids(value, kind, f"/data/relationships/{kind}/data")
    return data, attributes, linked


async def get(db: AsyncSession, *, org: Org, blueprint_id: str) -> Blueprint:
    blueprint = None
    if 0 < len(blueprint_id) <= 36 and "\x00" not in blueprint_id:
        blueprint = await db.scalar(
            select(Blueprint).where(Blueprint.org_id == org.id, Blueprint.id == blueprint_id)
        )
    if blueprint is None:
        raise not_found(TYPE, blueprint_id)
    return blueprint


async def counts(db: AsyncSession, *, blueprint_id: str) -> dict[str, int]:
    rows = await db.execute(
        select(BlueprintMember.kind, func.count())
        .where(BlueprintMember.blueprint_id == blueprint_id)
        .group_by(BlueprintMember.kind)
    )
    return {kind: count for kind, count in rows}


async def _check_sides(db: AsyncSession, *, blueprint_id: str) -> None:
    have = await counts(db, blueprint_id=blueprint_id)
    if not any(have.get(k) for k in members.CONTENT):
        raise conflict(
            MISSING_RESOURCES,
            "A Blueprint needs at least one app, package or configuration that exists in the organization",
            "/data/relationships",
        )
    if not any(have.get(k) for k in members.TARGETS):
        raise conflict(
            MISSING_MEMBERS,
            "A Blueprint needs at least one device, user or user group that exists in the organization",
            "/data/relationships",
        )


async def _insert(db: AsyncSession, blueprint_id: str, kind: str, ids: list[str]) -> None:
    rows = [{"blueprint_id": blueprint_id, "kind": kind, "member_id": i} for i in ids]
    for start in range(0, len(rows), CHUNK):
        await db.execute(pg_insert(BlueprintMember).on_conflict_do_nothing(), rows[start : start + CHUNK])


async def _remove(db: AsyncSession, blueprint_id: str, kind: str, ids: list[str] | None) -> None:
    stmt = delete(BlueprintMember).where(
        BlueprintMember.blueprint_id == blueprint_id, BlueprintMember.kind == kind
    )
    if ids is None:
        await db.execute(stmt)
        return
    ids = [i for i in ids if "\x00" not in i]
    for start in range(0, len(ids), CHUNK):
        await db.execute(stmt.where(BlueprintMember.member_id.in_(ids[start : start + CHUNK])))


async def create(db: AsyncSession, *, org: Org, body: Any, actor: str | None) -> Blueprint:
    """`POST /v1/blueprints` (→ 201, status ACTIVE)."""
    _, attributes, linked = _data(body, creating=True)
    now = await clock.now(db)
    blueprint = Blueprint(
        id=str(uuid.uuid4()).upper(), org_id=org.id, name=attributes["name"].strip(),
        description=attributes.get("description", ""), status="ACTIVE", created_at=now, updated_at=now,
    )  # fmt: skip
    db.add(blueprint)
    await db.flush()
    for kind, ids in linked.items():
        await _insert(db, blueprint.id, kind, await members.known(db, org=org, kind=kind, ids=ids))
    await _check_sides(db, blueprint_id=blueprint.id)
    await _audit(db, org=org, blueprint=blueprint, event_type=audit.COLLECTION_CREATED, actor=actor)
    return blueprint


async def update(db: AsyncSession, *, org: Org, blueprint_id: str, body: Any, actor: str | None) -> Blueprint:
    """`PATCH /v1/blueprints/{id}`: partial attributes; each relationship sent replaces that one."""
    blueprint = await get(db, org=org, blueprint_id=blueprint_id)
    data, attributes, linked = _data(body, creating=False)
    if data.get("id") != blueprint.id:
        raise conflict(ATTRIBUTE_INVALID, "'data.id' must be the id in the URL", "/data/id")
    if "name" in attributes:
        blueprint.name = attributes["name"].strip()
    if "description" in attributes:
        blueprint.description = attributes["description"]
    for kind, ids in linked.items():
        await _remove(db, blueprint.id, kind, None)
        await _insert(db, blueprint.id, kind, await members.known(db, org=org, kind=kind, ids=ids))
    await _check_sides(db, blueprint_id=blueprint.id)
    return await _touch(db, org=org, blueprint=blueprint, actor=actor)


async def delete_blueprint(db: AsyncSession, *, org: Org, blueprint_id: str, actor: str | None) -> None:
    """`DELETE /v1/blueprints/{id}` (→ 204)."""
    blueprint = await get(db, org=org, blueprint_id=blueprint_id)
    await _audit(db, org=org, blueprint=blueprint, event_type=audit.COLLECTION_DELETED, actor=actor)
    await db.delete(blueprint)
    await db.flush()


async def change_relationship(
    db: AsyncSession, *, org: Org, blueprint_id: str, kind: str, body: Any, add: bool, actor: str | None
) -> None:
    """`POST` (add) or `DELETE` (remove) `/v1/blueprints/{id}/relationships/{kind}` (→ 204)."""
    blueprint = await get(db, org=org, blueprint_id=blueprint_id)
    ids = _linkage_ids(body, kind, "/data")
    if add:
        await _insert(db, blueprint.id, kind, await members.known(db, org=org, kind=kind, ids=ids))
    else:
        await _remove(db, blueprint.id, kind, list(dict.fromkeys(ids)))
    await _check_sides(db, blueprint_id=blueprint.id)
    await _touch(db, org=org, blueprint=blueprint, actor=actor)


async def _touch(db: AsyncSession, *, org: Org, blueprint: Blueprint, actor: str | None) -> Blueprint:
    blueprint.updated_at = await clock.now(db)
    await db.flush()
    await _audit(db, org=org, blueprint=blueprint, event_type=audit.COLLECTION_UPDATED, actor=actor)
    return blueprint


async def forget_devices(db: AsyncSession, *, serials: list[str]) -> None:
    """Take released devices out of every Blueprint (§4.1: release removes a device from them)."""
    for start in range(0, len(serials), CHUNK):
        await db.execute(
            delete(BlueprintMember).where(
                BlueprintMember.kind == "orgDevices",
                BlueprintMember.member_id.in_(serials[start : start + CHUNK]),
            )
        )


async def _audit(
    db: AsyncSession, *, org: Org, blueprint: Blueprint, event_type: str, actor: str | None
) -> None:
    payload = {"name": blueprint.name, "description": blueprint.description}
    await audit.write(
        db,
        org=org,
        event_type=event_type,
        actor=actor,
        subject_id=blueprint.id,
        subject_name=blueprint.name,
        payload=payload,
    )
