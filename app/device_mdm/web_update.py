"""A 403 `com.apple.softwareupdate.required` in the web view, after its first load (issue 31 §3, §4).

The MDM may refuse the device at any page of its web authentication, not only on the first load
(which `first_contact` handles): a JSON 403 with Apple's predefined error, say once the user has
signed in and the MDM knows who it is. The device reads it as it reads the answer to MachineInfo
(device-2026.md §2.1): only when its MachineInfo offered updates (`MDM_CAN_REQUEST_SOFTWARE_UPDATE`)
does it install exactly what was asked (never a downgrade, never the version it runs, never
without usable details); then it restarts into Setup Assistant and loads `configuration_web_url`
anew with its new OS in `x-apple-aspen-deviceinfo` (a new first load, a new cookie jar: the web
view's store is not persistent), which `first_contact` answers as any first load. Whatever it
cannot do ends the web view, `failed`, with the reason in words. Apple's own web-view controller
cancels on such a 403 (spec §5, from a decompiled iOS build); the update-and-reload is the
contract issue 31 asks for, and what Setup Assistant does for the same answer to MachineInfo.

The first load's switches (`mandatory_software_update`, `visionos_software_update`) are not kept
across the web view; the reload's MachineInfo uses their defaults and the profile's language.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from ..clock import service as clock
from ..core.config import Settings
from ..core.errors import ControlError
from ..device_setup import service as setup_service
from ..device_setup import software_update as su
from ..device_setup.machine_info import Options
from ..device_setup.models import DeviceSetup
from ..device_setup.schemas import MdmContactOut
from ..devices.models import Device
from . import first_contact, records
from .models import DeviceWebView
from .schemas import EnrollmentOut, WebViewOut
from .web_page import out


async def update_and_reload(
    sessionmaker: async_sessionmaker[AsyncSession],
    *,
    device_id: int,
    refusal: su.Refusal,
    host_rule: str,
    settings: Settings,
    open_view: Callable[..., Awaitable[tuple[WebViewOut, EnrollmentOut | None]]],
    enroll: Any,
) -> tuple[WebViewOut, EnrollmentOut | None]:
    """Install what the 403 asks and load the web view again (`open_view`: web_view.open_view)."""
    async with sessionmaker() as db, db.begin():
        device = await db.get(Device, device_id)
        setup = await db.get(DeviceSetup, device_id)
        if device is None or setup is None:
            raise ControlError(409, "no_web_view", "the device was erased meanwhile")
        config = dict(setup.cloud_configuration)
        language = str(config.get("Language") or "en")
        request = await setup_service.first_mdm_request(
            db, device, config, info_options=Options(language=language)
        )
    said = f" (the MDM's message: {refusal.message!r})" if refusal.message else ""
    if not request.info.get("MDM_CAN_REQUEST_SOFTWARE_UPDATE"):
        reason = (
            f"the MDM requires a software update ({refusal.code}) in the web view, but this device's "
            "MachineInfo did not offer one (no MDM_CAN_REQUEST_SOFTWARE_UPDATE), so the 403 ends "
            "enrollment" + said
        )
        async with sessionmaker() as db, db.begin():
            return await _fail(db, device_id, reason, [])
    result = first_contact.FirstContact(MdmContactOut(method="GET", url=""), None)
    updated = await first_contact.install_update(sessionmaker, request, refusal.details, result)
    if updated is None:
        async with sessionmaker() as db, db.begin():
            return await _fail(db, device_id, result.failure or "update not possible", result.steps)
    async with sessionmaker() as db, db.begin():
        await records.record(db, device_id, result.steps)
    # Restarted into Setup Assistant: the first load again, with the new OS.
    first = await first_contact.run(sessionmaker, updated, settings=settings, record_final=False)
    contact = first.contact
    updates = result.updates + first.updates
    problem = first.failure or contact.error or contact.refusal
    if problem is not None:
        async with sessionmaker() as db, db.begin():
            view, none = await _fail(
                db, device_id, f"after the update, the web view's first load: {problem}", []
            )
        view.updates = updates
        return view, none
    view, enrollment = await open_view(
        sessionmaker,
        device_id=device_id,
        contact=contact,
        body=first.body,
        host_rule=host_rule,
        settings=settings,
        enroll=enroll,
    )
    view.updates = updates
    return view, enrollment


async def _fail(
    db: AsyncSession, device_id: int, reason: str, steps: list[dict[str, Any]]
) -> tuple[WebViewOut, EnrollmentOut | None]:
    await records.record(
        db,
        device_id,
        steps or [{"wall_at": clock.wall_now(), "step": "software_update", "ok": False, "detail": reason}],
    )
    view = await db.get(DeviceWebView, device_id)
    device = await db.get(Device, device_id)
    assert view is not None and device is not None
    view.state, view.detail = "failed", reason
    return out(view, device.serial_number), None
