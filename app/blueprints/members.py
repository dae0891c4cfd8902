"""Which ids in a Blueprint relationship body name something the org has (abm-api-2.md §3.1:
unknown ids are dropped, not rejected). One query per relationship, whatever the body's size."""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from ..content.models import OrgApp, OrgPackage
from ..devices.models import Device
from ..orgs.models import Org
from ..people.models import OrgUser, UserGroup
from .models import Configuration

CONTENT = ("apps", "configurations", "packages")
TARGETS = ("orgDevices", "users", "userGroups")
RELATIONSHIPS = (*CONTENT, *TARGETS)


async def known(db: AsyncSession, *, org: Org, kind: str, ids: Sequence[str]) -> list[str]:
    """The ids of `ids` (in order, once each) that exist in the org as `kind`."""
    wanted = list(dict.fromkeys(i for i in ids if 0 < len(i) <= 64 and "\x00" not in i))
    if not wanted:
        return []
    if kind == "apps":
        found = set(
            await db.scalars(
                select(OrgApp.adam_id).where(OrgApp.org_id == org.id, OrgApp.adam_id.in_(wanted))
            )
        )
    elif kind == "packages":
        found = set(
            await db.scalars(
                select(OrgPackage.id).where(OrgPackage.org_id == org.id, OrgPackage.id.in_(wanted))
            )
        )
    elif kind == "configurations":
        found = set(
            await db.scalars(
                select(Configuration.id).where(Configuration.org_id == org.id, Configuration.id.in_(wanted))
            )
        )
    elif kind == "orgDevices":
        found = set(
            await db.scalars(
                select(Device.serial_number).where(Device.org_id == org.id, Device.serial_number.in_(wanted))
            )
        )
    elif kind == "users":
        numbers = [int(i) for i in wanted if i.isascii() and i.isdigit() and len(i) < 19]
        found = {
            str(i)
            for i in await db.scalars(
                select(OrgUser.id).where(OrgUser.org_id == org.id, OrgUser.id.in_(numbers))
            )
        }
    else:
        found = set(
            await db.scalars(select(UserGroup.id).where(UserGroup.org_id == org.id, UserGroup.id.in_(wanted)))
        )
    return [i for i in wanted if i in found]
