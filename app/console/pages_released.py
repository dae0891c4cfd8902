"""A released device's way back (observed F2) and its AppleCare+ contracts, on the device's page."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import Response

from ..core.db import DbSession
from ..inventory import history, released
from .render import ConsoleRoute, redirect
from .security import read_form

router = APIRouter(route_class=ConsoleRoute)


@router.post("/devices/{serial}/add-back")
async def add_back(serial: str, request: Request, db: DbSession) -> Response:
    """Add Back to Organization: the control API's POST /emulator/v1/devices/{serial}/add-back."""
    await read_form(request)
    await released.add_back(db, serial=serial, source=history.PORTAL)
    return redirect(request, f"/console/devices/{serial}?added_back=1")
