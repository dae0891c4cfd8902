"""Reads over Blueprints that the console shows beside Apple's views (dep_emulator.abm.blueprints):
which Blueprints hold a device, user, group or configuration, and how many licences each app's
Blueprints use.

Licences used (*an emulator derivation*, abm-api-2.md §4.2): the distinct targets of every Blueprint
that holds the app, devices plus users (direct or through a group), the same count
`appLicenseDeficient` compares per Blueprint; an app is short when it uses more than it holds.
"""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import bindparam, select, text, tuple_
from sqlalchemy.ext.asyncio import AsyncSession

from ..orgs.models import Org
from .models import Blueprint, BlueprintMember

SHOWN = 200  # a member shows at most this many of the Blueprints holding it

LICENCES_USED_SQL = text(
    "WITH holding AS (SELECT m.blueprint_id, m.member_id AS adam_id FROM blueprint_member m "
    "JOIN blueprint b ON b.id = m.blueprint_id WHERE b.org_id = :org AND m.kind = 'apps' "
    "AND m.member_id IN :ids) "
    "SELECT adam_id, count(DISTINCT target) FROM ("
    "SELECT h.adam_id, 'd:' || t.member_id AS target FROM holding h JOIN blueprint_member t "
    "ON t.blueprint_id = h.blueprint_id AND t.kind = 'orgDevices' "
    "UNION ALL SELECT h.adam_id, 'u:' || t.member_id FROM holding h JOIN blueprint_member t "
    "ON t.blueprint_id = h.blueprint_id AND t.kind = 'users' "
    "UNION ALL SELECT h.adam_id, 'u:' || g.user_id FROM holding h JOIN blueprint_member t "
    "ON t.blueprint_id = h.blueprint_id AND t.kind = 'userGroups' "
    "JOIN user_group_member g ON g.group_id = t.member_id"
    ") AS targets GROUP BY adam_id"
).bindparams(bindparam("ids", expanding=True))


async def holding(
    db: AsyncSession, *, org: Org, members: Sequence[tuple[str, str]], limit: int = SHOWN
) -> list[Blueprint]:
    """The org's Blueprints whose relationships hold any of `members` ((kind, id) pairs), by name."""
    if not members:
        return []
    rows = await db.scalars(
        select(Blueprint)
        .where(
            Blueprint.org_id == org.id,
            Blueprint.id.in_(
                select(BlueprintMember.blueprint_id).where(
                    tuple_(BlueprintMember.kind, BlueprintMember.member_id).in_(list(members))
                )
            ),
        )
        .order_by(Blueprint.name, Blueprint.id)
        .limit(limit)
    )
    return list(rows)


async def licences_used(db: AsyncSession, *, org: Org, adam_ids: Sequence[str]) -> dict[str, int]:
    """adam id → distinct devices and users targeted by the Blueprints holding the app (0: none)."""
    if not adam_ids:
        return {}
    rows = await db.execute(LICENCES_USED_SQL, {"org": org.id, "ids": list(adam_ids)})
    used = {adam_id: 0 for adam_id in adam_ids}
    used.update({adam_id: count for adam_id, count in rows})
    return used
