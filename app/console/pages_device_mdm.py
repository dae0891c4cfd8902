"""A device's page, its MDM connection: what a person does where the control API's test would
(send the TokenUpdate the device held after Authenticate: issue 31's ordering race)."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import Response

from ..core.dep import SettingsDep
from ..device_mdm import token_update
from .render import ConsoleRoute, redirect
from .security import read_form

router = APIRouter(route_class=ConsoleRoute)


@router.post("/devices/{serial}/mdm/token-update")
async def send_token_update(serial: str, request: Request, settings: SettingsDep) -> Response:
    """Send TokenUpdate: the control API's POST /emulator/v1/devices/{serial}/mdm/token-update."""
    await read_form(request)
    await token_update.send(request.app.state.sessionmaker, serial=serial, settings=settings)
    return redirect(request, f"/console/devices/{serial}?token_update=1")
