"""Control API: the org's people (abm-api-2.md §5 item 2: seed users, groups and units).

Apple's API only reads these (`/v1/users`, `/v1/userGroups`, `/v1/organizationalUnits`); here is
where a test sets them up, as the portal or a directory sync would.
"""

from __future__ import annotations

from fastapi import APIRouter, Response, status

from ..core.db import DbSession
from ..core.openapi import control_errors
from ..orgs import service as orgs_service
from . import service
from .models import OrgUnit, OrgUser, UserGroup
from .schemas import (
    GenerateIn,
    GenerateOut,
    GroupIn,
    GroupOut,
    MembersIn,
    UnitIn,
    UnitOut,
    UserIn,
    UserOut,
    UserPatch,
)

router = APIRouter(tags=["people"])


def unit_out(unit: OrgUnit) -> UnitOut:
    return UnitOut(id=unit.id, name=unit.name, description=unit.description, created_at=unit.created_at)


def user_out(user: OrgUser) -> UserOut:
    return UserOut(
        id=str(user.id),
        managed_apple_account=user.managed_apple_account,
        first_name=user.first_name,
        last_name=user.last_name,
        status=user.status,
    )


async def group_out(db: DbSession, group: UserGroup) -> GroupOut:
    count = await service.member_count(db, group_id=group.id)
    return GroupOut(
        id=group.id, name=group.name, type=group.group_type, ou_id=group.ou_id, member_count=count
    )


@router.post(
    "/orgs/{org_id}/organizational-units", status_code=status.HTTP_201_CREATED, response_model=UnitOut
)
async def create_unit(org_id: str, body: UnitIn, db: DbSession) -> UnitOut:
    """Add an organizational unit."""
    org = await orgs_service.get_org(db, org_id=org_id)
    return unit_out(await service.create_unit(db, org=org, data=body))


@router.get("/orgs/{org_id}/organizational-units", response_model=list[UnitOut])
async def list_units(org_id: str, db: DbSession) -> list[UnitOut]:
    """The org's organizational units, oldest first."""
    org = await orgs_service.get_org(db, org_id=org_id)
    return [unit_out(u) for u in await service.list_units(db, org=org)]


@router.post(
    "/orgs/{org_id}/users",
    status_code=status.HTTP_201_CREATED,
    response_model=UserOut,
    responses=control_errors(409, 422),
)
async def create_user(org_id: str, body: UserIn, db: DbSession) -> UserOut:
    """Add a user (a Managed Apple Account with directory fields and roles per unit)."""
    org = await orgs_service.get_org(db, org_id=org_id)
    return user_out(await service.create_user(db, org=org, data=body))


@router.patch("/orgs/{org_id}/users/{user_id}", response_model=UserOut, responses=control_errors(404))
async def update_user(org_id: str, user_id: str, body: UserPatch, db: DbSession) -> UserOut:
    """Change a user's status or directory fields (directory churn)."""
    org = await orgs_service.get_org(db, org_id=org_id)
    return user_out(await service.update_user(db, org=org, user_id=user_id, data=body))


@router.post(
    "/orgs/{org_id}/user-groups",
    status_code=status.HTTP_201_CREATED,
    response_model=GroupOut,
    responses=control_errors(422),
)
async def create_group(org_id: str, body: GroupIn, db: DbSession) -> GroupOut:
    """Add a user group with its members (user ids or Managed Apple Accounts)."""
    org = await orgs_service.get_org(db, org_id=org_id)
    return await group_out(db, await service.create_group(db, org=org, data=body))


@router.post(
    "/orgs/{org_id}/user-groups/{group_id}/members",
    response_model=GroupOut,
    responses=control_errors(404, 422),
)
async def add_members(org_id: str, group_id: str, body: MembersIn, db: DbSession) -> GroupOut:
    """Add members to a group (members already in it stay)."""
    org = await orgs_service.get_org(db, org_id=org_id)
    group = await service.add_members(db, org=org, group_id=group_id, refs=body.members)
    return await group_out(db, group)


@router.delete(
    "/orgs/{org_id}/user-groups/{group_id}/members/{user_id}",
    status_code=status.HTTP_204_NO_CONTENT,
    response_class=Response,
    responses=control_errors(404, 422),
)
async def remove_member(org_id: str, group_id: str, user_id: str, db: DbSession) -> Response:
    """Take a user out of a group."""
    org = await orgs_service.get_org(db, org_id=org_id)
    await service.remove_members(db, org=org, group_id=group_id, refs=[user_id])
    return Response(status_code=status.HTTP_204_NO_CONTENT)


@router.post("/orgs/{org_id}/people/generate", response_model=GenerateOut)
async def generate_people(org_id: str, body: GenerateIn, db: DbSession) -> GenerateOut:
    """Generate realistic people: units, users with roles in the org's domain, groups with members."""
    org = await orgs_service.get_org(db, org_id=org_id)
    units, made = await service.generate(db, org=org, data=body)
    return GenerateOut(units=units, users=made.users, groups=made.groups, memberships=made.memberships)
