"""`GET /account`: who this MDM server is, and (protocol ≥ 3) which endpoints it may call."""

from __future__ import annotations

from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from ..core.config import Settings
from ..orgs.models import MdmServer, Org
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


async def account_detail(
    db: AsyncSession, *, server: MdmServer, version: int, settings: Settings, openapi: dict[str, Any]
) -> AccountDetail:
    org = await db.get(Org, server.org_id)
    assert org is not None  # the foreign key guarantees it
    detail = AccountDetail(
        server_name=server.server_name,
        server_uuid=server.server_uuid,
        admin_id=server.admin_id,
        facilitator_id=server.admin_id,
        org_name=org.name,
        org_email=org.email,
        org_phone=org.phone,
        org_address=org.address,
    )
    if version >= 3:
        detail.org_id = str(org.id)
        detail.org_id_hash = org.org_id_hash
        detail.org_type = org.org_type
        detail.org_version = org.org_version
        detail.urls = served_urls(openapi, settings)
    return detail
