"""Organizations: the list, "Create Organization", and each org's home page."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import Response
from pydantic import ValidationError

from ..core.db import DbSession
from ..orgs import service as orgs_service
from ..orgs.schemas import OrgIn
from .render import ConsoleRoute, redirect, render, text
from .security import read_form

router = APIRouter(route_class=ConsoleRoute)


@router.get("")
async def organizations(request: Request, db: DbSession) -> Response:
    """The orgs and the "Create Organization" form."""
    return render(request, "orgs.html", orgs=await orgs_service.list_orgs(db))


@router.post("/orgs")
async def create_organization(request: Request, db: DbSession) -> Response:
    form = await read_form(request)
    name = text(form, "name")
    try:
        data = OrgIn(name=name)
    except ValidationError as exc:
        message = "Enter an organization name" if not name else exc.errors()[0]["msg"]
        return render(
            request,
            "orgs.html",
            status_code=400,
            orgs=await orgs_service.list_orgs(db),
            errors={"name": message},
            values={"name": name},
        )
    org = await orgs_service.create_org(db, data=data)
    return redirect(request, f"/console/orgs/{org.id}")


@router.get("/orgs/{org_id}")
async def organization(org_id: str, request: Request, db: DbSession) -> Response:
    org = await orgs_service.get_org(db, org_id=org_id)
    servers = await orgs_service.list_servers(db, org=org)
    return render(request, "org.html", org=org, server_count=len(servers))
