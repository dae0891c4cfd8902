"""The seed file's `people` section of an org: units, users, groups, generated people.

Everything goes through the people service. Loading the same file twice changes nothing: units
are matched by name, users by Managed Apple Account (given, or first.last@<the org's domain>),
groups by name, and `generate` tops the org up to (declared users + generate.users) users only
when it has fewer.
"""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncSession

from ..orgs.models import Org
from ..people import service as people
from ..people.schemas import GenerateIn, PeopleSeed
from .parse import Locator, PathKey


async def ensure_people(
    db: AsyncSession, org: Org, seed: PeopleSeed, *, path: PathKey, locator: Locator
) -> int:
    """Units, users and groups created by this section (generated users included)."""
    created = 0
    units = {u.name for u in await people.list_units(db, org=org)}
    for i, unit in enumerate(seed.units):
        if unit.name not in units:
            with locator.at((*path, "units", i)):
                await people.create_unit(db, org=org, data=unit)
            units.add(unit.name)
            created += 1
    for i, user in enumerate(seed.users):
        if await people.find_user(db, org=org, ref=people.account_for(org, user)) is None:
            with locator.at((*path, "users", i)):
                await people.create_user(db, org=org, data=user)
            created += 1
    for i, group in enumerate(seed.groups):
        if await people.find_group(db, org=org, name=group.name) is None:
            with locator.at((*path, "groups", i)):
                await people.create_group(db, org=org, data=group)
            created += 1
    if seed.generate is not None:
        wanted = len(seed.users) + seed.generate.users
        missing = wanted - await people.user_count(db, org=org)
        if missing > 0:
            data = GenerateIn.model_validate(seed.generate.model_dump() | {"users": missing})
            with locator.at((*path, "generate")):
                _, made = await people.generate(db, org=org, data=data)
            created += made.users + made.groups
    return created
