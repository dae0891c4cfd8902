"""Manage Devices, View Assignment History, the Devices inventory, a device's page and Setup Assistant."""

from __future__ import annotations

import io
from typing import Any
from urllib.parse import urlencode

from fastapi import APIRouter, Request
from fastapi.responses import Response
from pydantic import ValidationError

from ..apple_care import service as apple_care
from ..bulk import importing
from ..core import driver
from ..core.db import DbSession
from ..core.dep import SettingsDep
from ..core.errors import ControlError, DepError
from ..device_mdm import service as device_mdm
from ..device_mdm import state as mdm_state
from ..device_mdm import web_view
from ..device_mdm.ddm import control as ddm_control
from ..device_setup import service as device_setup
from ..device_setup.schemas import ActivateIn
from ..devices.generator import FAMILIES
from ..devices.schemas import GenerateIn
from ..inventory import history, listing, released
from ..inventory import service as devices_service
from ..inventory import views as inventory
from ..inventory.views import software_out
from ..journal import service as journal_service
from ..orgs import service as orgs_service
from ..orgs import settings as org_settings
from ..orgs.models import Org
from ..profiles import service as profiles_service
from . import device_builtin, setup_assistant
from .render import ConsoleRoute, redirect, render, text, upload, upload_chunks
from .security import read_form

router = APIRouter(route_class=ConsoleRoute)
SHOWN_NOT_FOUND = 100
PAGE = 50
DONE = {"assigned", "moved", "reassigned", "unassigned", "released"}


def split_serials(value: str) -> list[str]:
    """Serials separated by commas, spaces or new lines, as the portal takes them."""
    return [s for s in value.replace(",", " ").split() if s]


def _csv_serials(form_file: Any) -> list[str]:
    """The serial_number column of an uploaded CSV, read line by line from python-multipart's spool."""
    stream = io.TextIOWrapper(form_file.file, encoding="utf-8-sig", newline="")
    try:
        return inventory.serials_from_csv(stream)
    except UnicodeDecodeError:
        raise ControlError(422, "invalid_csv", "The CSV file is not UTF-8 text") from None
    finally:
        stream.detach()


async def _manage_form(request: Request, db: DbSession, org: Org, **context: Any) -> Response:
    servers = await orgs_service.list_servers(db, org=org)
    return render(request, "manage_devices.html", org=org, servers=servers, **context)


EXCHANGES = 200  # the device page shows its oldest 200 exchanges with the MDM, newest first


@router.get("/orgs/{org_id}/manage-devices")
async def manage_devices(org_id: str, request: Request, db: DbSession) -> Response:
    org = await orgs_service.get_org(db, org_id=org_id)
    return await _manage_form(request, db, org, values={"choose_by": "serial", "action": "assign"})


@router.post("/orgs/{org_id}/manage-devices")
async def manage_devices_submit(org_id: str, request: Request, db: DbSession) -> Response:
    """Choose Devices By … → Choose Action … → OK: the same service calls as POST .../assignments."""
    form = await read_form(request)
    org = await orgs_service.get_org(db, org_id=org_id)
    values = {
        k: text(form, k) for k in ("choose_by", "serial_numbers", "order_number", "action", "server_uuid")
    }
    errors: dict[str, str] = {}
    serials: list[str] | None = None
    choose_by, action = values["choose_by"], values["action"]
    try:
        if choose_by == "serial":
            serials = split_serials(values["serial_numbers"])
            if not serials:
                errors["serial_numbers"] = "Enter at least one serial number"
        elif choose_by == "order":
            if not values["order_number"]:
                errors["order_number"] = "Enter an order number"
        elif choose_by == "csv":
            csv_file = upload(form, "csv_file")
            if csv_file is None:
                errors["csv_file"] = "Choose a CSV file with a serial_number column"
            else:
                serials = _csv_serials(csv_file)
        else:
            errors["choose_by"] = "Choose how to find the devices"
    except ControlError as exc:
        errors["csv_file"] = exc.message
    server = None
    if action == "assign":
        if not values["server_uuid"]:
            errors["server_uuid"] = "Choose the MDM server to assign the devices to"
        else:
            server = await orgs_service.get_server(db, server_uuid=values["server_uuid"])
            if server.org_id != org.id:
                errors["server_uuid"] = "That MDM server belongs to another organization"
    elif action not in ("unassign", "disown"):
        errors["action"] = "Choose an action"
    if errors:
        return await _manage_form(request, db, org, status_code=400, errors=errors, values=values)
    if choose_by == "order":
        ids = await inventory.order_serials(db, org=org, order_number=values["order_number"])
        serials = ids
    assert serials is not None
    if action != "disown":  # observed F2: a released device is refused until added back
        try:
            await released.refuse_released(db, org=org, serials=serials)
        except ControlError as exc:
            errors["csv_file" if choose_by == "csv" else "serial_numbers"] = exc.message
            return await _manage_form(request, db, org, status_code=409, errors=errors, values=values)
    if action == "disown":
        results = await devices_service.release_serials(
            db, org=org, serials=serials, actor=org.email, source=history.PORTAL
        )
    else:
        results = await devices_service.assign_devices(
            db, org=org, server=server, serials=serials, assigned_by=org.email, source=history.PORTAL
        )
    missing = [s for s, outcome in results.items() if outcome == "not_found"]
    query: list[tuple[str, str]] = [
        ("action", action),
        ("done", str(sum(1 for outcome in results.values() if outcome in DONE))),
        ("requested", str(len(results))),
        ("missing", str(len(missing))),
    ]
    if server is not None:
        query.append(("server", server.server_uuid))
    if choose_by == "order":
        query.append(("order", values["order_number"]))
    query += [("nf", s) for s in missing[:SHOWN_NOT_FOUND]]
    return redirect(request, f"/console/orgs/{org.id}/manage-devices/complete?{urlencode(query)}")


@router.get("/orgs/{org_id}/manage-devices/complete")
async def assignment_complete(org_id: str, request: Request, db: DbSession) -> Response:
    """Assignment Complete: counts and the requested serials that were not found."""
    org = await orgs_service.get_org(db, org_id=org_id)
    params = request.query_params
    server = None
    if params.get("server"):
        server = await orgs_service.get_server(db, server_uuid=params["server"])
    return render(
        request,
        "assignment_complete.html",
        org=org,
        server=server,
        action=params.get("action", ""),
        done=params.get("done", "0"),
        requested=params.get("requested", "0"),
        missing=params.get("missing", "0"),
        order=params.get("order"),
        not_found=params.getlist("nf"),
    )


def _int(value: str | None) -> int | None:
    return int(value) if value and value.isdigit() and len(value) < 19 else None


@router.get("/orgs/{org_id}/history")
async def assignment_history(org_id: str, request: Request, db: DbSession) -> Response:
    """View Assignment History: newest first, by serial number, keyset pages."""
    org = await orgs_service.get_org(db, org_id=org_id)
    serial = request.query_params.get("serial", "").strip()
    lines, before = await history.org_history(
        db, org=org, serial=serial or None, before=_int(request.query_params.get("before")), limit=PAGE
    )
    return render(
        request,
        "history.html",
        org=org,
        lines=lines,
        before=before,
        serial=serial,
        words=history.SOURCE_WORDS,
    )


async def _inventory_page(
    request: Request,
    org: Org,
    *,
    server_uuid: str | None,
    order_number: str | None,
    serial: str | None,
    cursor: str | None,
) -> listing.DevicePage:
    """The control API's inventory list, on the hot pool as that route reads it (inventory.listing)."""
    async with driver.connection(request.app.state) as conn:
        return await listing.list_devices(
            conn,
            org_id=str(org.id),
            server_uuid=server_uuid,
            order_number=order_number,
            serial=serial,
            limit=PAGE,
            cursor=cursor,
        )


@router.get("/orgs/{org_id}/devices")
async def devices(org_id: str, request: Request, db: DbSession) -> Response:
    """The inventory by serial number: search, filters by server and order, keyset pages."""
    org = await orgs_service.get_org(db, org_id=org_id)
    params = request.query_params
    serial = params.get("serial", "").strip() or None
    server_uuid = params.get("server", "").strip() or None
    order_number = params.get("order", "").strip() or None
    page = await _inventory_page(
        request,
        org,
        server_uuid=server_uuid,
        order_number=order_number,
        serial=serial,
        cursor=params.get("after") or None,
    )
    servers = await orgs_service.list_servers(db, org=org)
    names = {s.server_uuid: s.server_name for s in servers}
    filters = {"serial": serial or "", "server": server_uuid or "", "order": order_number or ""}
    next_url = None
    if page.next_cursor:
        next_url = f"?{urlencode({**{k: v for k, v in filters.items() if v}, 'after': page.next_cursor})}"
    return render(
        request,
        "devices.html",
        org=org,
        devices=page.devices(),
        names=names,
        servers=servers,
        filters=filters,
        next_url=next_url,
        families=FAMILIES,
    )


@router.post("/orgs/{org_id}/devices")
async def add_devices(org_id: str, request: Request, db: DbSession) -> Response:
    """Add Devices: generate (count, families, order number) or a CSV, as POST .../devices."""
    form = await read_form(request)
    org = await orgs_service.get_org(db, org_id=org_id)
    values = {"count": text(form, "count"), "order_number": text(form, "gen_order_number")}
    families = [f for f in form.getlist("families") if isinstance(f, str) and f in FAMILIES]
    csv_file = upload(form, "devices_csv")
    errors: dict[str, str] = {}
    try:
        if csv_file is not None:
            added = await devices_service.import_devices(
                db, org=org, batches=importing.csv_batches(upload_chunks(csv_file))
            )
            count = added.count
        else:
            try:
                spec = GenerateIn(
                    count=int(values["count"]) if values["count"].isdigit() else 0,
                    families=families or None,
                    order_number=values["order_number"] or None,
                )
            except ValidationError:
                errors["count"] = "Enter a number of devices between 1 and 2,000,000"
                raise ControlError(422, "validation_error", "") from None
            count = (
                await devices_service.generate_devices(
                    db,
                    org=org,
                    count=spec.count,
                    families=spec.families,
                    order_number=spec.order_number,
                )
            ).count
    except UnicodeDecodeError:
        errors["devices_csv"] = "The CSV file is not UTF-8 text"
    except ControlError as exc:
        await db.rollback()
        if not errors:
            errors["devices_csv" if csv_file is not None else "count"] = exc.message
    if errors:
        org = await orgs_service.get_org(db, org_id=org_id)
        page = await _inventory_page(
            request, org, server_uuid=None, order_number=None, serial=None, cursor=None
        )
        servers = await orgs_service.list_servers(db, org=org)
        return render(
            request,
            "devices.html",
            status_code=400,
            org=org,
            devices=page.devices(),
            servers=servers,
            names={s.server_uuid: s.server_name for s in servers},
            errors=errors,
            values=values,
            filters={"serial": "", "server": "", "order": ""},
            next_url=None,
            families=FAMILIES,
        )
    return redirect(request, f"/console/orgs/{org.id}/devices?added={count}")


async def _device_context(db: DbSession, serial: str) -> dict[str, Any]:
    view = await inventory.get_device(db, serial=serial)
    device = view.device
    org = await orgs_service.get_org(db, org_id=str(device.org_id)) if device.org_id else None
    server = await orgs_service.get_server(db, server_uuid=view.server_uuid) if view.server_uuid else None
    profile = None
    if server is not None and device.profile_uuid:
        try:
            profile = await profiles_service.get_profile(db, server=server, profile_uuid=device.profile_uuid)
        except DepError:
            profile = None
    events = await history.feed_events(db, device=device)
    try:  # after enrollment: what the MDM manages, and every exchange with it (dep_emulator.device_mdm)
        managed = await mdm_state.managed(db, serial=serial)
        ddm = await ddm_control.ddm(db, serial=serial)
    except ControlError:
        managed, ddm = None, None
    exchanges = (await mdm_state.exchanges(db, serial=serial, after_id=0, limit=EXCHANGES)).exchanges
    try:  # Setup Assistant's web view on configuration_web_url, while one is open or just closed
        web = await web_view.get(db, serial=serial)
    except ControlError:
        web = None
    return {
        "builtin": await device_builtin.context(db, device=device, org=org),  # issue 30
        "web_view": web,
        "software": software_out(device),
        "managed": managed,
        "ddm": ddm,
        "exchanges": list(reversed(exchanges)),
        "view": view,
        "device": device,
        "org": org,
        "server": server,
        "profile": profile,
        "events": events,
        # The lost-events fault (observed F4) withholds this device's events from sync.
        "withheld": org is not None and org_settings.withholds_sync(org, device.serial_number),
        "withheld_by": await journal_service.withheld_events(db, serial=device.serial_number),
        "history": list(reversed(view.history or [])),
        "coverage": await apple_care.coverage(db, device=device),
    }


@router.get("/devices/{serial}")
async def device_page(serial: str, request: Request, db: DbSession) -> Response:
    return render(request, "device.html", **await _device_context(db, serial))


@router.post("/devices/{serial}/switch-on")
async def switch_on(serial: str, request: Request, db: DbSession, settings: SettingsDep) -> Response:
    """Switch On: the activation the control API's POST .../activate makes, drawn as the device's screen.

    The screen is this POST's answer (not a redirect): it is what the device showed at that moment,
    including the MDM's answer, which nothing stores; switching on again is harmless."""
    await read_form(request)
    result = await device_mdm.switch_on(
        db,
        request.app.state.sessionmaker,
        serial=serial,
        options=ActivateIn(contact_mdm=True),
        settings=settings,
    )
    context = await _device_context(db, serial)
    screen = setup_assistant.screen(result, context["device"])
    return render(request, "device.html", screen=screen, activation=result, **context)


@router.post("/devices/{serial}/erase")
async def erase(serial: str, request: Request, db: DbSession) -> Response:
    """Erase Device: the installed configuration is gone; its next Switch On asks Apple again."""
    await read_form(request)
    await device_setup.erase(db, serial=serial)
    return redirect(request, f"/console/devices/{serial}?erased=1")
