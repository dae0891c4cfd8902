"""Control API: Setup Assistant's web view on configuration_web_url, played by a test."""

from __future__ import annotations

from fastapi import APIRouter

from ..core.db import DbSession
from ..core.dep import SettingsDep
from ..core.errors import ControlError
from ..core.openapi import control_errors
from . import web_view
from .router import Sessions
from .schemas import WebFollowIn, WebSubmitIn, WebViewOut
from .service import web_enroller

router = APIRouter(tags=["device setup"])


@router.get(
    "/devices/{serial}/web-view",
    response_model=WebViewOut,
    response_model_exclude_none=True,
    responses=control_errors(409),
)
async def show(serial: str, db: DbSession) -> WebViewOut:
    """The page the device's web view shows: its text, forms and links (409 no_web_view)."""
    return await web_view.get(db, serial=serial)


@router.post(
    "/devices/{serial}/web-view/submit",
    response_model=WebViewOut,
    response_model_exclude_none=True,
    responses=control_errors(409, 422),
)
async def submit(serial: str, body: WebSubmitIn, sessions: Sessions, settings: SettingsDep) -> WebViewOut:
    """The user fills a form of the page and submits it; the device follows redirects, and enrolls
    when a page returns the enrollment profile (`enrollment`)."""
    page, enrollment = await web_view.submit(
        sessions,
        serial=serial,
        form=body.form,
        fields=body.fields,
        settings=settings,
        enroll=web_enroller(sessions, settings),
    )
    page.enrollment = enrollment
    return page


@router.post(
    "/devices/{serial}/web-view/follow",
    response_model=WebViewOut,
    response_model_exclude_none=True,
    responses=control_errors(409, 422),
)
async def follow(serial: str, body: WebFollowIn, sessions: Sessions, settings: SettingsDep) -> WebViewOut:
    """The user taps a link of the page (`link`), or the page navigates to `url`."""
    if (body.link is None) == (body.url is None):
        raise ControlError(422, "validation_error", 'give exactly one of "link" or "url"')
    page, enrollment = await web_view.follow(
        sessions,
        serial=serial,
        link=body.link,
        url=body.url,
        settings=settings,
        enroll=web_enroller(sessions, settings),
    )
    page.enrollment = enrollment
    return page
