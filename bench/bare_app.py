"""The framework's ceiling for bench/http.py: a bare Starlette endpoint returning /account's JSON.

Run by bench/http.py under the same uvicorn as the service (`--app-dir bench bare_app:app`);
the body is the service's own /account answer, handed over in BENCH_BARE_JSON.
"""

from __future__ import annotations

import json
import os

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

ACCOUNT = json.loads(os.environ.get("BENCH_BARE_JSON", "{}"))


async def account(request: Request) -> JSONResponse:
    return JSONResponse(ACCOUNT, media_type="application/json;charset=UTF8")


app = Starlette(routes=[Route("/account", account)])
