"""A device's page, its OS: what it is and runs (product type, OS version and build, Rapid
Security Response), changed as the control API's PATCH /emulator/v1/devices/{serial} does."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import Response
from pydantic import ValidationError

from ..core.db import DbSession
from ..core.errors import ControlError
from ..devices.schemas import DeviceAttributes
from ..inventory import service as devices_service
from .render import ConsoleRoute, page_error, redirect, text
from .security import read_form

router = APIRouter(route_class=ConsoleRoute)


@router.post("/devices/{serial}/software")
async def change_software(serial: str, request: Request, db: DbSession) -> Response:
    """Change OS version, build, product type or Rapid Security Response (blank = a fresh device's)."""
    form = await read_form(request)
    build = text(form, "os_build") or None
    values = {
        "os_version": text(form, "os_version") or None,
        "product_type": text(form, "product_type") or None,
        "os_supplemental_extra": text(form, "os_supplemental_extra") or None,
    }
    if build is not None:
        values["os_build"] = build
    try:
        changes = DeviceAttributes.model_validate(values)
    except ValidationError as exc:
        return page_error(request, 422, "; ".join(str(e["msg"]) for e in exc.errors()))
    try:
        await devices_service.modify_device(db, serial=serial, changes=changes)
    except ControlError as exc:
        if exc.status_code != 422:
            raise
        return page_error(request, 422, exc.message)
    return redirect(request, f"/console/devices/{serial}?software=1")
