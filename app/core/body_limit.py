"""Refuse request bodies over a size limit with 413, before anything reads them.

Pure ASGI: checks `Content-Length` up front and counts streamed bytes for chunked bodies,
answering by sending (never raising). The app below sees the body only once it is known to
fit, so nothing is parsed or written for an oversized request.

The body is read here once and kept in the scope's state: the middlewares below that need
it (traffic: its summary; resilience: re-running a request) take it with `read_body`
instead of each buffering and replaying it again.
"""

from __future__ import annotations

import re

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from .errors import ControlError, middleware_refusal

_BODY = "request_body"  # key in scope["state"] (request.state)
# A CSV device upload is read by its route as it arrives (a million rows in flat memory, issue
# 14): never buffered here, nor by the middlewares below; bounded by MAX_UPLOAD_BYTES instead.
# The console's forms that take such a CSV are streamed too: python-multipart spools their
# files to disk as they arrive.
CSV_CONTENT_TYPES = ("text/csv", "application/csv", "text/plain")
MAX_UPLOAD_BYTES = 4 << 30
_UPLOAD_PATH = re.compile(r"^/emulator/v1/orgs/[^/]+/devices$")
_CONSOLE_UPLOAD_PATH = re.compile(r"^/console/orgs/[^/]+/(devices|manage-devices)$")


def content_type(scope: Scope) -> str:
    raw: bytes = dict(scope.get("headers", ())).get(b"content-type", b"")
    return raw.decode("latin-1").split(";")[0].strip().lower()


def is_streamed_upload(scope: Scope) -> bool:
    """A CSV upload of devices, which its route streams (see CSV_CONTENT_TYPES), or the console's
    form that carries one."""
    if scope.get("method") != "POST":
        return False
    path, kind = scope.get("path", ""), content_type(scope)
    if _CONSOLE_UPLOAD_PATH.match(path):
        return kind == "multipart/form-data"
    return bool(_UPLOAD_PATH.match(path)) and kind in CSV_CONTENT_TYPES


def _bounded(receive: Receive, max_bytes: int) -> Receive:
    """`receive` that refuses (413, through the control API's error handler) past `max_bytes`."""
    size = 0

    async def bounded() -> Message:
        nonlocal size
        message = await receive()
        size += len(message.get("body", b""))
        if size > max_bytes:
            raise ControlError(413, "body_too_large", f"request body larger than {max_bytes} bytes")
        return message

    return bounded


def replay_once(body: bytes, receive: Receive) -> Receive:
    """A `receive` that delivers `body` as one message, then delegates (disconnects)."""
    delivered = False

    async def replay() -> Message:
        nonlocal delivered
        if not delivered:
            delivered = True
            return {"type": "http.request", "body": body, "more_body": False}
        return await receive()

    return replay


class _TooLarge(Exception):
    pass


async def _collect(scope: Scope, receive: Receive, max_bytes: int | None = None) -> bytes | None:
    """Read the whole body into the scope's state; None when the client disconnected first.

    Raises _TooLarge as soon as more than `max_bytes` arrived.
    """
    chunks: list[bytes] = []
    size = 0
    while True:
        message = await receive()
        if message["type"] == "http.disconnect":
            return None
        chunk = message.get("body", b"")
        size += len(chunk)
        if max_bytes is not None and size > max_bytes:
            raise _TooLarge
        chunks.append(chunk)
        if not message.get("more_body", False):
            break
    body = b"".join(chunks)
    scope.setdefault("state", {})[_BODY] = body
    return body


async def read_body(scope: Scope, receive: Receive) -> tuple[bytes | None, Receive]:
    """The request body and the `receive` to hand on; None when the client disconnected.

    Below BodySizeLimitMiddleware the body is already in the scope and `receive` is returned
    as it is; elsewhere (a middleware on its own, as in unit tests) it is buffered here.
    """
    kept = scope.get("state", {}).get(_BODY)
    if kept is not None:
        return kept, receive
    if is_streamed_upload(scope):  # its route reads it; nobody above needs it
        return b"", receive
    body = await _collect(scope, receive)
    return body, receive if body is None else replay_once(body, receive)


class BodySizeLimitMiddleware:
    def __init__(self, app: ASGIApp, max_bytes: int) -> None:
        self.app = app
        self.max_bytes = max_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        declared = dict(scope.get("headers", ())).get(b"content-length")
        streamed = is_streamed_upload(scope)
        limit = MAX_UPLOAD_BYTES if streamed else self.max_bytes
        if declared is not None and declared.isdigit() and int(declared) > limit:
            await self._refuse(scope, send, limit)
            return
        if streamed:
            await self.app(scope, _bounded(receive, limit), send)
            return
        # Buffer the body (bounded by max_bytes) so an oversized chunked upload is refused whole.
        try:
            body = await _collect(scope, receive, self.max_bytes)
        except _TooLarge:
            await self._refuse(scope, send, self.max_bytes)
            return
        if body is not None:
            await self.app(scope, replay_once(body, receive), send)

    async def _refuse(self, scope: Scope, send: Send, limit: int) -> None:
        message = f"request body larger than {limit} bytes"
        body, content_type = middleware_refusal(scope["path"], 413, message)
        await send(
            {
                "type": "http.response.start",
                "status": 413,
                "headers": [(b"content-type", content_type), (b"content-length", str(len(body)).encode())],
            }
        )
        await send({"type": "http.response.body", "body": body})
