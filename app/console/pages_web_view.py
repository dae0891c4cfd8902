"""A device's page, its web view: Setup Assistant's web view on configuration_web_url, played by a
person. The MDM's page is shown as the device's web view shows it (its title, text, forms and
links, not its scripts or styles); what the person types is what the device submits
(dep_emulator.device_mdm.web_view, the same functions as the control API's .../web-view routes)."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import Response

from ..core.dep import SettingsDep
from ..core.errors import ControlError
from ..device_mdm import web_view
from ..device_mdm.service import web_enroller
from .render import ConsoleRoute, page_error, redirect, text
from .security import read_form

router = APIRouter(route_class=ConsoleRoute)
FIELD = "field:"  # the console's inputs for the page's fields are named field:<name>


@router.post("/devices/{serial}/web-view/submit")
async def submit(serial: str, request: Request, settings: SettingsDep) -> Response:
    form = await read_form(request)
    sessions = request.app.state.sessionmaker
    try:
        index = int(text(form, "form") or "0")
    except ValueError:
        return page_error(request, 422, "form must be a number")
    fields = {
        key[len(FIELD) :]: value
        for key, value in form.multi_items()
        if key.startswith(FIELD) and isinstance(value, str)
    }
    try:
        await web_view.submit(
            sessions,
            serial=serial,
            form=index,
            fields=fields,
            settings=settings,
            enroll=web_enroller(sessions, settings),
        )
    except ControlError as exc:
        return page_error(request, exc.status_code, exc.message)
    return redirect(request, f"/console/devices/{serial}#web-view")


@router.post("/devices/{serial}/web-view/follow")
async def follow(serial: str, request: Request, settings: SettingsDep) -> Response:
    form = await read_form(request)
    sessions = request.app.state.sessionmaker
    try:
        link = int(text(form, "link"))
    except ValueError:
        return page_error(request, 422, "link must be a number")
    try:
        await web_view.follow(
            sessions,
            serial=serial,
            link=link,
            url=None,
            settings=settings,
            enroll=web_enroller(sessions, settings),
        )
    except ControlError as exc:
        return page_error(request, exc.status_code, exc.message)
    return redirect(request, f"/console/devices/{serial}#web-view")
