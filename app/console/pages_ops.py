"""The developer's view: Profiles, Request Journal, Faults, Clock and Settings."""

from __future__ import annotations

import json
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import Response
from pydantic import ValidationError

from ..clock import service as clock
from ..core.db import DbSession
from ..core.dep import SettingsDep
from ..core.errors import ControlError
from ..faults import service as faults_service
from ..faults.catalogue import NAMED_ERRORS
from ..faults.schemas import FaultScriptIn
from ..journal import service as journal
from ..journal.router import entry_out
from ..orgs import service as orgs_service
from ..orgs import settings as org_settings
from ..profiles import service as profiles_service
from ..traffic import rules as traffic_rules
from ..traffic import service as traffic_service
from ..traffic.schemas import TrafficRulesIn
from .render import ConsoleRoute, redirect, render, text
from .security import read_form

router = APIRouter(route_class=ConsoleRoute)
JOURNAL_PAGE = 100
ADVANCES = {"1h": 3600, "1d": 86400, "8d": 8 * 86400}


@router.get("/orgs/{org_id}/profiles")
async def profiles(org_id: str, request: Request, db: DbSession) -> Response:
    org = await orgs_service.get_org(db, org_id=org_id)
    return render(
        request, "profiles.html", org=org, rows=await profiles_service.org_profiles(db, org_id=org.id)
    )


async def _journal(db: DbSession, org_id: str, request: Request) -> dict[str, Any]:
    org = await orgs_service.get_org(db, org_id=org_id)
    servers = await orgs_service.list_servers(db, org=org)
    params = request.query_params
    server = params.get("server") or None
    endpoint = params.get("endpoint") or None
    status = params.get("status", "")
    uuids = [s.server_uuid for s in servers]
    rows, _ = await journal.query(
        db,
        server_uuids=[server] if server in uuids else uuids,
        endpoint=endpoint,
        status=int(status) if status.isdigit() and len(status) == 3 else None,
        limit=JOURNAL_PAGE,
        newest_first=True,
    )
    names = {s.server_uuid: s.server_name for s in servers}
    return {
        "org": org,
        "servers": servers,
        "rows": [entry_out(r) for r in rows],
        "names": names,
        "filters": {"server": server or "", "endpoint": endpoint or "", "status": status},
    }


@router.get("/orgs/{org_id}/journal")
async def request_journal(org_id: str, request: Request, db: DbSession) -> Response:
    """The latest requests of the org's servers; console.js refreshes the table while it is open."""
    return render(request, "journal.html", **await _journal(db, org_id, request))


@router.get("/orgs/{org_id}/journal/rows")
async def request_journal_rows(org_id: str, request: Request, db: DbSession) -> Response:
    """The journal table alone (the fragment console.js polls)."""
    return render(request, "_journal_rows.html", **await _journal(db, org_id, request))


@router.get("/orgs/{org_id}/journal/{entry_id}")
async def journal_entry(org_id: str, entry_id: str, request: Request, db: DbSession) -> Response:
    org = await orgs_service.get_org(db, org_id=org_id)
    servers = await orgs_service.list_servers(db, org=org)
    uuids = [s.server_uuid for s in servers]
    found = None
    if entry_id.isdigit() and len(entry_id) < 19:
        rows, _ = await journal.query(
            db, server_uuids=uuids, after=str(int(entry_id) + 1), limit=1, newest_first=True
        )
        found = rows[0] if rows and str(rows[0].id) == entry_id else None
    if found is None:
        raise ControlError(404, "not_found", f"journal entry {entry_id} of this organization does not exist")
    entry = entry_out(found)
    return render(
        request,
        "journal_entry.html",
        org=org,
        entry=entry,
        details=json.dumps(entry.model_dump(mode="json"), indent=2),
    )


def _fault_step(form: Any, i: int) -> dict[str, Any] | None:
    kind = text(form, f"kind_{i}")
    if not kind:
        return None
    count = text(form, f"count_{i}") or "1"
    step: dict[str, Any] = {"count": int(count) if count.isdigit() else count}
    value = text(form, f"value_{i}")
    retry_after = text(form, f"retry_after_{i}")
    if kind == "error":
        step["error"] = value
    elif kind == "status":
        step["status"] = int(value) if value.isdigit() else value
    elif kind == "delay_ms":
        step["delay_ms"] = int(value) if value.isdigit() else value
    elif kind in ("drop_connection", "echo_cursor"):
        step[kind] = True
    elif kind == "device_status":
        step["device_status"] = value.upper()
    else:
        step[kind] = value
    if retry_after and kind in ("error", "status"):
        step["retry_after"] = retry_after
    return step


async def _faults_page(request: Request, db: DbSession, org_id: str, **context: Any) -> Response:
    org = await orgs_service.get_org(db, org_id=org_id)
    scripts = [await faults_service.script_out(db, s) for s in await faults_service.list_scripts(db)]
    servers = await orgs_service.list_servers(db, org=org)
    return render(
        request,
        "faults.html",
        org=org,
        scripts=scripts,
        servers=servers,
        named_errors=sorted(NAMED_ERRORS),
        steps=range(3),
        **context,
    )


@router.get("/orgs/{org_id}/faults")
async def faults(org_id: str, request: Request, db: DbSession) -> Response:
    return await _faults_page(request, db, org_id)


@router.post("/orgs/{org_id}/faults")
async def add_fault(org_id: str, request: Request, db: DbSession) -> Response:
    """Add a fault script: the same validation and service as POST /emulator/v1/faults."""
    form = await read_form(request)
    values = {key: text(form, key) for key in form if isinstance(form.get(key), str)}
    steps = [s for s in (_fault_step(form, i) for i in range(3)) if s is not None]
    body = {
        "endpoint": values.get("endpoint", ""),
        "server_uuid": values.get("server_uuid") or None,
        "responses": steps,
    }
    try:
        data = FaultScriptIn.model_validate(body)
    except ValidationError as exc:
        errors: dict[str, str] = {}
        for err in exc.errors():
            loc = err["loc"]
            field = "endpoint" if loc[:1] == ("endpoint",) else f"kind_{loc[1]}" if len(loc) > 1 else "kind_0"
            message = str(err["msg"]).removeprefix("Value error, ")
            if loc[:1] == ("responses",) and len(loc) == 1:
                message = "Add at least one step"
            errors.setdefault(field, message)
        return await _faults_page(request, db, org_id, status_code=400, errors=errors, values=values)
    await faults_service.create_script(db, data=data)
    return redirect(request, f"/console/orgs/{org_id}/faults")


@router.post("/orgs/{org_id}/faults/{fault_id}/delete")
async def delete_fault(org_id: str, fault_id: str, request: Request, db: DbSession) -> Response:
    await read_form(request)
    await faults_service.delete_script(db, fault_id=fault_id)
    return redirect(request, f"/console/orgs/{org_id}/faults")


@router.post("/orgs/{org_id}/faults/clear")
async def clear_faults(org_id: str, request: Request, db: DbSession) -> Response:
    await read_form(request)
    await faults_service.clear_scripts(db)
    return redirect(request, f"/console/orgs/{org_id}/faults")


async def _clock_page(request: Request, db: DbSession, org_id: str, **context: Any) -> Response:
    org = await orgs_service.get_org(db, org_id=org_id)
    return render(
        request,
        "clock.html",
        org=org,
        now=await clock.now(db),
        offset=await clock.offset_seconds(db),
        **context,
    )


@router.get("/orgs/{org_id}/clock")
async def clock_page(org_id: str, request: Request, db: DbSession) -> Response:
    return await _clock_page(request, db, org_id)


@router.post("/orgs/{org_id}/clock")
async def advance_clock(org_id: str, request: Request, db: DbSession) -> Response:
    """Advance 1 hour / 1 day / 8 days, or a custom number of hours (as POST /emulator/v1/clock)."""
    form = await read_form(request)
    preset = text(form, "advance")
    seconds: float | None = ADVANCES.get(preset)
    if seconds is None:
        hours = text(form, "hours")
        try:
            seconds = float(hours) * 3600
        except ValueError:
            seconds = None
        if seconds is None or not 0 < seconds <= 3650 * 86400:
            return await _clock_page(
                request,
                db,
                org_id,
                status_code=400,
                values={"hours": hours},
                errors={"hours": "Enter a number of hours greater than 0"},
            )
    await clock.advance(db, seconds=seconds)
    return redirect(request, f"/console/orgs/{org_id}/clock")


async def _settings_page(
    request: Request, db: DbSession, settings: SettingsDep, org_id: str, **context: Any
) -> Response:
    org = await orgs_service.get_org(db, org_id=org_id)
    return render(
        request,
        "settings.html",
        org=org,
        effective=org_settings.effective_settings(org),
        described=org_settings.ORG_SETTINGS,
        elsewhere=org_settings.OBSERVED_ELSEWHERE,
        traffic=traffic_service.rules_out(org, settings),
        presets=sorted(traffic_rules.PRESETS),
        **context,
    )


@router.get("/orgs/{org_id}/settings")
async def settings_page(org_id: str, request: Request, db: DbSession, settings: SettingsDep) -> Response:
    return await _settings_page(request, db, settings, org_id)


@router.post("/orgs/{org_id}/settings")
async def save_settings(org_id: str, request: Request, db: DbSession, settings: SettingsDep) -> Response:
    """Terms, the org's switches and the traffic preset, through the services the API uses."""
    form = await read_form(request)
    org = await orgs_service.get_org(db, org_id=org_id)
    accepted = form.get("terms_accepted") == "on"
    if accepted != org.terms_accepted:
        await orgs_service.set_terms(db, org=org, accepted=accepted)
    patch: dict[str, Any] = {}
    for key, spec in org_settings.ORG_SETTINGS.items():
        if not spec.form:
            continue
        if spec.many:
            patch[key] = [v for v in form.getlist(key) if isinstance(v, str)]
        elif isinstance(spec.default, bool):
            patch[key] = form.get(key) == "on"
        elif isinstance(spec.default, int):
            value = text(form, key)
            patch[key] = int(value) if value.isdigit() else value
        else:
            patch[key] = text(form, key)
    errors: dict[str, str] = {}
    try:
        await org_settings.patch_settings(db, org=org, patch=patch)
        preset = text(form, "traffic_preset")
        current = traffic_service.rules_out(org, settings)
        if preset and preset != current.preset:
            data = TrafficRulesIn.model_validate({"preset": preset, "overrides": current.overrides})
            await traffic_service.put_rules(db, org=org, data=data, settings=settings)
    except (ControlError, ValidationError) as exc:
        await db.rollback()
        message = exc.message if isinstance(exc, ControlError) else "Choose a known preset"
        key = message.split(":", 1)[0] if isinstance(exc, ControlError) else ""
        errors[key if key in org_settings.ORG_SETTINGS else "traffic_preset"] = message
        return await _settings_page(request, db, settings, org_id, status_code=400, errors=errors)
    return redirect(request, f"/console/orgs/{org_id}/settings?saved=1")
