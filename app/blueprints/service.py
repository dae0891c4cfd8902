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
- DELETE removes at once, or, under the org's `blueprint_delete_grace_seconds`, leaves the Blueprint
  readable with status TO_BE_DELETED until then (emulator clock; writes on it get 409); the first
  read after that removes it (§3.2, *unverified* period).
- Names: any 1–200 characters, or under `blueprint_name_rules: strict` the rules reported from a
  live tenant (§3.1, *unverified*): see `names.py`.
- Never touches a device's assignment or the DEP feed (§4.2). Every write leaves a COLLECTION_*
  audit event.
"""

from __future__ import annotations

import re
import uuid
from datetime import timedelta
from typing import Any

from sqlalchemy import delete, func, select
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.ext.asyncio import AsyncSession

from ..clock import service as clock
from ..orgs.models import Org
from ..orgs.settings import org_setting
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
ACTIVE, TO_BE_DELETED = "ACTIVE", "TO_BE_DELETED"
# `blueprint_name_rules: strict` (§3.1, *unverified*): a live tenant refused names with spaces and
# parentheses; the length limit and the uniqueness in the org are the emulator's choice.
STRICT_NAME = re.compile(r"[A-Za-z0-9._-]{1,64}")


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


def _data(
    body: Any, *, creating: bool, strict: bool
) -> tuple[dict[str, Any], dict[str, Any], dict[str, list[str]]]:
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
        if strict and not STRICT_NAME.fullmatch(name):
            raise conflict(
                ATTRIBUTE_INVALID,
                "'name' must be 1 to 64 letters, digits, '-', '_' or '.' (no spaces or parentheses)",
                "/data/attributes/name",
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


async def purge(db: AsyncSession, *, org: Org) -> None:
    """Remove the org's Blueprints whose TO_BE_DELETED period has ended (emulator clock)."""
    now = await clock.now(db)
    await db.execute(delete(Blueprint).where(Blueprint.org_id == org.id, Blueprint.purge_at <= now))


async def get(db: AsyncSession, *, org: Org, blueprint_id: str) -> Blueprint:
    """The Blueprint, lingering TO_BE_DELETED ones included (404 once their period has ended)."""
    await purge(db, org=org)
    blueprint = None
    if 0 < len(blueprint_id) <= 36 and "\x00" not in blueprint_id:
        blueprint = await db.scalar(
            select(Blueprint).where(Blueprint.org_id == org.id, Blueprint.id == blueprint_id)
        )
    if blueprint is None:
        raise not_found(TYPE, blueprint_id)
    return blueprint


async def _check_unique_name(db: AsyncSession, *, org: Org, name: str, blueprint_id: str | None) -> None:
    """Strict name rules: no other ACTIVE Blueprint of the org has this name (case-insensitive)."""
    taken = await db.scalar(
        select(Blueprint.id).where(
            Blueprint.org_id == org.id,
            Blueprint.status == ACTIVE,
            func.lower(Blueprint.name) == name.lower(),
            Blueprint.id != (blueprint_id or ""),
        )
    )
    if taken is not None:
        raise conflict(
            ATTRIBUTE_INVALID, f"A Blueprint named '{name}' already exists", "/data/attributes/name"
        )


def _strict(org: Org) -> bool:
    return bool(org_setting(org, "blueprint_name_rules") == "strict")


def _writable(blueprint: Blueprint) -> Blueprint:
    """409 on a write to a Blueprint being deleted (*unverified*: Apple's answer is not known)."""
    if blueprint.status == TO_BE_DELETED:
        raise conflict(
            ATTRIBUTE_INVALID,
            f"The Blueprint '{blueprint.id}' is being deleted and cannot be changed",
            "/data/attributes/status",
        )
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
    """Add entries (existing ones keep their `added_at`)."""
    now = await clock.now(db)
    rows = [{"blueprint_id": blueprint_id, "kind": kind, "member_id": i, "added_at": now} for i in ids]
    for start in range(0, len(rows), CHUNK):
        await db.execute(pg_insert(BlueprintMember).on_conflict_do_nothing(), rows[start : start + CHUNK])


async def _remove(db: AsyncSession, blueprint_id: str, kind: str, ids: list[str]) -> None:
    stmt = delete(BlueprintMember).where(
        BlueprintMember.blueprint_id == blueprint_id, BlueprintMember.kind == kind
    )
    ids = [i for i in ids if "\x00" not in i]
    for start in range(0, len(ids), CHUNK):
        await db.execute(stmt.where(BlueprintMember.member_id.in_(ids[start : start + CHUNK])))


async def _remove_others(db: AsyncSession, blueprint_id: str, kind: str, kept: list[str]) -> None:
    """A PATCH's replace: drop the entries of `kind` not in `kept` (kept ones keep `added_at`)."""
    stmt = delete(BlueprintMember).where(
        BlueprintMember.blueprint_id == blueprint_id, BlueprintMember.kind == kind
    )
    if kept:
        stmt = stmt.where(BlueprintMember.member_id.not_in(kept))
    await db.execute(stmt)


async def create(db: AsyncSession, *, org: Org, body: Any, actor: str | None) -> Blueprint:
    """`POST /v1/blueprints` (→ 201, status ACTIVE)."""
    _, attributes, linked = _data(body, creating=True, strict=_strict(org))
    if _strict(org):
        await _check_unique_name(db, org=org, name=attributes["name"], blueprint_id=None)
    now = await clock.now(db)
    blueprint = Blueprint(
        id=str(uuid.uuid4()).upper(), org_id=org.id, name=attributes["name"].strip(),
        description=attributes.get("description", ""), status=ACTIVE, created_at=now, updated_at=now,
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
    blueprint = _writable(await get(db, org=org, blueprint_id=blueprint_id))
    data, attributes, linked = _data(body, creating=False, strict=_strict(org))
    if data.get("id") != blueprint.id:
        raise conflict(ATTRIBUTE_INVALID, "'data.id' must be the id in the URL", "/data/id")
    if "name" in attributes:
        if _strict(org):
            await _check_unique_name(db, org=org, name=attributes["name"], blueprint_id=blueprint.id)
        blueprint.name = attributes["name"].strip()
    if "description" in attributes:
        blueprint.description = attributes["description"]
    for kind, ids in linked.items():
        kept = await members.known(db, org=org, kind=kind, ids=ids)
        await _remove_others(db, blueprint.id, kind, kept)
        await _insert(db, blueprint.id, kind, kept)
    await _check_sides(db, blueprint_id=blueprint.id)
    return await _touch(db, org=org, blueprint=blueprint, actor=actor)


async def delete_blueprint(db: AsyncSession, *, org: Org, blueprint_id: str, actor: str | None) -> None:
    """`DELETE /v1/blueprints/{id}` (→ 204): at once, or TO_BE_DELETED for the org's grace period
    (a second DELETE meanwhile changes nothing)."""
    blueprint = await get(db, org=org, blueprint_id=blueprint_id)
    if blueprint.status == TO_BE_DELETED:
        return
    await _audit(db, org=org, blueprint=blueprint, event_type=audit.COLLECTION_DELETED, actor=actor)
    grace = int(org_setting(org, "blueprint_delete_grace_seconds"))
    if grace > 0:
        now = await clock.now(db)
        blueprint.status, blueprint.updated_at = TO_BE_DELETED, now
        blueprint.purge_at = now + timedelta(seconds=grace)
    else:
        await db.delete(blueprint)
    await db.flush()


async def change_relationship(
    db: AsyncSession, *, org: Org, blueprint_id: str, kind: str, body: Any, add: bool, actor: str | None
) -> None:
    """`POST` (add) or `DELETE` (remove) `/v1/blueprints/{id}/relationships/{kind}` (→ 204)."""
    blueprint = _writable(await get(db, org=org, blueprint_id=blueprint_id))
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
