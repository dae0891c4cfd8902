"""Request ids, access logs and metrics for every request, as pure ASGI middleware.

Answers by passing through, never raises on its own account, and keeps no per-request
state on the instance. The request id comes from `X-Request-ID` when the caller sent a sane
one, else a new one; it is returned in the response header and carried in every log line.
"""

from __future__ import annotations

import logging
import re
import time
import uuid
from typing import Any

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from ..core.errors import is_control_path
from ..core.logging import request_id_var
from .metrics import Metrics

logger = logging.getLogger("dep_emulator.access")
REQUEST_ID_HEADER = b"x-request-id"
_SANE_ID = re.compile(r"^[A-Za-z0-9._:-]{1,128}$")
OPS_PATHS = frozenset({"/healthz", "/readyz", "/metrics", "/docs", "/redoc", "/openapi.json"})


def surface_of(path: str) -> str:
    if is_control_path(path):
        return "control"
    if path in OPS_PATHS or path.startswith("/docs"):
        return "ops"
    if path.startswith(("/v1/", "/auth/")):
        return "abm"
    return "dep"


def endpoint_of(scope: Scope) -> str:
    """`METHOD /path/{param}`: the path with its parameters put back as names, for bounded labels.

    Unmatched paths collapse to "unmatched". (FastAPI's route object knows only the template
    relative to its router, so the full template is rebuilt from the path parameters.)
    """
    if scope.get("route") is None:
        state = scope.get("state", {})
        if state.get("fault_fired") or state.get("traffic_rule"):  # answered before routing
            return f"{scope['method']} {scope['path']}"
        return f"{scope['method']} unmatched"
    template = scope["path"]
    for name, value in scope.get("path_params", {}).items():
        template = template.replace(f"/{value}", f"/{{{name}}}", 1)
    return f"{scope['method']} {template}"


class ObservabilityMiddleware:
    def __init__(self, app: ASGIApp, metrics: Metrics) -> None:
        self.app = app
        self.metrics = metrics

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        incoming = dict(scope.get("headers", ())).get(REQUEST_ID_HEADER, b"").decode("latin-1")
        request_id = incoming if _SANE_ID.match(incoming) else uuid.uuid4().hex
        token = request_id_var.set(request_id)
        started = time.perf_counter()
        outcome: dict[str, Any] = {"status": 500, "error": b""}

        async def send_with_id(message: Message) -> None:
            if message["type"] == "http.response.start":
                outcome["status"] = message["status"]
                message["headers"] = [*message.get("headers", []), (REQUEST_ID_HEADER, request_id.encode())]
            elif (
                message["type"] == "http.response.body" and outcome["status"] >= 400 and not outcome["error"]
            ):
                outcome["error"] = message.get("body", b"")[:64]
            await send(message)

        try:
            await self.app(scope, receive, send_with_id)
        finally:
            self._record(scope, outcome, time.perf_counter() - started, request_id)
            request_id_var.reset(token)

    def _record(self, scope: Scope, outcome: dict[str, Any], elapsed: float, request_id: str) -> None:
        path = scope["path"]
        surface = surface_of(path)
        endpoint = endpoint_of(scope)
        state = scope.get("state", {})
        server = state.get("server_uuid", "")
        if state.get("fault_fired"):
            self.metrics.faults.labels(endpoint, str(state["fault_fired"]).split()[0]).inc()
        if state.get("feed_lag") is not None and server:
            self.metrics.child(self.metrics.feed_lag, server).set(state["feed_lag"])
        if state.get("traffic_rule"):
            self.metrics.throttles.labels(endpoint, str(state["traffic_rule"])).inc()
        status = outcome["status"]
        self.metrics.child(self.metrics.requests, surface, endpoint, str(status), server).inc()
        self.metrics.child(self.metrics.latency, surface, endpoint).observe(elapsed)
        code = ""
        if surface == "dep" and status >= 400 and outcome["error"]:
            code = outcome["error"].decode("utf-8", "replace").strip().strip('"')
            if re.fullmatch(r"[A-Za-z_=]{1,64}", code):
                self.metrics.errors.labels(endpoint, code).inc()
        if surface != "ops":
            logger.info(
                "%s %s %s",
                scope["method"],
                path,
                status,
                extra={
                    "request_id": request_id,
                    "surface": surface,
                    "endpoint": endpoint,
                    "status": status,
                    "server_uuid": server or None,
                    "error_code": code or None,
                    "duration_ms": round(elapsed * 1000, 2),
                },
            )
