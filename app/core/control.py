"""Who may call the control API (`/emulator/v1`).

With `DEPEMU_ADMIN_TOKEN` set, every call needs `Authorization: Bearer <token>` (compared in
constant time). Without it, only loopback clients are let in, so a developer's instance is
not an open door on a shared network.
"""

from __future__ import annotations

import ipaddress

from fastapi import Request

from .config import Settings
from .errors import ControlError
from .security import constant_time_equals


def _is_loopback(host: str | None) -> bool:
    if host is None:
        return False
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return host == "localhost"


async def require_admin(request: Request) -> None:
    settings: Settings = request.app.state.settings
    if settings.admin_token is None:
        client = request.client.host if request.client else None
        if not _is_loopback(client):
            raise ControlError(
                403,
                "forbidden",
                "the control API only answers loopback clients unless DEPEMU_ADMIN_TOKEN is set",
            )
        return
    scheme, _, presented = request.headers.get("authorization", "").partition(" ")
    if scheme.lower() != "bearer" or not constant_time_equals(
        presented.strip(), settings.admin_token.get_secret_value()
    ):
        raise ControlError(401, "unauthorized", "missing or wrong bearer token for the control API")
