"""Control API: Apple's built-in device management service, its enrollments, and Activation Lock
statuses as Apple's API reports them (abm-api-2.md §5 items 2 and 8)."""

from __future__ import annotations

from fastapi import APIRouter, Response, status

from ..core.db import DbSession
from ..core.openapi import control_errors
from ..orgs import service as orgs_service
from . import service
from .schemas import EnrollmentIn, EnrollmentOut, LockStatusIn, ServiceOut

router = APIRouter(tags=["builtin-mdm"])


@router.post("/orgs/{org_id}/builtin-service", response_model=ServiceOut)
async def ensure_builtin_service(org_id: str, db: DbSession) -> ServiceOut:
    """The org's built-in service (an mdmServer with serverType APPLE_MDM), made on first call."""
    org = await orgs_service.get_org(db, org_id=org_id)
    server = await service.ensure_service(db, org=org)
    return ServiceOut(server_uuid=server.server_uuid, server_name=server.server_name)


@router.post(
    "/orgs/{org_id}/builtin-enrollments",
    status_code=status.HTTP_201_CREATED,
    response_model=EnrollmentOut,
    responses=control_errors(409),
)
async def enroll(org_id: str, body: EnrollmentIn, db: DbSession) -> EnrollmentOut:
    """Enroll a device in the built-in service: an ADE device assigned to it, or an account-driven one."""
    org = await orgs_service.get_org(db, org_id=org_id)
    enrollment = await service.enroll(db, org=org, data=body)
    kind = "ADE" if enrollment.device_id is not None else "ACCOUNT_DRIVEN"
    return EnrollmentOut(id=enrollment.id, serial_number=enrollment.serial_number, enrollment_type=kind)


@router.put(
    "/orgs/{org_id}/devices/{serial}/activation-lock-status",
    status_code=status.HTTP_204_NO_CONTENT,
    response_class=Response,
)
async def set_activation_lock_status(org_id: str, serial: str, body: LockStatusIn, db: DbSession) -> Response:
    """What `GET /v1/orgDevices/{id}/activationLockStatus` reports for the device (or its server error)."""
    org = await orgs_service.get_org(db, org_id=org_id)
    await service.set_lock_status(db, org=org, serial=serial, data=body)
    return Response(status_code=status.HTTP_204_NO_CONTENT)
