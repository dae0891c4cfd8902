"""The Business API's people and managed devices under /v1 (abm-api-2.md §2.2): users,
userGroups, organizationalUnits and their `users` linkages; mdmDevices; orgDevices'
activationLockStatus. GET only (§0: the API cannot write these); other methods get the JSON:API
405 of any known path. Business tokens only (§1.2), except activationLockStatus (both variants)."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request

from ..core.db import DbSession
from ..core.openapi import abm_errors
from . import mdm_devices, people
from .auth import BusinessCaller, CurrentCaller
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


# --- mdmDevices and Activation Lock (abm-api-2.md §2.8, §2.9) -------------------------------


@router.get("/mdmDevices")
async def list_mdm_devices(
    request: Request, caller: BusinessCaller, page: Page, links: RequestLinks, db: DbSession
) -> dict[str, Any]:
    """Get Apple-MDM Enrolled Devices: devices enrolled in Apple's built-in service (Business 2.0)."""
    fields = parse_fields(request, mdm_devices.TYPE, mdm_devices.FIELDS)
    return await mdm_devices.list_devices(db, org=caller.org, page=page, links=links, fields=fields)


@router.get("/mdmDevices/{device_id}/details")
async def get_mdm_device_details(
    device_id: str, request: Request, caller: BusinessCaller, links: RequestLinks, db: DbSession
) -> dict[str, Any]:
    """Get the Details for an Apple-MDM Enrolled Device."""
    fields = parse_fields(request, mdm_devices.DETAILS_TYPE, mdm_devices.DETAILS_FIELDS)
    return await mdm_devices.details(db, org=caller.org, device_id=device_id, links=links, fields=fields)


@router.get("/orgDevices/{serial}/activationLockStatus", responses=abm_errors(500))
async def get_activation_lock_status(
    serial: str, caller: CurrentCaller, links: RequestLinks, db: DbSession
) -> dict[str, Any]:
    """Get the Activation Lock Status for an orgDevice (Business and School)."""
    return await mdm_devices.activation_lock_status(db, org=caller.org, serial=serial, links=links)


@router.get("/orgDevices/{serial}/relationships/activationLockStatus")
async def get_activation_lock_status_linkage(
    serial: str, caller: CurrentCaller, links: RequestLinks, db: DbSession
) -> dict[str, Any]:
    """Get the Activation Lock Status linkage of an orgDevice (Business and School)."""
    return await mdm_devices.activation_lock_linkage(db, org=caller.org, serial=serial, links=links)
