"""Apple's device endpoints (spec §6.2–§6.5, §6.7): thin handlers over `read` and the inventory."""

from __future__ import annotations

import functools
from collections.abc import Awaitable, Callable
from typing import Any

from fastapi import APIRouter, Request, Response

from ..core import dep_body, driver
from ..core.config import Settings
from ..core.db import ENDPOINT_FAULT, DbSession
from ..core.dep import ProtocolVersion
from ..core.errors import DepError
from ..core.openapi import dep_errors, json_request
from ..inventory import service
from ..session.dependencies import CurrentServer, feed_caller, feed_json
from ..session.service import FeedCaller
from . import lost as feed_lost
from . import read as feed_read
from .read import FeedPage
from .schemas import (
    DeviceListRequest,
    DeviceListResponse,
    DeviceStatusResponse,
    FetchDeviceRequest,
    FetchDeviceResponse,
    ReplacementDetails,
    SyncDeviceRequest,
)

router = APIRouter(tags=["dep"])
REPLACEMENT_DETAILS_SINCE = 10  # spec §2


async def _feed_page(
    request: Request, read: Callable[..., Awaitable[FeedPage]], *, version: int, settings: Settings
) -> tuple[FeedPage, FeedCaller]:
    """A fetch or sync page (`read`) on the hot pool: the caller's session, then the body, then the
    page, without an ORM session (issue 3 speed targets, dep_emulator.core.driver)."""
    async with driver.request_connection(request) as conn:
        caller = await feed_caller(request, conn)
        body = await dep_body.json_object(request, required=False)
        page = await read(
            conn,
            caller=caller,
            version=version,
            settings=settings,
            cursor=body.get("cursor"),
            limit=dep_body.optional_int(body, "limit"),
        )
    return page, caller


@router.post(
    "/server/devices",
    response_model=None,
    responses={200: {"model": FetchDeviceResponse}, **dep_errors("INVALID_CURSOR", "EXHAUSTED_CURSOR")},
    openapi_extra=json_request(FetchDeviceRequest),
)
async def fetch_devices(request: Request, version: ProtocolVersion) -> Response:
    """Fetch Devices (spec §6.2): the server's devices, a snapshot paged by `cursor`.

    The page's JSON is built by PostgreSQL and sent as is (`_feed_page`).
    """
    settings = request.app.state.settings
    page, caller = await _feed_page(request, feed_read.fetch, version=version, settings=settings)
    return feed_json(page.render(), caller)


@router.post(
    "/devices/sync",
    response_model=None,
    responses={
        200: {"model": FetchDeviceResponse},
        **dep_errors("CURSOR_REQUIRED", "INVALID_CURSOR", "EXHAUSTED_CURSOR", "EXPIRED_CURSOR"),
    },
    openapi_extra=json_request(SyncDeviceRequest, required=True),
)
async def sync_devices(request: Request, version: ProtocolVersion) -> Response:
    """Sync Devices (spec §6.3): every change after `cursor`, oldest first (JSON built in PostgreSQL)."""
    settings = request.app.state.settings
    # The page the traffic middleware read ahead with the session, if it did (one round trip).
    prefetched = request.scope.get("state", {}).get(feed_read.PREFETCHED_SYNC_PAGE)
    read = functools.partial(feed_read.sync, prefetched=prefetched)
    page, caller = await _feed_page(request, read, version=version, settings=settings)
    if page.echo_fault_id is not None:  # for the request journal (dep_emulator.traffic)
        setattr(request.state, ENDPOINT_FAULT, (page.echo_fault_id, "echo_cursor"))
    if page.withheld is not None:  # the lost-events fault (observed F4), for the request journal
        setattr(request.state, ENDPOINT_FAULT, (None, "lost_events"))
        setattr(request.state, feed_lost.WITHHELD_STATE, page.withheld)
    if page.lag is not None:
        request.state.feed_lag = page.lag  # for the depemu_feed_lag_events metric
    return feed_json(page.render(), caller)


@router.post(
    "/devices",
    response_model=None,
    responses={200: {"model": DeviceListResponse}, **dep_errors("DEVICE_ID_REQUIRED")},
    openapi_extra=json_request(DeviceListRequest, required=True),
)
async def device_details(request: Request, version: ProtocolVersion) -> Response:
    """Get Device Details (spec §6.4), on the hot pool like the feed pages (issue 15)."""
    async with driver.request_connection(request) as conn:
        caller = await feed_caller(request, conn)
        body = await dep_body.json_object(request, required=False)
        serials = dep_body.serial_list(body)
        found = await feed_read.details(conn, server_id=caller.server_id, version=version, serials=serials)
    return feed_json(found, caller)


@router.post(
    "/devices/disown",
    response_model=None,
    responses={200: {"model": DeviceStatusResponse}, **dep_errors("DEVICE_ID_REQUIRED")},
    openapi_extra=json_request(DeviceListRequest, required=True),
)
async def disown_devices(request: Request, server: CurrentServer, db: DbSession) -> dict[str, Any]:
    """Disown Devices (spec §6.5): SUCCESS or NOT_ACCESSIBLE per serial; `deleted` on the feed."""
    body = await dep_body.json_object(request, required=False)
    return {"devices": await service.disown_devices(db, server=server, serials=dep_body.serial_list(body))}


@router.get(
    "/device/replacementDetails",
    response_model=None,
    responses={
        200: {"model": ReplacementDetails},
        # DEVICE_NOT_FOUND is 400 as observed, 404 when the org setting says so (spec §6.7)
        **dep_errors(
            "DEVICE_ID_REQUIRED",
            "DEVICE_NOT_FOUND",
            "BAD_REQUEST",
            body=False,
            not_found=("DEVICE_NOT_FOUND",),
        ),
    },
)
async def replacement_details(
    server: CurrentServer, version: ProtocolVersion, db: DbSession, device: str | None = None
) -> dict[str, Any]:
    """Get Replacement Details (spec §6.7; protocol 10 and later)."""
    if version < REPLACEMENT_DETAILS_SINCE:
        raise DepError("BAD_REQUEST")  # [UNCERTAIN] in the spec; its suggestion
    return await feed_read.replacement_details(db, server=server, serial=device)
