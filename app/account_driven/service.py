"""Account-driven enrollment service discovery, per MDM server (spec §6.13).

Every method answers 400 ORG_NOT_SUPPORTED first when the org's switch
`account_driven_enrollment_supported` is off. POST: missing/empty URL →
MDM_SERVICE_DISCOVERY_URL_REQUIRED; not a string, not https, no host, whitespace, or over 2000
characters → MDM_SERVICE_DISCOVERY_URL_NOT_VALID. Success bodies (undocumented) are JSON,
because Fleet decodes them: POST and GET the stored object, DELETE `{}`.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import urlsplit

from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

from ..clock import service as clock
from ..clock.service import isoformat
from ..core.errors import DepError
from ..orgs.models import MdmServer, Org
from ..orgs.settings import org_setting
from .models import AccountDrivenEnrollmentProfile

URL_MAX = 2000


async def _check_org(db: AsyncSession, server: MdmServer) -> None:
    org = await db.get(Org, server.org_id)
    assert org is not None
    if not org_setting(org, "account_driven_enrollment_supported"):
        raise DepError("ORG_NOT_SUPPORTED")


def _valid(url: str) -> bool:
    if len(url) > URL_MAX or any(ch.isspace() or ord(ch) < 0x20 for ch in url):
        return False
    try:
        parts = urlsplit(url)
        parts.port  # noqa: B018 - raises ValueError on a bad port
    except ValueError:
        return False
    return parts.scheme.lower() == "https" and bool(parts.hostname)


def _out(row: AccountDrivenEnrollmentProfile) -> dict[str, Any]:
    return {
        "mdm_service_discovery_url": row.mdm_service_discovery_url,
        "last_updated_timestamp": isoformat(row.updated_at),
    }


async def set_profile(db: AsyncSession, *, server: MdmServer, raw: dict[str, Any]) -> dict[str, Any]:
    await _check_org(db, server)
    url = raw.get("mdm_service_discovery_url")
    if url is None or url == "":
        raise DepError("MDM_SERVICE_DISCOVERY_URL_REQUIRED")
    if not isinstance(url, str) or not _valid(url):
        raise DepError("MDM_SERVICE_DISCOVERY_URL_NOT_VALID")
    now = await clock.now(db)
    statement = insert(AccountDrivenEnrollmentProfile).values(
        server_id=server.id, mdm_service_discovery_url=url, updated_at=now
    )
    await db.execute(
        statement.on_conflict_do_update(
            index_elements=[AccountDrivenEnrollmentProfile.server_id],
            set_={"mdm_service_discovery_url": url, "updated_at": now},
        )
    )
    return {"mdm_service_discovery_url": url, "last_updated_timestamp": isoformat(now)}


async def get_profile(db: AsyncSession, *, server: MdmServer) -> dict[str, Any]:
    await _check_org(db, server)
    row = await db.get(AccountDrivenEnrollmentProfile, server.id, populate_existing=True)
    if row is None:
        raise DepError("NOT_FOUND", status_code=404)
    return _out(row)


async def delete_profile(db: AsyncSession, *, server: MdmServer) -> dict[str, Any]:
    await _check_org(db, server)
    row = await db.get(AccountDrivenEnrollmentProfile, server.id)
    if row is not None:
        await db.delete(row)
        await db.flush()
    return {}
