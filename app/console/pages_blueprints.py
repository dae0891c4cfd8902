"""Blueprints (abm-api-2.md §2.7): the list, a Blueprint's page with its six relationships, each
relationship in keyset pages, and Delete Blueprint.

Every read is the Business API's (dep_emulator.abm.blueprints): the list's pages, `include=` for
the first 50 of each relationship, the relationship linkage pages beyond. Delete calls the
blueprints service as `DELETE /v1/blueprints/{id}` does, by the org's administrator (its audit
event's actor). Creating and editing stay with the Business API, as in Apple's portal workflow
for infrastructure-as-code tools.
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import Response

from ..abm import blueprints as abm_blueprints
from ..blueprints import members
from ..blueprints import service as blueprints
from ..core.db import DbSession
from ..core.errors import ControlError
from ..orgs import service as orgs_service
from ..people import reads as people_reads
from .paging import LINKS, PAGE, next_cursor, page_request
from .render import ConsoleRoute, redirect, render
from .security import read_form

router = APIRouter(route_class=ConsoleRoute)
TITLES = {
    "apps": "Apps",
    "packages": "Packages",
    "configurations": "Configurations",
    "orgDevices": "Devices",
    "users": "Users",
    "userGroups": "Groups",
}


@router.get("/orgs/{org_id}/blueprints")
async def blueprint_list(org_id: str, request: Request, db: DbSession) -> Response:
    """Blueprints: name, status, licences short, how many of each relationship; keyset pages of 50."""
    org = await orgs_service.get_org(db, org_id=org_id)
    page = page_request(request)
    document = await abm_blueprints.list_blueprints(db, org=org, page=page, links=LINKS)
    rows = [
        {"id": b["id"], **b["attributes"], "counts": await blueprints.counts(db, blueprint_id=b["id"])}
        for b in document["data"]
    ]
    return render(
        request,
        "blueprints.html",
        org=org,
        rows=rows,
        titles=TITLES,
        next_cursor=next_cursor(document),
        paged=page.after is not None,
        notice="The Blueprint was deleted." if request.query_params.get("deleted") else None,
    )


@router.get("/orgs/{org_id}/blueprints/{blueprint_id}")
async def blueprint(org_id: str, blueprint_id: str, request: Request, db: DbSession) -> Response:
    """A Blueprint: attributes, and the first 50 of each relationship with the resources (`include=`)."""
    org = await orgs_service.get_org(db, org_id=org_id)
    document = await abm_blueprints.one_blueprint(
        db,
        org=org,
        blueprint_id=blueprint_id,
        links=LINKS,
        fields=None,
        include=dict.fromkeys(members.RELATIONSHIPS, PAGE),
    )
    data = document["data"]
    included: dict[tuple[str, str], dict[str, Any]] = {
        (r["type"], r["id"]): r for r in document.get("included", [])
    }
    sections = []
    for kind in members.RELATIONSHIPS:
        relationship = data["relationships"][kind]
        items = [
            included.get((kind, item["id"]), {"id": item["id"], "attributes": {}})
            for item in relationship["data"]
        ]
        more = "nextCursor" in relationship["meta"]["paging"]
        sections.append({"kind": kind, "title": TITLES[kind], "resources": items, "more": more})
    return render(
        request,
        "blueprint.html",
        org=org,
        blueprint={"id": data["id"], **data["attributes"]},
        counts=await blueprints.counts(db, blueprint_id=data["id"]),
        sections=sections,
    )


@router.get("/orgs/{org_id}/blueprints/{blueprint_id}/{kind}")
async def blueprint_members(
    org_id: str, blueprint_id: str, kind: str, request: Request, db: DbSession
) -> Response:
    """One relationship of a Blueprint, all of it, in keyset pages of 50 (its linkage pages)."""
    org = await orgs_service.get_org(db, org_id=org_id)
    if kind not in members.RELATIONSHIPS:
        raise ControlError(404, "not_found", f"A Blueprint has no relationship {kind[:40]!r}")
    found = await blueprints.get(db, org=org, blueprint_id=blueprint_id)
    page = page_request(request)
    linkage = await abm_blueprints.linkages(
        db, org=org, blueprint_id=found.id, kind=kind, page=page, links=LINKS
    )
    ids = [item["id"] for item in linkage["data"]]
    users = {}
    if kind == "users":
        found_users = await people_reads.users_by_ids(db, org=org, ids=[int(i) for i in ids if i.isdigit()])
        users = {str(user_id): user for user_id, user in found_users.items()}
    return render(
        request,
        "blueprint_members.html",
        org=org,
        blueprint=found,
        kind=kind,
        title=TITLES[kind],
        ids=ids,
        users=users,
        count=(await blueprints.counts(db, blueprint_id=found.id)).get(kind, 0),
        next_cursor=next_cursor(linkage),
        paged=page.after is not None,
    )


@router.post("/orgs/{org_id}/blueprints/{blueprint_id}/delete")
async def delete_blueprint(org_id: str, blueprint_id: str, request: Request, db: DbSession) -> Response:
    """Delete Blueprint: the service call of `DELETE /v1/blueprints/{id}` (a COLLECTION_DELETED event)."""
    await read_form(request)
    org = await orgs_service.get_org(db, org_id=org_id)
    await blueprints.delete_blueprint(db, org=org, blueprint_id=blueprint_id, actor=None)
    return redirect(request, f"/console/orgs/{org.id}/blueprints?deleted=1")
