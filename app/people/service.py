"""The org's people: the only writer of units, users, roles, groups and members.

The control API, the seed file and the console call these functions; the Business API reads the
tables (dep_emulator.abm.people) and never writes them, as Apple's API cannot (abm-api-2.md §4.3).
References accept an id or a name (units) or a Managed Apple Account (users), so seed files
can name what they mean.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable, Sequence

from sqlalchemy import delete, func, select
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.ext.asyncio import AsyncSession

from ..clock import service as clock
from ..core.errors import ControlError
from ..orgs.models import Org
from . import generator, names
from .models import OrgUnit, OrgUser, UserGroup, UserGroupMember, UserRole
from .schemas import GenerateIn, GroupIn, UnitIn, UserIn, UserPatch


def new_id() -> str:
    """A group's or a unit's id: an upper-case UUID (format *unverified*, abm-api-2.md §2.1)."""
    return str(uuid.uuid4()).upper()


def domain_of(org: Org) -> str:
    """The org's Managed Apple Account domain: its contact e-mail's, else one made from its name."""
    if "@" in (org.email or ""):
        return org.email.rsplit("@", 1)[1].lower()
    slug = "".join(c for c in org.name.lower() if c.isalnum()) or "org"
    return f"{slug[:40]}.example.com"


# --- units ----------------------------------------------------------------------------------


async def create_unit(db: AsyncSession, *, org: Org, data: UnitIn) -> OrgUnit:
    now = await clock.now(db)
    unit = OrgUnit(
        id=new_id(),
        org_id=org.id,
        name=data.name,
        description=data.description,
        created_at=now,
        updated_at=now,
    )
    db.add(unit)
    await db.flush()
    return unit


async def list_units(db: AsyncSession, *, org: Org) -> list[OrgUnit]:
    rows = await db.scalars(
        select(OrgUnit).where(OrgUnit.org_id == org.id).order_by(OrgUnit.created_at, OrgUnit.id)
    )
    return list(rows)


async def root_unit(db: AsyncSession, *, org: Org) -> OrgUnit:
    """The org's first unit, made (named after the org) when it has none: API accounts and
    default roles sit there (support "Implicit Permission")."""
    units = await list_units(db, org=org)
    if units:
        return units[0]
    return await create_unit(
        db, org=org, data=UnitIn(name=org.name[:200], description="The whole organization")
    )


async def find_unit(db: AsyncSession, *, org: Org, ref: str) -> OrgUnit:
    """A unit of the org by id or name; 422 when there is none."""
    if not _usable(ref):
        raise ControlError(422, "unknown_unit", f"the org has no organizational unit {ref[:80]!r}")
    unit = await db.scalar(
        select(OrgUnit)
        .where(OrgUnit.org_id == org.id, (OrgUnit.id == ref.upper()) | (OrgUnit.name == ref))
        .order_by(OrgUnit.created_at)
        .limit(1)
    )
    if unit is None:
        raise ControlError(422, "unknown_unit", f"the org has no organizational unit {ref!r}")
    return unit


# --- users ----------------------------------------------------------------------------------


async def create_user(db: AsyncSession, *, org: Org, data: UserIn) -> OrgUser:
    """One user; 409 when the Managed Apple Account is taken in the org."""
    account = account_for(org, data)
    taken = await db.scalar(
        select(OrgUser.id).where(
            OrgUser.org_id == org.id, func.lower(OrgUser.managed_apple_account) == account.lower()
        )
    )
    if taken is not None:
        raise ControlError(409, "account_taken", f"the Managed Apple Account {account!r} is in use")
    roles = data.roles
    units = (
        [(await find_unit(db, org=org, ref=r.ou)).id for r in roles]
        if roles is not None
        else [(await root_unit(db, org=org)).id]
    )
    now = await clock.now(db)
    user = OrgUser(
        org_id=org.id,
        first_name=data.first_name,
        middle_name=data.middle_name,
        last_name=data.last_name,
        status=data.status,
        managed_apple_account=account,
        is_external_user=data.is_external_user,
        email=data.email if data.email is not None else account,
        employee_number=data.employee_number,
        cost_center=data.cost_center,
        division=data.division,
        department=data.department,
        job_title=data.job_title,
        phone_numbers=[{"phoneNumber": p.phone_number, "type": p.type} for p in data.phone_numbers],
        start_at=data.start_date_time,
        created_at=now,
        updated_at=now,
    )
    db.add(user)
    await db.flush()
    role_names = [r.role_name for r in roles] if roles is not None else [names.STAFF]
    for unit_id, role in dict.fromkeys(zip(units, role_names, strict=True)):
        db.add(UserRole(ou_id=unit_id, user_id=user.id, role_name=role))
    await db.flush()
    return user


def account_for(org: Org, data: UserIn) -> str:
    """The user's Managed Apple Account: as given, else first.last@<the org's domain>."""
    return data.managed_apple_account or f"{_slug(data.first_name)}.{_slug(data.last_name)}@{domain_of(org)}"


async def find_user(db: AsyncSession, *, org: Org, ref: str) -> OrgUser | None:
    """A user by id or Managed Apple Account (case-insensitive), or None."""
    return await _user(db, org=org, ref=ref)


async def find_group(db: AsyncSession, *, org: Org, name: str) -> UserGroup | None:
    return await db.scalar(
        select(UserGroup)
        .where(UserGroup.org_id == org.id, UserGroup.name == name)
        .order_by(UserGroup.id)
        .limit(1)
    )


async def user_count(db: AsyncSession, *, org: Org) -> int:
    return await db.scalar(select(func.count()).select_from(OrgUser).where(OrgUser.org_id == org.id)) or 0


def _slug(value: str) -> str:
    return "".join(c for c in value.lower() if c.isalnum()) or "user"


async def get_user(db: AsyncSession, *, org: Org, user_id: str) -> OrgUser:
    user = await _user(db, org=org, ref=user_id)
    if user is None:
        raise ControlError(404, "not_found", f"no user {user_id!r} in this org")
    return user


async def update_user(db: AsyncSession, *, org: Org, user_id: str, data: UserPatch) -> OrgUser:
    """Directory churn: a status change (RELEASED, DEACTIVATED ...) or new directory fields."""
    user = await get_user(db, org=org, user_id=user_id)
    for name, value in data.model_dump(exclude_unset=True, exclude_none=True).items():
        setattr(user, name, value)
    user.updated_at = await clock.now(db)
    await db.flush()
    return user


def _usable(ref: str) -> bool:
    """A reference that can name something (PostgreSQL text holds no NUL)."""
    return 0 < len(ref) <= 250 and "\x00" not in ref


async def _user(db: AsyncSession, *, org: Org, ref: str) -> OrgUser | None:
    if not _usable(ref):
        return None
    if ref.isascii() and ref.isdigit() and len(ref) < 19:
        return await db.scalar(select(OrgUser).where(OrgUser.org_id == org.id, OrgUser.id == int(ref)))
    return await db.scalar(
        select(OrgUser).where(
            OrgUser.org_id == org.id, func.lower(OrgUser.managed_apple_account) == ref.lower()
        )
    )


async def user_ids(db: AsyncSession, *, org: Org, refs: Sequence[str]) -> list[int]:
    """The ids of users named by id or Managed Apple Account; 422 naming the first unknown one."""
    numbers = [int(r) for r in refs if r.isascii() and r.isdigit() and len(r) < 19]
    accounts = [r.lower() for r in refs if not (r.isascii() and r.isdigit() and len(r) < 19) and _usable(r)]
    found: dict[str, int] = {}
    if numbers:
        for uid in await db.scalars(
            select(OrgUser.id).where(OrgUser.org_id == org.id, OrgUser.id.in_(numbers))
        ):
            found[str(uid)] = uid
    if accounts:
        rows = await db.execute(
            select(func.lower(OrgUser.managed_apple_account), OrgUser.id).where(
                OrgUser.org_id == org.id, func.lower(OrgUser.managed_apple_account).in_(accounts)
            )
        )
        found.update({account: uid for account, uid in rows})
    missing = [r for r in refs if (r if r.isascii() and r.isdigit() else r.lower()) not in found]
    if missing:
        raise ControlError(422, "unknown_user", f"the org has no user {missing[0]!r}", missing=missing[:20])
    return list(dict.fromkeys(found[r if r.isascii() and r.isdigit() else r.lower()] for r in refs))


# --- groups ---------------------------------------------------------------------------------


async def create_group(db: AsyncSession, *, org: Org, data: GroupIn) -> UserGroup:
    unit = await find_unit(db, org=org, ref=data.ou) if data.ou else await root_unit(db, org=org)
    members = await user_ids(db, org=org, refs=data.members)
    now = await clock.now(db)
    group = UserGroup(
        id=new_id(), org_id=org.id, ou_id=unit.id, name=data.name, group_type=data.type, status="ACTIVE",
        created_at=now, updated_at=now,
    )  # fmt: skip
    db.add(group)
    await db.flush()
    await _insert_members(db, group.id, members)
    return group


async def get_group(db: AsyncSession, *, org: Org, group_id: str) -> UserGroup:
    if not _usable(group_id):
        raise ControlError(404, "not_found", "no such user group in this org")
    group = await db.scalar(
        select(UserGroup).where(UserGroup.org_id == org.id, UserGroup.id == group_id.upper())
    )
    if group is None:
        raise ControlError(404, "not_found", f"no user group {group_id!r} in this org")
    return group


async def add_members(db: AsyncSession, *, org: Org, group_id: str, refs: Sequence[str]) -> UserGroup:
    """Add users to a group (members already in it stay); `updatedDateTime` moves."""
    group = await get_group(db, org=org, group_id=group_id)
    await _insert_members(db, group.id, await user_ids(db, org=org, refs=refs))
    group.updated_at = await clock.now(db)
    await db.flush()
    return group


async def remove_members(db: AsyncSession, *, org: Org, group_id: str, refs: Sequence[str]) -> UserGroup:
    group = await get_group(db, org=org, group_id=group_id)
    ids = await user_ids(db, org=org, refs=refs)
    await db.execute(
        delete(UserGroupMember).where(UserGroupMember.group_id == group.id, UserGroupMember.user_id.in_(ids))
    )
    group.updated_at = await clock.now(db)
    await db.flush()
    return group


async def _insert_members(db: AsyncSession, group_id: str, members: Iterable[int]) -> None:
    rows = [{"group_id": group_id, "user_id": uid} for uid in members]
    for start in range(0, len(rows), 5000):
        await db.execute(pg_insert(UserGroupMember).on_conflict_do_nothing(), rows[start : start + 5000])


async def member_count(db: AsyncSession, *, group_id: str) -> int:
    count = await db.scalar(
        select(func.count()).select_from(UserGroupMember).where(UserGroupMember.group_id == group_id)
    )
    return count or 0


# --- generator ------------------------------------------------------------------------------


async def generate(db: AsyncSession, *, org: Org, data: GenerateIn) -> tuple[int, generator.Generated]:
    """(units added, what was generated): realistic people in the org's domain, at scale."""
    before = len(await list_units(db, org=org))
    await root_unit(db, org=org)
    existing = {u.name for u in await list_units(db, org=org)}
    pool = [n for n in names.UNIT_NAMES if n not in existing]
    for i in range(data.units):
        name = pool[i] if i < len(pool) else f"Unit {len(existing) + i + 1}"
        await create_unit(db, org=org, data=UnitIn(name=name))
    units = [u.id for u in await list_units(db, org=org)]
    count = await db.scalar(select(func.count()).select_from(OrgUser).where(OrgUser.org_id == org.id))
    result = await generator.generate(
        db,
        org_id=org.id,
        domain=domain_of(org),
        units=units,
        users=data.users,
        groups=data.groups,
        members_per_group=data.members_per_group,
        seed=data.seed,
        now=await clock.now(db),
        first_number=(count or 0) + 1,
    )
    return len(units) - before, result
