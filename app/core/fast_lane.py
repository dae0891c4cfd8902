"""The DEP calls syncers make most, dispatched without FastAPI's router (issue 15).

Per call, FastAPI's route matching over the nested routers, its dependency solving and its
exception middleware cost about a fifth of the server CPU of a `GET /account` (py-spy,
docs/performance.md). For the few endpoints listed in `dep_emulator.api.FAST_LANE` (exact method
and path), this pure ASGI middleware, innermost of ours, calls the very handler FastAPI would
(the same function, still registered there for the OpenAPI document and everything else) with
the same checks in the same order: the User-Agent rule, then the protocol version, then the
handler; an Apple error is rendered by the same function as FastAPI's handler. Anything else
(another method, a trailing slash, HEAD) goes through FastAPI as before.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping
from typing import Any

from fastapi import Request, Response
from starlette.types import ASGIApp, Receive, Scope, Send

from .dep import check_user_agent, protocol_version
from .errors import DepError, dep_error_response

Handler = Callable[[Request, int], Awaitable[Response]]


class FastLane:
    """Routes from `app.state.fast_lane`: (method, path) → (handler, its APIRoute, for metrics
    labels); a test that puts a stand-in route in front of FastAPI's takes its entry out."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        found = None
        if scope["type"] == "http":
            routes: Mapping[tuple[str, str], tuple[Handler, Any]] = scope["app"].state.fast_lane
            found = routes.get((scope["method"], scope["path"]))
        if found is None:
            await self.app(scope, receive, send)
            return
        handler, route = found
        scope["route"] = route
        request = Request(scope, receive)
        try:
            await check_user_agent(request)
            response = await handler(request, await protocol_version(request))
        except DepError as exc:
            response = dep_error_response(exc, request.app.state.settings.error_body_style)
        await response(scope, receive, send)
