"""The console's routes under /console, behind `require_console`, and its error pages.

Every page module's router uses `render.ConsoleRoute`, which renders errors as pages.
"""

from __future__ import annotations

from fastapi import APIRouter, Depends
from fastapi.staticfiles import StaticFiles

from . import (
    pages_auth,
    pages_blueprints,
    pages_content,
    pages_device_mdm,
    pages_device_os,
    pages_devices,
    pages_ops,
    pages_orgs,
    pages_people,
    pages_released,
    pages_servers,
    pages_web_view,
)
from .render import HERE
from .security import require_console


def _pages(*routers: APIRouter, guarded: bool) -> APIRouter:
    router = APIRouter(
        dependencies=[Depends(require_console)] if guarded else [],
        include_in_schema=False,
    )
    for sub in routers:
        router.include_router(sub, prefix="/console")
    return router


console_router = APIRouter(include_in_schema=False)
console_router.include_router(_pages(pages_auth.router, guarded=False))
console_router.include_router(
    _pages(
        pages_orgs.router,
        pages_servers.router,
        pages_devices.router,
        pages_device_os.router,
        pages_device_mdm.router,
        pages_released.router,
        pages_web_view.router,
        pages_ops.router,
        pages_people.router,
        pages_content.router,
        pages_blueprints.router,
        guarded=True,
    )
)
static_files = StaticFiles(directory=HERE / "static")
