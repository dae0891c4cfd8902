"""Users and Groups: the org's people as Apple's Business API lists them (abm-api-2.md §2.3–§2.4).

The lists are the Business API's own keyset pages (dep_emulator.abm.people: one index range scan
per page, so the 2,000th page of 100,000 users costs what the first does); a user's and a group's
page add what Apple's portal shows beside them (groups, members, Blueprints). Read-only: people
are written by the control API, the seed file and the generator (Apple's API cannot write them).
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import Response

from ..abm import people as abm_people
from ..blueprints import reads as blueprint_reads
from ..core.db import DbSession
from ..orgs import service as orgs_service
from ..people import reads as people_reads
from ..people import service as people_service
from .paging import LINKS, next_cursor, page_request
from .render import ConsoleRoute, render

router = APIRouter(route_class=ConsoleRoute)
GROUPS_SHOWN = 200  # a user's page lists at most this many of its groups


def _roles(roles: list[dict[str, str]], units: dict[str, str]) -> list[tuple[str, str]]:
    """(unit name, role) pairs of a `roleOuList`."""
    return [(units.get(r["ouId"], r["ouId"]), r["roleName"]) for r in roles]


@router.get("/orgs/{org_id}/users")
async def users(org_id: str, request: Request, db: DbSession) -> Response:
    """Users: name, Managed Apple Account, roles per unit, status; keyset pages of 50."""
    org = await orgs_service.get_org(db, org_id=org_id)
    page = page_request(request)
    document = await abm_people.list_users(db, org=org, page=page, links=LINKS, fields=None)
    units = await people_reads.unit_names(db, org=org)
    rows = [
        {"id": u["id"], **u["attributes"], "roles": _roles(u["attributes"]["roleOuList"], units)}
        for u in document["data"]
    ]
    return render(
        request,
        "users.html",
        org=org,
        rows=rows,
        next_cursor=next_cursor(document),
        paged=page.after is not None,
    )


@router.get("/orgs/{org_id}/users/{user_id}")
async def user(org_id: str, user_id: str, request: Request, db: DbSession) -> Response:
    """A user: directory fields, roles per unit, the groups it is in, the Blueprints that target it."""
    org = await orgs_service.get_org(db, org_id=org_id)
    found = await people_service.get_user(db, org=org, user_id=user_id)
    roles = (await abm_people.user_roles(db, [found.id])).get(found.id, [])
    groups = await people_reads.groups_of_user(db, org=org, user_id=found.id, limit=GROUPS_SHOWN + 1)
    targets: list[tuple[str, str]] = [("users", str(found.id)), *(("userGroups", g.id) for g in groups)]
    return render(
        request,
        "user.html",
        org=org,
        user=found,
        roles=_roles(roles, await people_reads.unit_names(db, org=org)),
        groups=groups[:GROUPS_SHOWN],
        more_groups=len(groups) > GROUPS_SHOWN,
        blueprints=await blueprint_reads.holding(db, org=org, members=targets),
    )


@router.get("/orgs/{org_id}/groups")
async def groups(org_id: str, request: Request, db: DbSession) -> Response:
    """Groups: name, type, unit, members, status; keyset pages of 50."""
    org = await orgs_service.get_org(db, org_id=org_id)
    page = page_request(request)
    document = await abm_people.list_groups(db, org=org, page=page, links=LINKS, fields=None)
    units = await people_reads.unit_names(db, org=org)
    rows = [
        {
            "id": g["id"],
            **g["attributes"],
            "unit": units.get(g["attributes"]["ouId"], g["attributes"]["ouId"]),
        }
        for g in document["data"]
    ]
    return render(
        request,
        "groups.html",
        org=org,
        rows=rows,
        next_cursor=next_cursor(document),
        paged=page.after is not None,
    )


@router.get("/orgs/{org_id}/groups/{group_id}")
async def group(org_id: str, group_id: str, request: Request, db: DbSession) -> Response:
    """A group: its attributes, its members (keyset pages of 50, as its `users` linkage), its Blueprints."""
    org = await orgs_service.get_org(db, org_id=org_id)
    found = await people_service.get_group(db, org=org, group_id=group_id)
    page = page_request(request)
    linkage = await abm_people.group_user_linkages(db, org=org, group_id=found.id, page=page, links=LINKS)
    ids = [int(item["id"]) for item in linkage["data"]]
    by_id = await people_reads.users_by_ids(db, org=org, ids=ids)
    members: list[Any] = [by_id[i] for i in ids if i in by_id]
    units = await people_reads.unit_names(db, org=org)
    return render(
        request,
        "group.html",
        org=org,
        group=found,
        unit=units.get(found.ou_id, found.ou_id),
        member_count=await people_service.member_count(db, group_id=found.id),
        members=members,
        next_cursor=next_cursor(linkage),
        paged=page.after is not None,
        blueprints=await blueprint_reads.holding(db, org=org, members=[("userGroups", found.id)]),
    )
