"""Apple's built-in device management (abm-api-2.md §4.1): the only writer of its server marker,
its enrollments and seeded Activation Lock statuses. The Business API's mdmDevices and
activationLockStatus (dep_emulator.abm.mdm_devices) read these.

An ADE enrollment is shown while its device is in the org and assigned to the built-in service:
migrating the device to another server (2.3) or releasing it (2.4) takes it out of mdmDevices
without a write here (inference, §4.1). Account-driven enrollments never appear in orgDevices.
"""

from __future__ import annotations

import uuid

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from ..activation_lock.models import ActivationLock
from ..clock import service as clock
from ..core.errors import ControlError
from ..devices.models import Device
from ..orgs import service as orgs_service
from ..orgs.models import MdmServer, Org
from ..orgs.schemas import MdmServerIn
from ..people import service as people
from .models import BuiltinEnrollment, BuiltinService, LockStatus
from .schemas import EnrollmentIn, LockStatusIn

SERVICE_NAME = "Apple Business device management"
GB = 1_000_000_000


async def service_server(db: AsyncSession, *, org: Org) -> MdmServer | None:
    return await db.scalar(
        select(MdmServer)
        .join(BuiltinService, BuiltinService.server_id == MdmServer.id)
        .where(BuiltinService.org_id == org.id)
    )


async def ensure_service(db: AsyncSession, *, org: Org) -> MdmServer:
    """The org's built-in service (an mdm_server row without a DEP token), made on first use."""
    server = await service_server(db, org=org)
    if server is None:
        server = await orgs_service.create_server(db, org=org, data=MdmServerIn(server_name=SERVICE_NAME))
        db.add(BuiltinService(org_id=org.id, server_id=server.id))
        await db.flush()
    return server


async def enroll(db: AsyncSession, *, org: Org, data: EnrollmentIn) -> BuiltinEnrollment:
    device = await db.scalar(select(Device).where(Device.serial_number == data.serial_number))
    user_id = None
    if data.user is not None:
        user = await people.find_user(db, org=org, ref=data.user)
        if user is None:
            raise ControlError(422, "unknown_user", f"the org has no user {data.user!r}")
        user_id = user.id
    if data.account_driven:
        if device is not None:
            raise ControlError(
                409, "device_in_inventory", "account-driven devices are not in any org's inventory"
            )
        family: str = data.device_family
        model = data.device_model or family
        macs = ("", "", "")
        imei: list[str] = []
        meid: list[str] = []
    else:
        server = await service_server(db, org=org)
        if device is None or device.org_id != org.id:
            raise ControlError(404, "not_found", f"the org has no device {data.serial_number!r}")
        if server is None or device.server_id != server.id:
            raise ControlError(409, "not_assigned", "the device is not assigned to the built-in service")
        family, model = device.device_family, device.model
        macs = (
            device.wifi_mac_address or "",
            device.bluetooth_mac_address or "",
            device.ethernet_mac_address or "",
        )
        imei, meid = list(device.imei), list(device.meid)
        taken = await db.scalar(select(BuiltinEnrollment.id).where(BuiltinEnrollment.device_id == device.id))
        if taken is not None:
            raise ControlError(409, "already_enrolled", f"the device is enrolled ({taken})")
    now = await clock.now(db)
    total = 512 * GB if family == "Mac" else 128 * GB
    enrollment = BuiltinEnrollment(
        id=str(uuid.uuid4()).upper(),
        org_id=org.id,
        device_id=device.id if device is not None and not data.account_driven else None,
        serial_number=data.serial_number,
        device_name=data.device_name or f"{family} {data.serial_number[-4:]}",
        device_family=family,
        device_model=model,
        os_version=data.os_version,
        wifi_mac_address=macs[0],
        bluetooth_mac_address=macs[1],
        ethernet_mac_address=macs[2],
        imei=imei,
        meid=meid,
        user_id=user_id,
        erased=False,
        locked=data.locked,
        lost_mode=data.lost_mode,
        file_vault=data.file_vault,
        firewall=data.firewall,
        storage_free=total // 3,
        storage_total=total,
        enrolled_at=now,
        last_check_in_at=now,
    )
    db.add(enrollment)
    await db.flush()
    return enrollment


async def set_lock_status(db: AsyncSession, *, org: Org, serial: str, data: LockStatusIn) -> None:
    device = await db.scalar(select(Device).where(Device.serial_number == serial, Device.org_id == org.id))
    if device is None:
        raise ControlError(404, "not_found", f"the org has no device {serial[:80]!r}")
    row = await db.get(LockStatus, device.id)
    if row is None:
        db.add(LockStatus(device_id=device.id, lock_type=data.lock_type, server_error=data.server_error))
    else:
        row.lock_type, row.server_error = data.lock_type, data.server_error
    await db.flush()


async def lock_status(db: AsyncSession, *, device: Device) -> tuple[str, bool]:
    """(lockType, server error): seeded, else MDM while the DEP activation lock is on, else NONE."""
    row = await db.get(LockStatus, device.id)
    if row is not None:
        return row.lock_type, row.server_error
    lock = await db.get(ActivationLock, device.id)
    return ("MDM" if lock is not None and lock.locked_at is not None else "NONE"), False
