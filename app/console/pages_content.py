"""Apps (with their licences) and packages, and Configurations (abm-api-2.md §2.5–§2.6).

The lists are the Business API's keyset pages (dep_emulator.abm.content). Licences: *total* is
what the org holds, *used* the distinct devices and users the Blueprints holding the app target
(dep_emulator.blueprints.reads), *available* the difference; an app is short (deficient) when
its Blueprints target more than it holds, the rule behind `appLicenseDeficient`. Read-only:
Apple's portal (here the control API) adds apps, packages and portal-made configurations.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import urlencode

from fastapi import APIRouter, Request
from fastapi.responses import Response

from ..abm import content as abm_content
from ..blueprints import configurations
from ..blueprints import payloads as payload_summary
from ..blueprints import reads as blueprint_reads
from ..content import reads as content_reads
from ..core.db import DbSession
from ..core.errors import JsonApiError
from ..orgs import service as orgs_service
from ..orgs.models import Org
from .paging import LINKS, next_cursor, page_request
from .render import ConsoleRoute, redirect, render, text, upload
from .security import read_form

router = APIRouter(route_class=ConsoleRoute)
MAX_PROFILE_BYTES = 1_000_000


def _link(request: Request, param: str, cursor: str | None) -> str:
    """This page's URL with `param` set to `cursor` (or dropped), the other pager's cursor kept."""
    query = [(k, v) for k, v in request.query_params.multi_items() if k != param]
    if cursor:
        query.append((param, cursor))
    return f"?{urlencode(query)}"


@router.get("/orgs/{org_id}/apps")
async def apps(org_id: str, request: Request, db: DbSession) -> Response:
    """Apps (adam id, licences total/used/available, short) and packages, each in keyset pages of 50."""
    org = await orgs_service.get_org(db, org_id=org_id)
    app_page = page_request(request)
    package_page = page_request(request, param="packages_cursor")
    app_doc = await abm_content.list_apps(db, org=org, page=app_page, links=LINKS, fields=None)
    package_doc = await abm_content.list_packages(db, org=org, page=package_page, links=LINKS, fields=None)
    adam_ids = [a["id"] for a in app_doc["data"]]
    total = await content_reads.licence_counts(db, org=org, adam_ids=adam_ids)
    used = await blueprint_reads.licences_used(db, org=org, adam_ids=adam_ids)
    rows = []
    for a in app_doc["data"]:
        held, taken = total.get(a["id"], 0), used.get(a["id"], 0)
        rows.append(
            {"id": a["id"], **a["attributes"], "total": held, "used": taken,
             "available": max(held - taken, 0), "deficient": taken > held}
        )  # fmt: skip
    app_next, package_next = next_cursor(app_doc), next_cursor(package_doc)
    return render(
        request,
        "apps.html",
        org=org,
        apps=rows,
        packages=[{"id": p["id"], **p["attributes"]} for p in package_doc["data"]],
        apps_next=_link(request, "cursor", app_next) if app_next else None,
        apps_first=_link(request, "cursor", None) if app_page.after else None,
        packages_next=_link(request, "packages_cursor", package_next) if package_next else None,
        packages_first=_link(request, "packages_cursor", None) if package_page.after else None,
    )


async def _configuration_list(request: Request, db: DbSession, org: Org, **context: Any) -> Response:
    page = page_request(request)
    document = await abm_content.list_configurations(db, org=org, page=page, links=LINKS, fields=None)
    return render(
        request,
        "configurations.html",
        org=org,
        rows=[{"id": c["id"], **c["attributes"]} for c in document["data"]],
        next_cursor=next_cursor(document),
        paged=page.after is not None,
        **context,
    )


@router.get("/orgs/{org_id}/configurations")
async def configuration_list(org_id: str, request: Request, db: DbSession) -> Response:
    """Configurations: name, type, platforms; keyset pages of 50; and Add Configuration."""
    org = await orgs_service.get_org(db, org_id=org_id)
    notice = {"added": "The configuration was added.", "deleted": "The configuration was deleted."}
    return await _configuration_list(
        request, db, org, notice=notice.get(request.query_params.get("done", ""))
    )


async def _profile_text(file: object) -> tuple[str | None, str | None]:
    """(the profile's text, None) or (None, what is wrong with the file)."""
    from starlette.datastructures import UploadFile

    if not isinstance(file, UploadFile):
        return None, "Choose the configuration profile (.mobileconfig)"
    data = await file.read(MAX_PROFILE_BYTES + 1)
    if len(data) > MAX_PROFILE_BYTES:
        return None, "The profile is larger than 1 MB"
    try:
        return data.decode("utf-8"), None
    except UnicodeDecodeError:
        return None, "The profile is not text: upload it unsigned, as plist XML"


@router.post("/orgs/{org_id}/configurations")
async def add_configuration(org_id: str, request: Request, db: DbSession) -> Response:
    """Add Configuration: a CUSTOM_SETTING one from a .mobileconfig, as `POST /v1/configurations`."""
    form = await read_form(request)
    org = await orgs_service.get_org(db, org_id=org_id)
    name = text(form, "name")
    file = upload(form, "profile")
    profile, problem = await _profile_text(file)
    errors: dict[str, str] = {}
    if not name:
        errors["name"] = "Enter the configuration's name"
    if problem is not None:
        errors["profile"] = problem
    if not errors:
        assert profile is not None and file is not None
        settings = {"configurationProfile": profile}
        if file.filename and file.filename.endswith(".mobileconfig"):
            settings["filename"] = file.filename
        body = {"data": {"type": "configurations", "attributes": {
            "type": configurations.CUSTOM, "name": name, "customSettingsValues": settings,
        }}}  # fmt: skip
        try:
            await configurations.create(db, org=org, body=body, actor=None)
        except JsonApiError as exc:
            await db.rollback()
            org = await orgs_service.get_org(db, org_id=org_id)
            pointer = (exc.source or {}).get("pointer", "")
            errors["name" if pointer.endswith("/name") else "profile"] = exc.detail
    if errors:
        return await _configuration_list(
            request, db, org, status_code=400, errors=errors, values={"name": name}
        )
    return redirect(request, f"/console/orgs/{org.id}/configurations?done=added")


@router.get("/orgs/{org_id}/configurations/{config_id}")
async def configuration(org_id: str, config_id: str, request: Request, db: DbSession) -> Response:
    """A configuration: its attributes, its profile's payloads summarised, the Blueprints holding it."""
    org = await orgs_service.get_org(db, org_id=org_id)
    found = await configurations.get(db, org=org, config_id=config_id)
    return render(
        request,
        "configuration.html",
        org=org,
        config=found,
        custom=found.config_type == configurations.CUSTOM,
        summary=payload_summary.summarise(found.profile or ""),
        blueprints=await blueprint_reads.holding(db, org=org, members=[("configurations", found.id)]),
    )


@router.post("/orgs/{org_id}/configurations/{config_id}/delete")
async def delete_configuration(org_id: str, config_id: str, request: Request, db: DbSession) -> Response:
    """Delete: as `DELETE /v1/configurations/{id}` (CUSTOM_SETTING only; it leaves every Blueprint)."""
    await read_form(request)
    org = await orgs_service.get_org(db, org_id=org_id)
    await configurations.remove(db, org=org, config_id=config_id, actor=None)
    return redirect(request, f"/console/orgs/{org.id}/configurations?done=deleted")
