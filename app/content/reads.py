"""Reads of the content catalogues for the console: the licence counts Apple's `apps` resource does
not show (abm-api-2.md §2.5: licences are bought in Apps and Books; the count drives
`appLicenseDeficient`)."""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from ..orgs.models import Org
from .models import OrgApp


async def licence_counts(db: AsyncSession, *, org: Org, adam_ids: Sequence[str]) -> dict[str, int]:
    """adam id → licences the org holds, for the org's apps among `adam_ids`."""
    if not adam_ids:
        return {}
    rows = await db.execute(
        select(OrgApp.adam_id, OrgApp.license_count).where(
            OrgApp.org_id == org.id, OrgApp.adam_id.in_(list(adam_ids))
        )
    )
    return {adam_id: count for adam_id, count in rows}
