"""blueprints (abm-api-2.md §2.7, §2.1): Apple's view of the Blueprints the blueprints service stores.

All six relationships are always present with `self` and `related` links. `GET /v1/blueprints/{id}`
takes `include=` (relationship names) and `limit[<rel>]` (≤ 1000, default 100: *unverified*): each
included relationship then carries its first page of linkage `data` and `meta.paging` (*unverified*,
merlinz01 treats them as optional), and the resources go in the top-level `included`.
`appLicenseDeficient` compares the smallest licence count among the Blueprint's apps with its
distinct targets: devices plus users, direct or through groups (§4.2).
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import timedelta
from typing import Any

from fastapi import Request
from sqlalchemy import select, text
from sqlalchemy.ext.asyncio import AsyncSession

from ..blueprints import members
from ..blueprints import service as blueprints
from ..blueprints.models import Blueprint, Configuration
from ..clock import service as clock
from ..clock.service import isoformat
from ..content.models import OrgApp, OrgPackage
from ..devices.models import Device
from ..orgs.models import Org
from ..orgs.settings import org_setting
from ..people.models import OrgUser, UserGroup
from . import content, org_devices, people
from .jsonapi import (
    DEFAULT_LIMIT,
    MAX_LIMIT,
    Links,
    PageRequest,
    bad_parameter,
    cut_page,
    encode_cursor,
    list_document,
    sparse,
)

TYPE = "blueprints"
ATTRIBUTES = ("name", "description", "status", "appLicenseDeficient", "createdDateTime", "updatedDateTime")
FIELDS = (*ATTRIBUTES, *members.RELATIONSHIPS)
BLUEPRINTS_PAGE_SQL = text(
    "SELECT * FROM blueprint WHERE org_id = :org AND id > :after ORDER BY org_id, id LIMIT :n"
)
# Entries added after :visible are not shown yet (the org's blueprint_linkage_delay_seconds).
MEMBERS_PAGE_SQL = text(
    "SELECT member_id FROM blueprint_member WHERE blueprint_id = :blueprint AND kind = :kind "
    "AND member_id > :after AND (CAST(:visible AS timestamptz) IS NULL OR added_at IS NULL "
    "OR added_at <= CAST(:visible AS timestamptz)) "
    "ORDER BY blueprint_id, kind, member_id LIMIT :n"
)
TARGET_USERS_SQL = text(
    "SELECT count(*) FROM (SELECT member_id::bigint AS user_id FROM blueprint_member "
    "WHERE blueprint_id = :blueprint AND kind = 'users' UNION SELECT m.user_id FROM user_group_member m "
    "JOIN blueprint_member b ON b.member_id = m.group_id WHERE b.blueprint_id = :blueprint "
    "AND b.kind = 'userGroups') AS targeted"
)
SMALLEST_LICENCE_SQL = text(
    "SELECT min(a.license_count) FROM org_app a JOIN blueprint_member b ON b.member_id = a.adam_id "
    "WHERE b.blueprint_id = :blueprint AND b.kind = 'apps' AND a.org_id = :org"
)


def parse_include(request: Request) -> dict[str, int]:
    """`include=a,b` with `limit[a]=n`: relationship → page size; 400 on an unknown name or limit."""
    raw = request.query_params.get("include")
    names = [n.strip() for n in raw.split(",") if n.strip()] if raw is not None else []
    unknown = [n for n in names if n not in members.RELATIONSHIPS]
    if unknown or (raw is not None and not names):
        raise bad_parameter("include", f"'{','.join(unknown) or raw}' is not a relationship of blueprints")
    sizes = {}
    for name in names:
        key = f"limit[{name}]"
        value = request.query_params.get(key, str(DEFAULT_LIMIT))
        if not (value.isascii() and value.isdigit()) or not 1 <= int(value) <= MAX_LIMIT:
            raise bad_parameter(
                key, f"'{value[:20]}' is not a valid limit: use an integer from 1 to {MAX_LIMIT}"
            )
        sizes[name] = int(value)
    return sizes


async def _deficient(db: AsyncSession, blueprint: Blueprint) -> bool:
    params = {"blueprint": blueprint.id, "org": blueprint.org_id}
    smallest = await db.scalar(SMALLEST_LICENCE_SQL, params)
    if smallest is None:
        return False
    have = await blueprints.counts(db, blueprint_id=blueprint.id)
    targets = have.get("orgDevices", 0) + (await db.scalar(TARGET_USERS_SQL, params) or 0)
    return bool(targets > smallest)


async def render(
    db: AsyncSession, blueprint: Blueprint, *, links: Links, fields: frozenset[str] | None
) -> dict[str, Any]:
    path = f"/v1/blueprints/{blueprint.id}"
    attributes = {
        "name": blueprint.name,
        "description": blueprint.description,
        "status": blueprint.status,
        "appLicenseDeficient": await _deficient(db, blueprint),
        "createdDateTime": isoformat(blueprint.created_at),
        "updatedDateTime": isoformat(blueprint.updated_at),
    }
    relationships = {
        rel: {
            "links": {"self": links.url(f"{path}/relationships/{rel}"), "related": links.url(f"{path}/{rel}")}
        }
        for rel in members.RELATIONSHIPS
    }
    return {
        "type": TYPE,
        "id": blueprint.id,
        "attributes": sparse(attributes, fields),
        "relationships": sparse(relationships, fields),
        "links": {"self": links.url(path)},
    }


async def list_blueprints(db: AsyncSession, *, org: Org, page: PageRequest, links: Links) -> dict[str, Any]:
    await blueprints.purge(db, org=org)
    params = {"org": org.id, "after": page.after or "", "n": page.fetch}
    found, next_key = cut_page(
        list(await db.scalars(select(Blueprint).from_statement(BLUEPRINTS_PAGE_SQL), params)),
        page.limit,
        lambda b: b.id,
    )
    data = [await render(db, b, links=links, fields=None) for b in found]
    return list_document(data, links=links, page=page, next_key=next_key, total=None)


async def _member_page(
    db: AsyncSession, org: Org, blueprint_id: str, kind: str, *, after: str | None, limit: int
) -> list[str]:
    """Up to limit + 1 linkage ids after `after`, as a reader sees them now: entries added less than
    the org's `blueprint_linkage_delay_seconds` ago (emulator clock) are not shown yet (§3.1)."""
    delay = int(org_setting(org, "blueprint_linkage_delay_seconds"))
    visible = await clock.now(db) - timedelta(seconds=delay) if delay else None
    params = {
        "blueprint": blueprint_id,
        "kind": kind,
        "after": after or "",
        "n": limit + 1,
        "visible": visible,
    }
    return list(await db.scalars(MEMBERS_PAGE_SQL, params))


async def _resources(
    db: AsyncSession, org: Org, kind: str, ids: Sequence[str], links: Links
) -> list[dict[str, Any]]:
    """The included resources of one relationship, in linkage order."""
    if kind == "apps":
        rows = await db.scalars(select(OrgApp).where(OrgApp.org_id == org.id, OrgApp.adam_id.in_(ids)))
        found = {a.adam_id: content.render_app(a, links=links, fields=None) for a in rows}
    elif kind == "packages":
        packages = await db.scalars(select(OrgPackage).where(OrgPackage.id.in_(ids)))
        found = {p.id: content.render_package(p, links=links, fields=None) for p in packages}
    elif kind == "configurations":
        configs = await db.scalars(select(Configuration).where(Configuration.id.in_(ids)))
        found = {
            c.id: content.render_configuration(c, links=links, fields=None, single=False) for c in configs
        }
    elif kind == "orgDevices":
        devices = list(
            await db.scalars(select(Device).where(Device.org_id == org.id, Device.serial_number.in_(ids)))
        )
        found = {d["id"]: d for d in org_devices.render(devices, org, links=links, fields=None)}
    elif kind == "users":
        numbers = [int(i) for i in ids]
        users = list(await db.scalars(select(OrgUser).where(OrgUser.id.in_(numbers))))
        roles = await people.user_roles(db, [u.id for u in users])
        found = {
            str(u.id): people.render_user(u, roles.get(u.id, []), links=links, fields=None) for u in users
        }
    else:
        groups = list(await db.scalars(select(UserGroup).where(UserGroup.id.in_(ids))))
        counted = await people.member_counts(db, [g.id for g in groups])
        found = {g.id: people.render_group(g, counted.get(g.id, 0), links=links, fields=None) for g in groups}
    return [found[i] for i in ids if i in found]


async def one_blueprint(
    db: AsyncSession,
    *,
    org: Org,
    blueprint_id: str,
    links: Links,
    fields: frozenset[str] | None,
    include: dict[str, int],
) -> dict[str, Any]:
    blueprint = await blueprints.get(db, org=org, blueprint_id=blueprint_id)
    data = await render(db, blueprint, links=links, fields=fields)
    document: dict[str, Any] = {"data": data, "links": {"self": links.self_url}}
    if include:
        included: list[dict[str, Any]] = []
        for kind, limit in include.items():
            ids, next_key = cut_page(
                await _member_page(db, org, blueprint.id, kind, after=None, limit=limit), limit, str
            )
            relationship = data.setdefault("relationships", {}).setdefault(kind, {})
            relationship["data"] = [{"type": kind, "id": i} for i in ids]
            paging: dict[str, Any] = {"limit": limit}
            if next_key is not None:
                paging["nextCursor"] = encode_cursor(next_key)
            relationship["meta"] = {"paging": paging}
            included.extend(await _resources(db, org, kind, ids, links))
        document["included"] = included
    return document


async def linkages(
    db: AsyncSession, *, org: Org, blueprint_id: str, kind: str, page: PageRequest, links: Links
) -> dict[str, Any]:
    """`GET /v1/blueprints/{id}/relationships/{kind}`: `{type: kind, id}` items, paged."""
    blueprint = await blueprints.get(db, org=org, blueprint_id=blueprint_id)
    ids, next_key = cut_page(
        await _member_page(db, org, blueprint.id, kind, after=page.after, limit=page.limit), page.limit, str
    )
    data = [{"type": kind, "id": i} for i in ids]
    document = list_document(data, links=links, page=page, next_key=next_key, total=None)
    document["links"]["related"] = links.url(f"/v1/blueprints/{blueprint.id}/{kind}")
    return document
