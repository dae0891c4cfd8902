"""Reads of the org's people that the console's pages need beside Apple's views
(dep_emulator.abm.people): the groups a user is in, users by id, unit names.

Apple documents no "groups of a user" call; the console shows it on a user's page, bounded by
`limit` (the `user_group_member.user_id` index answers it).
"""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from ..orgs.models import Org
from .models import OrgUnit, OrgUser, UserGroup, UserGroupMember


async def groups_of_user(db: AsyncSession, *, org: Org, user_id: int, limit: int) -> list[UserGroup]:
    """The groups `user_id` is a member of, by name, at most `limit`."""
    rows = await db.scalars(
        select(UserGroup)
        .join(UserGroupMember, UserGroupMember.group_id == UserGroup.id)
        .where(UserGroupMember.user_id == user_id, UserGroup.org_id == org.id)
        .order_by(UserGroup.name, UserGroup.id)
        .limit(limit)
    )
    return list(rows)


async def users_by_ids(db: AsyncSession, *, org: Org, ids: Sequence[int]) -> dict[int, OrgUser]:
    """The org's users among `ids` (unknown ids are left out)."""
    if not ids:
        return {}
    rows = await db.scalars(select(OrgUser).where(OrgUser.org_id == org.id, OrgUser.id.in_(list(ids))))
    return {user.id: user for user in rows}


async def unit_names(db: AsyncSession, *, org: Org) -> dict[str, str]:
    """Unit id → name, for showing a user's roles per unit (an org has few units)."""
    rows = await db.execute(select(OrgUnit.id, OrgUnit.name).where(OrgUnit.org_id == org.id))
    return {unit_id: name for unit_id, name in rows}
