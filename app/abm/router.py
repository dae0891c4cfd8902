"""The Business Manager API resources under /v1 (abm-api.md §1.4), served at the origin's root
because clients send absolute `/v1/...` paths (§2.2). Thin handlers: one service call each."""

from __future__ import annotations

import json
from typing import Any

from fastapi import APIRouter, Request, Response, status

from ..core.db import DbSession
from ..core.dep import SettingsDep
from ..core.errors import ControlError, JsonApiError
from . import activities, audit_events, org_devices, servers, variants
from .auth import CurrentCaller
from .jsonapi import Page, RequestLinks, parse_fields

router = APIRouter(prefix="/v1", tags=["abm"])


async def json_body(request: Request) -> Any:
    """The request body as JSON; 400 when it is not (the content type is not checked)."""
    try:
        return json.loads(await request.body())
    except (ValueError, UnicodeDecodeError, RecursionError) as exc:  # RecursionError: "[[[[…" too deep
        raise JsonApiError(
            400,
            "ENTITY_UNPARSABLE",
            "The request entity is not valid JSON",
            "The request body is not valid JSON",
        ) from exc


def device_fields(request: Request) -> frozenset[str] | None:
    return parse_fields(request, org_devices.TYPE, org_devices.FIELDS)


def server_fields(request: Request) -> frozenset[str] | None:
    return parse_fields(request, servers.TYPE, servers.FIELDS)


# --- orgDevices -----------------------------------------------------------------------------


@router.get("/orgDevices")
async def list_org_devices(
    request: Request, caller: CurrentCaller, page: Page, links: RequestLinks, db: DbSession
) -> dict[str, Any]:
    """Get Organization Devices: cursor pages of the org's devices (limit ≤ 1000)."""
    return await org_devices.list_devices(
        db, org=caller.org, page=page, links=links, fields=device_fields(request)
    )


@router.get("/orgDevices/{serial}")
async def get_org_device(
    serial: str, request: Request, caller: CurrentCaller, links: RequestLinks, db: DbSession
) -> dict[str, Any]:
    """Get Device Information (the id is the serial number)."""
    return await org_devices.one_device(
        db, org=caller.org, serial=serial, links=links, fields=device_fields(request)
    )


@router.get("/orgDevices/{serial}/relationships/assignedServer")
async def get_assigned_server_linkage(
    serial: str, caller: CurrentCaller, links: RequestLinks, db: DbSession
) -> dict[str, Any]:
    """Get the Assigned Server ID for a Device."""
    return await org_devices.assigned_server_linkage(db, org=caller.org, serial=serial, links=links)


@router.get("/orgDevices/{serial}/assignedServer")
async def get_assigned_server(
    serial: str, request: Request, caller: CurrentCaller, links: RequestLinks, db: DbSession
) -> dict[str, Any]:
    """Get the Assigned Server Information for a Device."""
    return await org_devices.assigned_server(
        db, org=caller.org, serial=serial, links=links, fields=server_fields(request)
    )


@router.get("/orgDevices/{serial}/appleCareCoverage")
async def get_apple_care_coverage(
    serial: str, request: Request, caller: CurrentCaller, page: Page, links: RequestLinks, db: DbSession
) -> dict[str, Any]:
    """Get AppleCare Coverage for a Device."""
    fields = parse_fields(request, org_devices.COVERAGE_TYPE, org_devices.COVERAGE_FIELDS)
    return await org_devices.apple_care_coverage(
        db, org=caller.org, serial=serial, page=page, links=links, fields=fields
    )


# School's API reads device management services but does not write them (dep_emulator.abm.variants).
_SERVER_WRITE = {
    "scope": variants.BUSINESS,
    "resource": "mdmServers",
    "allowed": "GET_COLLECTION, GET_INSTANCE, GET_RELATIONSHIP",
}

# --- mdmServers -----------------------------------------------------------------------------


@router.get("/mdmServers")
async def list_mdm_servers(
    request: Request, caller: CurrentCaller, page: Page, links: RequestLinks, db: DbSession
) -> dict[str, Any]:
    """Get Device Management Services."""
    return await servers.list_servers(
        db, org=caller.org, page=page, links=links, fields=server_fields(request)
    )


@router.get("/mdmServers/{server_id}")
async def get_mdm_server(
    server_id: str, request: Request, caller: CurrentCaller, links: RequestLinks, db: DbSession
) -> dict[str, Any]:
    """Get Device Management Service Information."""
    server = await servers.get_server(db, org=caller.org, server_id=server_id)
    data = await servers.render(db, [server], links=links, fields=server_fields(request))
    return {"data": data[0], "links": {"self": links.self_url}}


@router.get("/mdmServers/{server_id}/relationships/devices")
async def get_mdm_server_devices(
    server_id: str, caller: CurrentCaller, page: Page, links: RequestLinks, db: DbSession
) -> dict[str, Any]:
    """Get All Device IDs for a Device Management Service."""
    return await servers.device_linkages(db, org=caller.org, server_id=server_id, page=page, links=links)


@router.post("/mdmServers", status_code=status.HTTP_201_CREATED)
async def create_mdm_server(
    request: Request, caller: CurrentCaller, links: RequestLinks, db: DbSession
) -> dict[str, Any]:
    """Create a Device Management Service: serverName and serverCertificate {name, data}."""
    variants.refuse_operation(caller, **_SERVER_WRITE, operation="CREATE")
    server = await servers.create_server(db, org=caller.org, body=await json_body(request))
    data = (await servers.render(db, [server], links=links, fields=None))[0]
    return {"data": data, "links": {"self": data["links"]["self"]}}


@router.patch("/mdmServers/{server_id}")
async def update_mdm_server(
    server_id: str, request: Request, caller: CurrentCaller, links: RequestLinks, db: DbSession
) -> dict[str, Any]:
    """Update a Device Management Service (name, disown flag, default product families)."""
    variants.refuse_operation(caller, **_SERVER_WRITE, operation="UPDATE")
    server = await servers.update_server(
        db, org=caller.org, server_id=server_id, body=await json_body(request)
    )
    data = (await servers.render(db, [server], links=links, fields=None))[0]
    return {"data": data, "links": {"self": links.self_url}}


@router.delete("/mdmServers/{server_id}", status_code=status.HTTP_204_NO_CONTENT, response_class=Response)
async def delete_mdm_server(server_id: str, caller: CurrentCaller, db: DbSession) -> Response:
    """Delete a Device Management Service; 403 while devices are assigned to it (servers.delete_server)."""
    variants.refuse_operation(caller, **_SERVER_WRITE, operation="DELETE")
    await servers.delete_server(db, org=caller.org, server_id=server_id)
    return Response(status_code=status.HTTP_204_NO_CONTENT)


# --- orgDeviceActivities --------------------------------------------------------------------


@router.post("/orgDeviceActivities", status_code=status.HTTP_201_CREATED)
async def create_org_device_activity(
    request: Request, caller: CurrentCaller, links: RequestLinks, settings: SettingsDep, db: DbSession
) -> dict[str, Any]:
    """Create an Activity: assign, unassign, MDM migration deadlines, release (→ 201)."""
    return await activities.create_activity(
        db,
        caller=caller,
        body=await json_body(request),
        delay_seconds=settings.abm_activity_delay_seconds,
        links=links,
    )


@router.get("/orgDeviceActivities/{activity_id}")
async def get_org_device_activity(
    activity_id: str, request: Request, caller: CurrentCaller, links: RequestLinks, db: DbSession
) -> dict[str, Any]:
    """Get Activity Information: IN_PROGRESS until the configured delay has passed, then COMPLETED."""
    fields = parse_fields(request, activities.TYPE, activities.FIELDS)
    return await activities.get_activity(
        db, org=caller.org, activity_id=activity_id, links=links, fields=fields
    )


# --- auditEvents ----------------------------------------------------------------------------


@router.get("/auditEvents")
async def list_audit_events(
    request: Request, caller: CurrentCaller, page: Page, links: RequestLinks, db: DbSession
) -> dict[str, Any]:
    """Get Audit Events: devices added, removed, assigned and unassigned, oldest first (Business only)."""
    variants.refuse_resource(caller, scope=variants.BUSINESS, path="/v1/auditEvents")
    query = audit_events.parse_query(request)
    return await audit_events.list_events(db, org=caller.org, query=query, page=page, links=links)


# The activity log stands in for Apple's presigned blob-store URL: no bearer token, the random
# activity id is the capability (abm-api.md §2.3 item 5).
log_router = APIRouter(tags=["abm"])


@log_router.get("/emulator/activity-logs/{activity_id}.csv", response_class=Response)
async def download_activity_log(activity_id: str, db: DbSession) -> Response:
    """The CSV log of a completed activity, with its file name in Content-Disposition."""
    log = await activities.activity_log(db, activity_id=activity_id)
    if log is None:
        raise ControlError(404, "not_found", f"no activity log {activity_id!r}")
    return Response(
        log.content,
        media_type="text/csv; charset=utf-8",
        headers={"Content-Disposition": f'attachment; filename="{log.filename}"'},
    )
