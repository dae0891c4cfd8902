"""A browser's `GET /` goes to the console; every other request to `/` keeps Apple's behaviour.

Pure ASGI, outside the routes: `/` has no route (Apple's root answers an empty 404), so adding one
would change what other methods and clients get.
"""

from __future__ import annotations

from starlette.types import ASGIApp, Receive, Scope, Send


def wants_html(scope: Scope) -> bool:
    accept = dict(scope.get("headers", ())).get(b"accept", b"").decode("latin-1").lower()
    return "text/html" in accept


class RootRedirectMiddleware:
    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if (
            scope["type"] == "http"
            and scope["path"] == "/"
            and scope["method"] == "GET"
            and wants_html(scope)
        ):
            await send(
                {
                    "type": "http.response.start",
                    "status": 303,
                    "headers": [(b"location", b"/console"), (b"content-length", b"0")],
                }
            )
            await send({"type": "http.response.body", "body": b""})
            return
        await self.app(scope, receive, send)
