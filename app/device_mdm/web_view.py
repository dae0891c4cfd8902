"""Setup Assistant's web view on `configuration_web_url` (device-2026.md §5, issue 31 §4).

The device's first load (GET with `x-apple-aspen-deviceinfo`, made by `first_contact`, which
also handles a 403 asking for an update) opens the view. From then on a person (the console's
device page) or a test (the control API) plays the user: submit this form with these fields,
follow this link. The device browses in one cookie jar (kept on `device_web_view`), follows
redirects itself, and stops at the first of:
- `application/x-apple-aspen-config` from an allowed host: the enrollment profile; enrollment
  continues as after `ConfigurationURL` (`service.complete_enrollment`). Allowed: the same host
  as `configuration_web_url` (what Setup Assistant's code compares; default) or the same last two
  DNS labels (Apple's article; `web_view_host_rule: last_two_labels`);
- a 403 with a JSON predefined error: `com.apple.softwareupdate.required` makes the device update
  and start over (`web_update`: a new first load, a new cookie jar); any other code cancels;
- a 404: Setup Assistant cancels;
- `MAX_STEPS` loads: the emulator gives up (a loop between pages, say).
Any other answer is a page to show. Every load is an exchange (password fields masked).
"""

from __future__ import annotations

import ssl
from collections.abc import Awaitable, Callable
from typing import Any
from urllib.parse import urljoin, urlsplit

import httpx
from sqlalchemy import delete, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from ..clock import service as clock
from ..core.config import Settings
from ..core.errors import ControlError, not_found
from ..device_setup import software_update as su
from ..device_setup.mdm_contact import ssl_context
from ..device_setup.models import DeviceSetup
from ..device_setup.schemas import MdmContactOut
from ..devices import locking
from ..devices.models import Device
from . import records, transport, web_update
from .models import DeviceWebView
from .schemas import EnrollmentOut, WebViewOut
from .web_page import cookie_jar, host_allowed, out, saved_cookies

ASPEN = "application/x-apple-aspen-config"
MAX_STEPS = 30
MAX_RESPONSE = 2 * 1024 * 1024  # of a page the web view shows
# Continue into enrollment with the profile the page returned: service.complete_enrollment.
Enroll = Callable[[int, MdmContactOut, bytes], Awaitable[EnrollmentOut]]


async def get(db: AsyncSession, *, serial: str) -> WebViewOut:
    device = (
        await db.scalar(select(Device).where(Device.serial_number == serial))
        if locking.usable_serial(serial)
        else None
    )
    if device is None:
        raise not_found("device", serial)
    view = await db.get(DeviceWebView, device.id)
    if view is None:
        raise ControlError(
            409,
            "no_web_view",
            f"device {serial!r} shows no web view: activate it with a configuration_web_url",
        )
    return out(view, serial)


async def erase(db: AsyncSession, *, device_id: int) -> None:
    await db.execute(delete(DeviceWebView).where(DeviceWebView.device_id == device_id))


async def open_view(
    sessionmaker: async_sessionmaker[AsyncSession],
    *,
    device_id: int,
    contact: MdmContactOut,
    body: bytes | None,
    host_rule: str,
    settings: Settings,
    enroll: Enroll,
) -> tuple[WebViewOut, EnrollmentOut | None]:
    """Open the web view on the first load's answer (a new cookie jar), following its redirect."""
    jar = httpx.Cookies()
    response = httpx.Response(
        contact.status or 0,
        headers=[("set-cookie", c) for c in contact.set_cookies]
        + [("content-type", contact.content_type or "")],
        request=httpx.Request("GET", contact.url),
    )
    jar.extract_cookies(response)
    async with sessionmaker() as db, db.begin():
        device = await db.get(Device, device_id)
        assert device is not None
        await erase(db, device_id=device_id)
        view = DeviceWebView(
            device_id=device_id,
            start_url=contact.url,
            host_rule=host_rule,
            state="open",
            url=contact.url,
            status=contact.status,
            content_type=contact.content_type,
            page="",
            cookies=saved_cookies(jar),
            steps=1,
            detail=None,
        )
        db.add(view)
        serial = device.serial_number
        first = _record(
            "web_view.load", contact.url, contact.status, True, "the web view opened", {}, body or b""
        )
        await records.record(db, device_id, [first])
    if contact.status in (301, 302, 303, 307, 308) and contact.location:
        return await _browse(
            sessionmaker,
            serial,
            "GET",
            urljoin(contact.url, contact.location),
            None,
            "redirect",
            settings,
            enroll,
        )
    return await _land(
        sessionmaker,
        serial,
        contact.url,
        contact.status or 0,
        contact.content_type,
        body or b"",
        jar,
        enroll,
        settings=settings,
    )


async def submit(
    sessionmaker: async_sessionmaker[AsyncSession],
    *,
    serial: str,
    form: int,
    fields: dict[str, str],
    settings: Settings,
    enroll: Enroll,
) -> tuple[WebViewOut, EnrollmentOut | None]:
    """The user fills form `form` of the page (hidden fields as the page set them) and submits it."""
    async with sessionmaker() as db:
        page = await get(db, serial=serial)
    _open(page)
    if not 0 <= form < len(page.forms):
        raise ControlError(
            422, "no_such_form", f"the page has {len(page.forms)} form(s); there is no form {form}"
        )
    chosen = page.forms[form]
    data = {f["name"]: f["value"] for f in chosen["fields"]}
    unknown = sorted(set(fields) - set(data))
    if unknown:
        raise ControlError(422, "no_such_field", f"form {form} has no field {', '.join(unknown)}")
    data.update(fields)
    secret = {f["name"] for f in chosen["fields"] if f["type"] == "password"}
    method, action = chosen["method"], chosen["action"]
    if method == "GET":
        return await _browse(sessionmaker, serial, "GET", action, data, "submit", settings, enroll, secret)
    return await _browse(sessionmaker, serial, "POST", action, data, "submit", settings, enroll, secret)


async def follow(
    sessionmaker: async_sessionmaker[AsyncSession],
    *,
    serial: str,
    link: int | None,
    url: str | None,
    settings: Settings,
    enroll: Enroll,
) -> tuple[WebViewOut, EnrollmentOut | None]:
    """The user taps link `link` of the page, or the page navigates to `url`."""
    async with sessionmaker() as db:
        page = await get(db, serial=serial)
    _open(page)
    if link is not None:
        if not 0 <= link < len(page.links):
            raise ControlError(
                422, "no_such_link", f"the page has {len(page.links)} link(s); there is no link {link}"
            )
        target = page.links[link]["href"]
    else:
        assert url is not None
        target = urljoin(page.url, url)
    if urlsplit(target).scheme not in ("http", "https"):
        raise ControlError(422, "unsupported_link", f"the web view does not open {target!r}")
    return await _browse(sessionmaker, serial, "GET", target, None, "follow", settings, enroll)


def _open(page: WebViewOut) -> None:
    if page.state != "open":
        raise ControlError(409, "web_view_closed", f"the web view is {page.state}: {page.detail}")


async def _context(
    sessionmaker: async_sessionmaker[AsyncSession], serial: str
) -> tuple[DeviceWebView, ssl.SSLContext]:
    async with sessionmaker() as db:
        device = await db.scalar(select(Device).where(Device.serial_number == serial))
        assert device is not None
        view = await db.get(DeviceWebView, device.id)
        setup = await db.get(DeviceSetup, device.id)
        if view is None or setup is None:
            raise ControlError(409, "no_web_view", f"device {serial!r} was erased meanwhile")
        db.expunge(view)
        anchors = list(setup.cloud_configuration.get("AnchorCertificates") or [])
    return view, ssl_context(anchors)


async def _browse(
    sessionmaker: async_sessionmaker[AsyncSession],
    serial: str,
    method: str,
    url: str,
    data: dict[str, str] | None,
    kind: str,
    settings: Settings,
    enroll: Enroll,
    secret: set[str] | None = None,
) -> tuple[WebViewOut, EnrollmentOut | None]:
    view, verify = await _context(sessionmaker, serial)
    jar = cookie_jar(view.cookies)
    steps = view.steps
    shown = {k: ("•••" if k in (secret or set()) else v) for k, v in (data or {}).items()}
    loads: list[dict[str, Any]] = []
    async with httpx.AsyncClient(
        cookies=jar, verify=verify, follow_redirects=False, timeout=settings.mdm_contact_timeout_seconds
    ) as client:
        while True:
            steps += 1
            if steps > MAX_STEPS:
                return await _close(
                    sessionmaker,
                    serial,
                    loads,
                    steps,
                    "failed",
                    f"the web view gave up after {MAX_STEPS} loads",
                )
            try:
                if method == "GET":
                    response = await client.get(url, params=data)
                else:
                    response = await client.post(url, data=data)
            except (httpx.HTTPError, ssl.SSLError, OSError) as exc:
                loads.append(
                    _record(f"web_view.{kind}", url, None, False, f"{type(exc).__name__}: {exc}", shown, b"")
                )
                return await _close(
                    sessionmaker, serial, loads, steps, "failed", f"the page could not be loaded: {exc}"
                )
            body = response.content[:MAX_RESPONSE]
            location = response.headers.get("location")
            if response.status_code in (301, 302, 303, 307, 308) and location:
                loads.append(
                    _record(
                        f"web_view.{kind}",
                        url,
                        response.status_code,
                        True,
                        f"redirected to {location}",
                        shown,
                        b"",
                    )
                )
                method, url, data, kind, shown = "GET", urljoin(url, location), None, "redirect", {}
                continue
            loads.append(_record(f"web_view.{kind}", url, response.status_code, True, None, shown, body))
            break
    async with sessionmaker() as db, db.begin():
        device = await db.scalar(select(Device).where(Device.serial_number == serial))
        assert device is not None
        await records.record(db, device.id, loads)
        row = await db.get(DeviceWebView, device.id)
        if row is not None:
            row.steps = steps
    return await _land(
        sessionmaker,
        serial,
        url,
        response.status_code,
        response.headers.get("content-type"),
        body,
        client.cookies,
        enroll,
        settings=settings,
    )


def _record(
    step: str, url: str, status: int | None, ok: bool, detail: str | None, sent: dict[str, str], body: bytes
) -> dict[str, Any]:
    return {
        "wall_at": clock.wall_now(),
        "step": step,
        "url": url,
        "status": status,
        "ok": ok,
        "detail": detail,
        "sent": "&".join(f"{k}={v}" for k, v in sent.items()) or None,
        "answered": transport.printable(body, 4000),
    }


async def _land(
    sessionmaker: async_sessionmaker[AsyncSession],
    serial: str,
    url: str,
    status: int,
    content_type: str | None,
    body: bytes,
    jar: httpx.Cookies,
    enroll: Enroll,
    *,
    settings: Settings,
) -> tuple[WebViewOut, EnrollmentOut | None]:
    """What the device does with the page it reached."""
    kind = (content_type or "").split(";")[0].strip().lower()
    update: su.Refusal | None = None
    async with sessionmaker() as db, db.begin():
        device = await db.scalar(select(Device).where(Device.serial_number == serial))
        assert device is not None
        view = await db.get(DeviceWebView, device.id)
        assert view is not None
        view.url, view.status, view.content_type, view.cookies = url, status, content_type, saved_cookies(jar)
        device_id, start, rule = device.id, view.start_url, view.host_rule
        if kind == ASPEN:
            if not host_allowed(url, start, rule):
                view.state = "failed"
                view.detail = (
                    f"the profile came from {urlsplit(url).hostname}, not from {urlsplit(start).hostname} "
                    f"({rule.replace('_', ' ')} rule): the web view refuses it"
                )
            else:
                view.state, view.detail, view.page = (
                    "enrolled",
                    "the page returned the enrollment profile",
                    "",
                )
        elif status == 403 and "json" in kind:
            try:
                refusal = su.refusal(body, content_type)
                view.detail = f"the MDM answered 403 {refusal.code}" + (
                    f": {refusal.message}" if refusal.message else ""
                )
                if refusal.code == su.SOFTWARE_UPDATE_REQUIRED:
                    update = refusal  # web_update, once this transaction is committed
            except su.UpdateImpossible as exc:
                view.detail = str(exc)
            view.state = "cancelled"
        elif status == 404:
            view.state, view.detail = "cancelled", "the page answered 404: Setup Assistant cancels enrollment"
        else:
            view.page = body.decode("utf-8", "replace")
        result = out(view, serial)
    if update is not None:
        return await web_update.update_and_reload(
            sessionmaker,
            device_id=device_id,
            refusal=update,
            host_rule=rule,
            settings=settings,
            open_view=open_view,
            enroll=enroll,
        )
    enrollment = None
    if result.state == "enrolled":
        contact = MdmContactOut(method="GET", url=url, status=status, content_type=content_type)
        enrollment = await enroll(device_id, contact, body)
        if enrollment.outcome != "enrolled":
            async with sessionmaker() as db, db.begin():
                row = await db.get(DeviceWebView, device_id)
                if row is not None:
                    row.state, row.detail = "failed", f"enrollment failed: {enrollment.failure}"
                    result = out(row, serial)
    return result, enrollment


async def _close(
    sessionmaker: async_sessionmaker[AsyncSession],
    serial: str,
    loads: list[dict[str, Any]],
    steps: int,
    state: str,
    detail: str,
) -> tuple[WebViewOut, EnrollmentOut | None]:
    async with sessionmaker() as db, db.begin():
        device = await db.scalar(select(Device).where(Device.serial_number == serial))
        assert device is not None
        await records.record(db, device.id, loads)
        view = await db.get(DeviceWebView, device.id)
        assert view is not None
        view.state, view.detail, view.steps = state, detail, steps
        return out(view, serial), None
