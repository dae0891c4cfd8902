"""users, userGroups and organizationalUnits (abm-api-2.md §2.3–§2.4): the org's people, read only.

The people service (dep_emulator.people.service) writes them; these are Apple's views. Pages are
keyset reads over the primary keys (the statements below, checked by tests/abm/test_people_plans.py),
so page 1,000 of 100,000 users costs what page 1 does; lists carry no `total` (Apple's examples
show `limit` and `nextCursor` only), because counting would cost the whole list on every page.
Every documented attribute is always present: `""`, `[]`, `false` rather than absent.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from datetime import datetime
from operator import attrgetter
from typing import Any

from sqlalchemy import func, select, text
from sqlalchemy.ext.asyncio import AsyncSession

from ..clock.service import isoformat
from ..orgs.models import Org
from ..people.models import OrgUnit, OrgUser, UserGroup, UserGroupMember, UserRole
from .jsonapi import Links, PageRequest, bad_parameter, cut_page, list_document, not_found, sparse

USERS, GROUPS, UNITS = "users", "userGroups", "organizationalUnits"
USER_FIELDS = (
    "firstName", "middleName", "lastName", "status", "managedAppleAccount", "isExternalUser",
    "roleOuList", "email", "employeeNumber", "costCenter", "division", "department", "jobTitle",
    "phoneNumbers", "startDateTime", "createdDateTime", "updatedDateTime",
)  # fmt: skip
GROUP_FIELDS = (
    "ouId",
    "name",
    "type",
    "totalMemberCount",
    "status",
    "createdDateTime",
    "updatedDateTime",
    "users",
)
UNIT_FIELDS = ("name", "description", "createdDateTime", "updatedDateTime", "users")
_id = attrgetter("id")  # the keyset key of groups and units (users: their numeric id, as text)

# One statement per page, an index range scan stopped by its LIMIT (the extra row says "more").
USERS_PAGE_SQL = text(
    "SELECT * FROM org_user WHERE org_id = :org AND id > :after ORDER BY org_id, id LIMIT :n"
)
GROUPS_PAGE_SQL = text(
    "SELECT * FROM user_group WHERE org_id = :org AND id > :after ORDER BY org_id, id LIMIT :n"
)
UNITS_PAGE_SQL = text(
    "SELECT * FROM org_unit WHERE org_id = :org AND id > :after ORDER BY org_id, id LIMIT :n"
)
GROUP_MEMBERS_SQL = text(
    "SELECT user_id FROM user_group_member WHERE group_id = :group AND user_id > :after "
    "ORDER BY group_id, user_id LIMIT :n"
)
UNIT_MEMBERS_SQL = text(
    "SELECT DISTINCT user_id FROM org_user_role WHERE ou_id = :unit AND user_id > :after "
    "ORDER BY user_id LIMIT :n"
)


def _time(value: datetime | None) -> str | None:
    return isoformat(value) if value is not None else None


def _user_key(page: PageRequest) -> int:
    if page.after is None:
        return 0
    if not (page.after.isascii() and page.after.isdigit()) or len(page.after) > 18:
        raise bad_parameter("cursor", "the cursor is not one this API returned")
    return int(page.after)


# --- users ----------------------------------------------------------------------------------


async def user_roles(db: AsyncSession, ids: Sequence[int]) -> dict[int, list[dict[str, str]]]:
    roles: dict[int, list[dict[str, str]]] = defaultdict(list)
    rows = await db.execute(
        select(UserRole.user_id, UserRole.role_name, UserRole.ou_id)
        .where(UserRole.user_id.in_(ids))
        .order_by(UserRole.user_id, UserRole.ou_id, UserRole.role_name)
    )
    for user_id, role, unit in rows:
        roles[user_id].append({"roleName": role, "ouId": unit})
    return roles


def render_user(
    user: OrgUser, roles: list[dict[str, str]], *, links: Links, fields: frozenset[str] | None
) -> dict[str, Any]:
    attributes = {
        "firstName": user.first_name,
        "middleName": user.middle_name,
        "lastName": user.last_name,
        "status": user.status,
        "managedAppleAccount": user.managed_apple_account,
        "isExternalUser": user.is_external_user,
        "roleOuList": roles,
        "email": user.email,
        "employeeNumber": user.employee_number,
        "costCenter": user.cost_center,
        "division": user.division,
        "department": user.department,
        "jobTitle": user.job_title,
        "phoneNumbers": list(user.phone_numbers),
        "startDateTime": _time(user.start_at),
        "createdDateTime": isoformat(user.created_at),
        "updatedDateTime": isoformat(user.updated_at),
    }
    # No relationships: Apple documents none on users (§2.3; group membership is read from groups).
    return {
        "type": USERS,
        "id": str(user.id),
        "attributes": sparse(attributes, fields),
        "links": {"self": links.url(f"/v1/users/{user.id}")},
    }


async def list_users(
    db: AsyncSession, *, org: Org, page: PageRequest, links: Links, fields: frozenset[str] | None
) -> dict[str, Any]:
    params = {"org": org.id, "after": _user_key(page), "n": page.fetch}
    users, next_key = cut_page(
        list(await db.scalars(select(OrgUser).from_statement(USERS_PAGE_SQL), params)), page.limit, _id
    )
    roles = await user_roles(db, [u.id for u in users])
    data = [render_user(u, roles.get(u.id, []), links=links, fields=fields) for u in users]
    return list_document(data, links=links, page=page, next_key=next_key, total=None)


async def one_user(
    db: AsyncSession, *, org: Org, user_id: str, links: Links, fields: frozenset[str] | None
) -> dict[str, Any]:
    user = None
    if user_id.isascii() and user_id.isdigit() and len(user_id) < 19:
        user = await db.scalar(select(OrgUser).where(OrgUser.org_id == org.id, OrgUser.id == int(user_id)))
    if user is None:
        raise not_found(USERS, user_id)
    roles = await user_roles(db, [user.id])
    return {
        "data": render_user(user, roles.get(user.id, []), links=links, fields=fields),
        "links": {"self": links.self_url},
    }


# --- userGroups -----------------------------------------------------------------------------


async def member_counts(db: AsyncSession, ids: Sequence[str]) -> dict[str, int]:
    rows = await db.execute(
        select(UserGroupMember.group_id, func.count())
        .where(UserGroupMember.group_id.in_(ids))
        .group_by(UserGroupMember.group_id)
    )
    return {group_id: count for group_id, count in rows}


def render_group(
    group: UserGroup, count: int, *, links: Links, fields: frozenset[str] | None
) -> dict[str, Any]:
    path = f"/v1/userGroups/{group.id}"
    attributes = {
        "ouId": group.ou_id,
        "name": group.name,
        "type": group.group_type,  # UserGroupType, not the resource type
        "totalMemberCount": count,
        "status": group.status,
        "createdDateTime": isoformat(group.created_at),
        "updatedDateTime": isoformat(group.updated_at),
    }
    return _with_users(GROUPS, group.id, path, attributes, links=links, fields=fields)


def _with_users(
    resource_type: str,
    resource_id: str,
    path: str,
    attributes: dict[str, Any],
    *,
    links: Links,
    fields: frozenset[str] | None,
) -> dict[str, Any]:
    """A userGroups or organizationalUnits resource: its one relationship, `users`, links only its
    linkage (`self`), as in Apple's examples (abm-api-2.md §2.1)."""
    relationships = {"users": {"links": {"self": links.url(f"{path}/relationships/users")}}}
    return {
        "type": resource_type,
        "id": resource_id,
        "attributes": sparse(attributes, fields),
        "relationships": sparse(relationships, fields),
        "links": {"self": links.url(path)},
    }


async def list_groups(
    db: AsyncSession, *, org: Org, page: PageRequest, links: Links, fields: frozenset[str] | None
) -> dict[str, Any]:
    params = {"org": org.id, "after": page.after or "", "n": page.fetch}
    groups, next_key = cut_page(
        list(await db.scalars(select(UserGroup).from_statement(GROUPS_PAGE_SQL), params)), page.limit, _id
    )
    counts = await member_counts(db, [g.id for g in groups])
    data = [render_group(g, counts.get(g.id, 0), links=links, fields=fields) for g in groups]
    return list_document(data, links=links, page=page, next_key=next_key, total=None)


async def _group(db: AsyncSession, *, org: Org, group_id: str) -> UserGroup:
    group = None
    if 0 < len(group_id) <= 36 and "\x00" not in group_id:
        group = await db.scalar(select(UserGroup).where(UserGroup.org_id == org.id, UserGroup.id == group_id))
    if group is None:
        raise not_found(GROUPS, group_id)
    return group


async def one_group(
    db: AsyncSession, *, org: Org, group_id: str, links: Links, fields: frozenset[str] | None
) -> dict[str, Any]:
    group = await _group(db, org=org, group_id=group_id)
    counts = await member_counts(db, [group.id])
    data = render_group(group, counts.get(group.id, 0), links=links, fields=fields)
    return {"data": data, "links": {"self": links.self_url}}


def _linkage(ids: list[int], *, page: PageRequest, links: Links, related: str) -> dict[str, Any]:
    ids, next_key = cut_page(ids, page.limit, str)
    data = [{"type": USERS, "id": str(i)} for i in ids]
    document = list_document(data, links=links, page=page, next_key=next_key, total=None)
    document["links"]["related"] = related
    return document


async def group_user_linkages(
    db: AsyncSession, *, org: Org, group_id: str, page: PageRequest, links: Links
) -> dict[str, Any]:
    """`GET /v1/userGroups/{id}/relationships/users`: `{type: users, id}` items, paged."""
    group = await _group(db, org=org, group_id=group_id)
    params = {"group": group.id, "after": _user_key(page), "n": page.fetch}
    ids = list(await db.scalars(GROUP_MEMBERS_SQL, params))
    return _linkage(ids, page=page, links=links, related=links.url(f"/v1/userGroups/{group.id}"))


# --- organizationalUnits --------------------------------------------------------------------


def render_unit(unit: OrgUnit, *, links: Links, fields: frozenset[str] | None) -> dict[str, Any]:
    path = f"/v1/organizationalUnits/{unit.id}"
    attributes = {
        "name": unit.name,
        "description": unit.description,
        "createdDateTime": isoformat(unit.created_at),
        "updatedDateTime": isoformat(unit.updated_at),
    }
    return _with_users(UNITS, unit.id, path, attributes, links=links, fields=fields)


async def list_units(
    db: AsyncSession, *, org: Org, page: PageRequest, links: Links, fields: frozenset[str] | None
) -> dict[str, Any]:
    params = {"org": org.id, "after": page.after or "", "n": page.fetch}
    units, next_key = cut_page(
        list(await db.scalars(select(OrgUnit).from_statement(UNITS_PAGE_SQL), params)), page.limit, _id
    )
    data = [render_unit(u, links=links, fields=fields) for u in units]
    return list_document(data, links=links, page=page, next_key=next_key, total=None)


async def _unit(db: AsyncSession, *, org: Org, unit_id: str) -> OrgUnit:
    unit = None
    if 0 < len(unit_id) <= 36 and "\x00" not in unit_id:
        unit = await db.scalar(select(OrgUnit).where(OrgUnit.org_id == org.id, OrgUnit.id == unit_id))
    if unit is None:
        raise not_found(UNITS, unit_id)
    return unit


async def one_unit(
    db: AsyncSession, *, org: Org, unit_id: str, links: Links, fields: frozenset[str] | None
) -> dict[str, Any]:
    unit = await _unit(db, org=org, unit_id=unit_id)
    return {"data": render_unit(unit, links=links, fields=fields), "links": {"self": links.self_url}}


async def unit_user_linkages(
    db: AsyncSession, *, org: Org, unit_id: str, page: PageRequest, links: Links
) -> dict[str, Any]:
    """`GET /v1/organizationalUnits/{id}/relationships/users`: the users holding a role in the unit."""
    unit = await _unit(db, org=org, unit_id=unit_id)
    params = {"unit": unit.id, "after": _user_key(page), "n": page.fetch}
    ids = list(await db.scalars(UNIT_MEMBERS_SQL, params))
    return _linkage(ids, page=page, links=links, related=links.url(f"/v1/organizationalUnits/{unit.id}"))
