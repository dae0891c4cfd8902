"""`GET /account`: who this MDM server is, and (protocol ≥ 3) which endpoints it may call."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from ..core.config import Settings
from .schemas import AccountDetail, Limit, Url

PAGED_ENDPOINTS = frozenset({"/server/devices", "/devices/sync"})
DEP_TAG = "dep"


def served_urls(openapi: dict[str, Any], settings: Settings) -> list[Url]:
    """Every Apple path this emulator serves, read from the app's own OpenAPI so it cannot drift."""
    methods: dict[str, set[str]] = {}
    for path, operations in openapi.get("paths", {}).items():
        for method, operation in operations.items():
            if DEP_TAG in operation.get("tags", ()):
                methods.setdefault(path, set()).add(method.upper())
    limit = Limit(default=settings.fetch_default_limit, maximum=settings.fetch_max_limit)
    return [
        Url(uri=path, http_method=sorted(verbs), limit=limit if path in PAGED_ENDPOINTS else None)
        for path, verbs in sorted(methods.items())
    ]


def account_detail(caller: Mapping[str, Any], *, version: int, urls: list[Url]) -> AccountDetail:
    """From the caller's session row (dep_emulator.session.service.FEED_SESSION_NAMES): no statement."""
    detail = AccountDetail(
        server_name=caller["server_name"],
        server_uuid=caller["server_uuid"],
        admin_id=caller["admin_id"],
        facilitator_id=caller["admin_id"],
        org_name=caller["org_name"],
        org_email=caller["org_email"],
        org_phone=caller["org_phone"],
        org_address=caller["org_address"],
    )
    if version >= 3:
        detail.org_id = str(caller["org_id"])
        detail.org_id_hash = caller["org_id_hash"]
        detail.org_type = caller["org_type"]
        detail.org_version = caller["org_version"]
        detail.urls = urls
    return detail
