"""`/docs` and `/redoc` that work offline: Swagger UI and ReDoc from the `fastapi-offline` wheel.

FastAPI's own pages load both from a CDN (blank on a machine without internet). These pages
load the same assets from this server, start them from a script file (no inline script), and
send a CSP that lets nothing else in.
"""

from __future__ import annotations

from importlib.resources import files
from pathlib import Path

from fastapi import APIRouter, FastAPI
from fastapi.responses import HTMLResponse
from fastapi.staticfiles import StaticFiles

ASSETS = "/docs/assets"
# ReDoc and Swagger UI set styles from script, and ReDoc's search runs in a blob: worker.
CSP = (
    "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data:; "
    "font-src 'self' data:; worker-src 'self' blob:; connect-src 'self'; frame-ancestors 'none'"
)
_PAGE = """<!doctype html>
<html lang="en"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{title}</title>{css}<link rel="icon" href="{assets}/favicon.png"></head>
<body><div id="{root}"></div>
<script src="{assets}/{bundle}"></script><script src="/console/static/{init}"></script></body></html>
"""


def _asset_dir() -> Path:
    return Path(str(files("fastapi_offline") / "static"))


def _page(title: str, root: str, bundle: str, init: str, css: str = "") -> HTMLResponse:
    body = _PAGE.format(title=title, css=css, assets=ASSETS, root=root, bundle=bundle, init=init)
    return HTMLResponse(body, headers={"Content-Security-Policy": CSP, "Cache-Control": "no-cache"})


def install_docs(app: FastAPI) -> None:
    """Serve /docs, /redoc and their assets (create the app with docs_url=None, redoc_url=None)."""
    router = APIRouter(include_in_schema=False)

    @router.get("/docs")
    async def swagger_ui() -> HTMLResponse:
        css = f'<link rel="stylesheet" href="{ASSETS}/swagger-ui.css">'
        return _page(f"{app.title} · API docs", "swagger-ui", "swagger-ui-bundle.js", "swagger-init.js", css)

    @router.get("/redoc")
    async def redoc() -> HTMLResponse:
        return _page(f"{app.title} · ReDoc", "redoc", "redoc.standalone.js", "redoc-init.js")

    app.include_router(router)
    app.mount(ASSETS, StaticFiles(directory=_asset_dir()), name="docs-assets")
