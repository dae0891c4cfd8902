"""The Business API's content and policy under /v1 (abm-api-2.md §2.2): apps and packages (read),
Configurations and Blueprints (read and write, with the rules of §3). Business tokens only (§1.2).
Thin handlers: one service call each; writes are the blueprints domain's, reads this domain's."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request, Response, status

from ..blueprints import configurations
from ..blueprints import service as blueprints_service
from ..blueprints.errors import forbidden, not_found
from ..blueprints.members import RELATIONSHIPS
from ..core.db import DbSession
from . import blueprints, content
from .auth import BusinessCaller
from .jsonapi import Page, RequestLinks, parse_fields
from .router import json_body

router = APIRouter(prefix="/v1", tags=["abm"])
ALLOWED = "Allowed operations are: CREATE, DELETE, GET_RELATIONSHIP"


def _relationship(blueprint_id: str, rel: str) -> str:
    """A known relationship name; any other path segment is a path Apple does not have (404)."""
    if rel not in RELATIONSHIPS:
        raise not_found("blueprints", f"{blueprint_id}/relationships/{rel}")
    return rel


# --- apps and packages ----------------------------------------------------------------------


@router.get("/apps")
async def list_apps(
    request: Request, caller: BusinessCaller, page: Page, links: RequestLinks, db: DbSession
) -> dict[str, Any]:
    """Get Apps: the apps the org holds licences for (Business 2.0)."""
    fields = parse_fields(request, content.APPS, content.APP_FIELDS)
    return await content.list_apps(db, org=caller.org, page=page, links=links, fields=fields)


@router.get("/apps/{app_id}")
async def get_app(
    app_id: str, request: Request, caller: BusinessCaller, links: RequestLinks, db: DbSession
) -> dict[str, Any]:
    """Get App Information (the id is the App Store adam id)."""
    fields = parse_fields(request, content.APPS, content.APP_FIELDS)
    return await content.one_app(db, org=caller.org, app_id=app_id, links=links, fields=fields)


@router.get("/packages")
async def list_packages(
    request: Request, caller: BusinessCaller, page: Page, links: RequestLinks, db: DbSession
) -> dict[str, Any]:
    """Get Packages (Business 2.0)."""
    fields = parse_fields(request, content.PACKAGES, content.PACKAGE_FIELDS)
    return await content.list_packages(db, org=caller.org, page=page, links=links, fields=fields)


@router.get("/packages/{package_id}")
async def get_package(
    package_id: str, request: Request, caller: BusinessCaller, links: RequestLinks, db: DbSession
) -> dict[str, Any]:
    """Get Package Information."""
    fields = parse_fields(request, content.PACKAGES, content.PACKAGE_FIELDS)
    return await content.one_package(db, org=caller.org, package_id=package_id, links=links, fields=fields)


# --- configurations -------------------------------------------------------------------------


@router.get("/configurations")
async def list_configurations(
    request: Request, caller: BusinessCaller, page: Page, links: RequestLinks, db: DbSession
) -> dict[str, Any]:
    """Get Configurations (without customSettingsValues: read one for them)."""
    fields = parse_fields(request, content.CONFIGURATIONS, content.CONFIGURATION_FIELDS)
    return await content.list_configurations(db, org=caller.org, page=page, links=links, fields=fields)


@router.get("/configurations/{config_id}")
async def get_configuration(
    config_id: str, request: Request, caller: BusinessCaller, links: RequestLinks, db: DbSession
) -> dict[str, Any]:
    """Get Configuration Information (with customSettingsValues for a CUSTOM_SETTING one)."""
    fields = parse_fields(request, content.CONFIGURATIONS, content.CONFIGURATION_FIELDS)
    config = await configurations.get(db, org=caller.org, config_id=config_id)
    return content.configuration_document(config, links=links, fields=fields)


@router.post("/configurations", status_code=status.HTTP_201_CREATED)
async def create_configuration(
    request: Request, caller: BusinessCaller, links: RequestLinks, db: DbSession
) -> dict[str, Any]:
    """Create a Configuration: CUSTOM_SETTING only, the profile as plist XML text (→ 201)."""
    config = await configurations.create(
        db, org=caller.org, body=await json_body(request), actor=caller.account.client_id
    )
    return content.configuration_document(config, links=links, fields=None)


@router.patch("/configurations/{config_id}")
async def update_configuration(
    config_id: str, request: Request, caller: BusinessCaller, links: RequestLinks, db: DbSession
) -> dict[str, Any]:
    """Update a Configuration (CUSTOM_SETTING only; omitted fields keep their values)."""
    config = await configurations.update(
        db, org=caller.org, config_id=config_id, body=await json_body(request), actor=caller.account.client_id
    )
    return content.configuration_document(config, links=links, fields=None)


@router.delete("/configurations/{config_id}", status_code=status.HTTP_204_NO_CONTENT, response_class=Response)
async def delete_configuration(config_id: str, caller: BusinessCaller, db: DbSession) -> Response:
    """Delete a Configuration (→ 204); it leaves every Blueprint."""
    await configurations.remove(db, org=caller.org, config_id=config_id, actor=caller.account.client_id)
    return Response(status_code=status.HTTP_204_NO_CONTENT)


# --- blueprints -----------------------------------------------------------------------------


@router.get("/blueprints")
async def list_blueprints(
    caller: BusinessCaller, page: Page, links: RequestLinks, db: DbSession
) -> dict[str, Any]:
    """Get Blueprints."""
    return await blueprints.list_blueprints(db, org=caller.org, page=page, links=links)


@router.get("/blueprints/{blueprint_id}")
async def get_blueprint(
    blueprint_id: str, request: Request, caller: BusinessCaller, links: RequestLinks, db: DbSession
) -> dict[str, Any]:
    """Get Blueprint Information, with `include=` and `limit[<rel>]` (→ `included`)."""
    fields = parse_fields(request, blueprints.TYPE, blueprints.FIELDS)
    include = blueprints.parse_include(request)
    return await blueprints.one_blueprint(
        db, org=caller.org, blueprint_id=blueprint_id, links=links, fields=fields, include=include
    )


@router.post("/blueprints", status_code=status.HTTP_201_CREATED)
async def create_blueprint(
    request: Request, caller: BusinessCaller, links: RequestLinks, db: DbSession
) -> dict[str, Any]:
    """Create a Blueprint: unknown ids dropped, then content and targets required (→ 201)."""
    blueprint = await blueprints_service.create(
        db, org=caller.org, body=await json_body(request), actor=caller.account.client_id
    )
    data = await blueprints.render(db, blueprint, links=links, fields=None)
    return {"data": data, "links": {"self": data["links"]["self"]}}


@router.patch("/blueprints/{blueprint_id}")
async def update_blueprint(
    blueprint_id: str, request: Request, caller: BusinessCaller, links: RequestLinks, db: DbSession
) -> dict[str, Any]:
    """Update a Blueprint: partial attributes; each relationship sent replaces that one."""
    blueprint = await blueprints_service.update(
        db,
        org=caller.org,
        blueprint_id=blueprint_id,
        body=await json_body(request),
        actor=caller.account.client_id,
    )
    data = await blueprints.render(db, blueprint, links=links, fields=None)
    return {"data": data, "links": {"self": data["links"]["self"]}}


@router.delete("/blueprints/{blueprint_id}", status_code=status.HTTP_204_NO_CONTENT, response_class=Response)
async def delete_blueprint(blueprint_id: str, caller: BusinessCaller, db: DbSession) -> Response:
    """Delete a Blueprint (→ 204, at once)."""
    await blueprints_service.delete_blueprint(
        db, org=caller.org, blueprint_id=blueprint_id, actor=caller.account.client_id
    )
    return Response(status_code=status.HTTP_204_NO_CONTENT)


@router.get("/blueprints/{blueprint_id}/relationships/{rel}")
async def get_blueprint_linkages(
    blueprint_id: str, rel: str, caller: BusinessCaller, page: Page, links: RequestLinks, db: DbSession
) -> dict[str, Any]:
    """Get the ids of one relationship of a Blueprint (apps, configurations, packages, orgDevices,
    users, userGroups), paged."""
    kind = _relationship(blueprint_id, rel)
    return await blueprints.linkages(
        db, org=caller.org, blueprint_id=blueprint_id, kind=kind, page=page, links=links
    )


@router.post(
    "/blueprints/{blueprint_id}/relationships/{rel}",
    status_code=status.HTTP_204_NO_CONTENT,
    response_class=Response,
)
async def add_blueprint_members(
    blueprint_id: str, rel: str, request: Request, caller: BusinessCaller, db: DbSession
) -> Response:
    """Add to one relationship of a Blueprint (unknown ids dropped) (→ 204)."""
    kind = _relationship(blueprint_id, rel)
    await blueprints_service.change_relationship(
        db, org=caller.org, blueprint_id=blueprint_id, kind=kind, body=await json_body(request),
        add=True, actor=caller.account.client_id,
    )  # fmt: skip
    return Response(status_code=status.HTTP_204_NO_CONTENT)


@router.delete(
    "/blueprints/{blueprint_id}/relationships/{rel}",
    status_code=status.HTTP_204_NO_CONTENT,
    response_class=Response,
)
async def remove_blueprint_members(
    blueprint_id: str, rel: str, request: Request, caller: BusinessCaller, db: DbSession
) -> Response:
    """Remove from one relationship of a Blueprint (→ 204; 409 when a side would be left empty)."""
    kind = _relationship(blueprint_id, rel)
    await blueprints_service.change_relationship(
        db, org=caller.org, blueprint_id=blueprint_id, kind=kind, body=await json_body(request),
        add=False, actor=caller.account.client_id,
    )  # fmt: skip
    return Response(status_code=status.HTTP_204_NO_CONTENT)


@router.patch("/blueprints/{blueprint_id}/relationships/{rel}")
async def replace_blueprint_members(
    blueprint_id: str, rel: str, caller: BusinessCaller, db: DbSession
) -> None:
    """Refused, as Apple refuses it (live, third party): 403 FORBIDDEN_ERROR naming the allowed operations."""
    kind = _relationship(blueprint_id, rel)
    await blueprints_service.get(db, org=caller.org, blueprint_id=blueprint_id)
    raise forbidden(f"The relationship '{kind}' does not allow 'REPLACE'. {ALLOWED}")


@router.get("/blueprints/{blueprint_id}/{rel}")
async def get_blueprint_related(blueprint_id: str, rel: str, caller: BusinessCaller, db: DbSession) -> None:
    """The advertised `related` URLs are not served: 403 naming GET_RELATED, as on mdmServers (§3.3)."""
    kind = _relationship(blueprint_id, rel)
    await blueprints_service.get(db, org=caller.org, blueprint_id=blueprint_id)
    raise forbidden(f"The relationship '{kind}' does not allow 'GET_RELATED'. {ALLOWED}")
