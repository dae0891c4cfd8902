"""The Business API's people under /v1 (abm-api-2.md §2.2): users, userGroups,
organizationalUnits and their `users` linkages. GET only (§0: the API cannot write people); other
methods get the JSON:API 405 of any known path. Business tokens only (§1.2)."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request

from ..core.db import DbSession
from . import people
from .auth import BusinessCaller
from .jsonapi import Page, RequestLinks, parse_fields

router = APIRouter(prefix="/v1", tags=["abm"])


@router.get("/users")
async def list_users(
    request: Request, caller: BusinessCaller, page: Page, links: RequestLinks, db: DbSession
) -> dict[str, Any]:
    """Get Users (Business 2.0): cursor pages in id order, limit ≤ 1000."""
    fields = parse_fields(request, people.USERS, people.USER_FIELDS)
    return await people.list_users(db, org=caller.org, page=page, links=links, fields=fields)


@router.get("/users/{user_id}")
async def get_user(
    user_id: str, request: Request, caller: BusinessCaller, links: RequestLinks, db: DbSession
) -> dict[str, Any]:
    """Get User Information."""
    fields = parse_fields(request, people.USERS, people.USER_FIELDS)
    return await people.one_user(db, org=caller.org, user_id=user_id, links=links, fields=fields)


@router.get("/userGroups")
async def list_user_groups(
    request: Request, caller: BusinessCaller, page: Page, links: RequestLinks, db: DbSession
) -> dict[str, Any]:
    """Get User Groups (Business 2.0)."""
    fields = parse_fields(request, people.GROUPS, people.GROUP_FIELDS)
    return await people.list_groups(db, org=caller.org, page=page, links=links, fields=fields)


@router.get("/userGroups/{group_id}")
async def get_user_group(
    group_id: str, request: Request, caller: BusinessCaller, links: RequestLinks, db: DbSession
) -> dict[str, Any]:
    """Get UserGroup Information."""
    fields = parse_fields(request, people.GROUPS, people.GROUP_FIELDS)
    return await people.one_group(db, org=caller.org, group_id=group_id, links=links, fields=fields)


@router.get("/userGroups/{group_id}/relationships/users")
async def get_user_group_users(
    group_id: str, caller: BusinessCaller, page: Page, links: RequestLinks, db: DbSession
) -> dict[str, Any]:
    """Get All User IDs for a UserGroup (paged)."""
    return await people.group_user_linkages(db, org=caller.org, group_id=group_id, page=page, links=links)


@router.get("/organizationalUnits")
async def list_organizational_units(
    request: Request, caller: BusinessCaller, page: Page, links: RequestLinks, db: DbSession
) -> dict[str, Any]:
    """Get Organizational Units (Business 2.2)."""
    fields = parse_fields(request, people.UNITS, people.UNIT_FIELDS)
    return await people.list_units(db, org=caller.org, page=page, links=links, fields=fields)


@router.get("/organizationalUnits/{unit_id}")
async def get_organizational_unit(
    unit_id: str, request: Request, caller: BusinessCaller, links: RequestLinks, db: DbSession
) -> dict[str, Any]:
    """Get OrganizationalUnit Information."""
    fields = parse_fields(request, people.UNITS, people.UNIT_FIELDS)
    return await people.one_unit(db, org=caller.org, unit_id=unit_id, links=links, fields=fields)


@router.get("/organizationalUnits/{unit_id}/relationships/users")
async def get_organizational_unit_users(
    unit_id: str, caller: BusinessCaller, page: Page, links: RequestLinks, db: DbSession
) -> dict[str, Any]:
    """Get All User IDs for an OrganizationalUnit: users holding a role in it (paged)."""
    return await people.unit_user_linkages(db, org=caller.org, unit_id=unit_id, page=page, links=links)
