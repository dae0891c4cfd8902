"""Control API for the inventory: add, generate, list, change, release, assign, replace devices."""

from __future__ import annotations

import json
from typing import Annotated

from fastapi import APIRouter, Query, Request, Response, status
from pydantic import ValidationError

from ..bulk import importing
from ..core import driver
from ..core.body_limit import CSV_CONTENT_TYPES, content_type
from ..core.db import DbSession
from ..core.errors import ControlError
from ..core.openapi import control_errors
from ..devices import wire
from ..devices.schemas import (
    AddDevicesIn,
    AddDevicesOut,
    AssignmentIn,
    AssignmentOut,
    DeviceAttributes,
    DeviceList,
    DeviceOut,
    HistoryOut,
    ReplaceIn,
)
from ..orgs import service as orgs_service
from ..orgs.models import MdmServer, Org
from . import listing, released, service
from . import views as inventory
from .history import CONTROL_API
from .views import DeviceView, software_out

router = APIRouter(tags=["devices"])
RESULTS_SHOWN = 10_000
_ADD_BODY = {
    "requestBody": {
        "content": {
            "application/json": {"schema": AddDevicesIn.model_json_schema()},
            "text/csv": {"schema": {"type": "string", "example": "serial_number,model,order_number\n..."}},
        }
    }
}


def device_out(view: DeviceView) -> DeviceOut:
    d = view.device
    history = None
    if view.history is not None:
        history = [
            HistoryOut(action=h.action, server_uuid=h.server_uuid, actor=h.actor, at=h.at)
            for h in view.history
        ]
    return DeviceOut(
        serial_number=d.serial_number,
        org_id=str(d.org_id) if d.org_id else None,
        server_uuid=view.server_uuid,
        order_number=d.order_number,
        order_date=d.order_date,
        replaces_serial_number=d.replaces_serial_number,
        replacement_date=d.replacement_date,
        released_from_org_id=str(d.released_org_id) if d.released_org_id else None,
        released_at=d.released_at,
        fields=wire.device_fields(d),
        software=software_out(d),
        history=history,
    )


def _is_csv(request: Request) -> bool:
    return content_type(request.scope) in CSV_CONTENT_TYPES  # streamed by the middlewares too


async def _add_body(request: Request) -> AddDevicesIn:
    raw = await request.body()
    try:
        return AddDevicesIn.model_validate(json.loads(raw))
    except ValueError as exc:  # JSON syntax, or pydantic's ValidationError (a ValueError)
        if isinstance(exc, ValidationError):
            message = "; ".join(f"{'.'.join(map(str, e['loc']))}: {e['msg']}" for e in exc.errors()[:20])
        else:
            message = f"body is not JSON: {exc}"
        raise ControlError(422, "validation_error", message) from None


async def _org_server(db: DbSession, org: Org, server_uuid: str | None) -> MdmServer | None:
    """The org's MDM server by uuid (None for None); 404 unknown, 409 another org's."""
    if server_uuid is None:
        return None
    server = await orgs_service.get_server(db, server_uuid=server_uuid)
    if server.org_id != org.id:
        raise ControlError(409, "foreign_server", "that MDM server belongs to another org")
    return server


@router.post(
    "/orgs/{org_id}/devices",
    status_code=status.HTTP_201_CREATED,
    response_model=AddDevicesOut,
    response_model_exclude_none=True,
    openapi_extra=_ADD_BODY,
    responses=control_errors(409),  # duplicate_serials
)
async def add_devices(
    org_id: str, request: Request, db: DbSession, server_uuid: str | None = None
) -> AddDevicesOut:
    """Add devices: JSON `{"devices": [...]}` or `{"generate": {...}}`, or a CSV with a header row
    (streamed: a million rows is fine); `server_uuid` assigns listed devices in the same request."""
    org = await orgs_service.get_org(db, org_id=org_id)
    if _is_csv(request):
        server = await _org_server(db, org, server_uuid)
        batches = importing.csv_batches(request.stream())
        added = await service.import_devices(db, org=org, batches=batches, server=server)
        return AddDevicesOut(count=added.count, serials=added.serials if added.count <= 1000 else None)
    body = await _add_body(request)
    if body.generate is not None:
        g = body.generate
        made = await service.generate_devices(
            db,
            org=org,
            count=g.count,
            families=g.families,
            order_number=g.order_number,
            seed=g.seed,
            start=g.start,
            server=await _org_server(db, org, g.server_uuid or server_uuid),
            os_version=g.os_version,
        )
        return AddDevicesOut(
            count=made.count, serials=made.serials if made.count <= 1000 else None, seed=made.seed
        )
    assert body.devices is not None
    server = await _org_server(db, org, server_uuid)
    added = await service.import_devices(
        db, org=org, batches=importing.list_batches(body.devices), server=server
    )
    return AddDevicesOut(count=added.count, serials=added.serials if added.count <= 1000 else None)


@router.get("/orgs/{org_id}/devices", response_model=DeviceList, responses=control_errors(400))  # cursor
async def list_devices(
    org_id: str,
    request: Request,
    server_uuid: str | None = None,
    order_number: str | None = None,
    serial: str | None = None,
    limit: Annotated[int, Query(ge=1, le=listing.LIST_MAX)] = 100,
    cursor: str | None = None,
) -> Response:
    """The org's devices by serial number; `next_cursor` pages on."""
    # On the hot pool, without an ORM session: one statement builds the DeviceList (issue 15).
    async with driver.connection(request.app.state) as conn:
        page = await listing.list_devices(
            conn,
            org_id=org_id,
            server_uuid=server_uuid,
            order_number=order_number,
            serial=serial,
            limit=limit,
            cursor=cursor,
        )
    return Response(page.render(), media_type="application/json")


@router.get("/devices/{serial}", response_model=DeviceOut)
async def get_device(serial: str, db: DbSession) -> DeviceOut:
    """One device (released ones too, with `org_id` null) and its assignment history."""
    return device_out(await inventory.get_device(db, serial=serial))


@router.patch("/devices/{serial}", response_model=DeviceOut)
async def modify_device(serial: str, body: DeviceAttributes, db: DbSession) -> DeviceOut:
    """Change attributes; a `modified` event on its server's feed."""
    await service.modify_device(db, serial=serial, changes=body)
    return device_out(await inventory.get_device(db, serial=serial))


@router.delete("/devices/{serial}", response_model=DeviceOut)
async def release_device(serial: str, db: DbSession) -> DeviceOut:
    """Release the device from its org: no event on its server's feed unless the org's
    `release_feed_event` is `deleted` (observed F1); it stays listed as released (F2)."""
    await service.release_device(db, serial=serial)
    return device_out(await inventory.get_device(db, serial=serial))


@router.post(
    "/devices/{serial}/add-back",
    response_model=DeviceOut,
    responses=control_errors(409),  # not_released
)
async def add_back_device(serial: str, db: DbSession) -> DeviceOut:
    """Add a released device back to the org it was released from (observed F2: as Apple Configurator
    or a reseller would); its next assignment is `added` on that server's feed."""
    await released.add_back(db, serial=serial, source=CONTROL_API)
    return device_out(await inventory.get_device(db, serial=serial))


@router.post(
    "/devices/{serial}/replace",
    status_code=status.HTTP_201_CREATED,
    response_model=DeviceOut,
    responses=control_errors(409),  # the new serial exists
)
async def replace_device(serial: str, db: DbSession, body: ReplaceIn | None = None) -> DeviceOut:
    """AppleCare replacement: returns the new device; the original is released by replacement."""
    _, replacement = await service.replace_device(
        db, serial=serial, new_serial=body.serial_number if body else None
    )
    return device_out(await inventory.get_device(db, serial=replacement.serial_number))


@router.post(
    "/orgs/{org_id}/assignments",
    response_model=AssignmentOut,
    response_model_exclude_none=True,
    responses=control_errors(409),  # foreign_server, device_released
)
async def assign(org_id: str, body: AssignmentIn, db: DbSession) -> AssignmentOut:
    """Manage Devices → Assign to Server (or unassign with `server_uuid: null`), by serials or order."""
    org = await orgs_service.get_org(db, org_id=org_id)
    server = await _org_server(db, org, body.server_uuid)
    actor = body.assigned_by or org.email
    if body.serials is not None:
        await released.refuse_released(db, org=org, serials=body.serials)  # observed F2
        results = await service.assign_devices(
            db, org=org, server=server, serials=body.serials, assigned_by=actor
        )
    else:
        assert body.order_number is not None
        results = await inventory.assign_order(
            db, org=org, server=server, order_number=body.order_number, assigned_by=actor
        )
    return AssignmentOut(
        count=len(results),
        summary=inventory.summary(list(results.values())),
        results=results if len(results) <= RESULTS_SHOWN else None,
    )
