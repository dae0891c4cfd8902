"""Profiles in a seed file: defined once per server and body, assigned where not assigned yet.

Apple's profiles are immutable and every define makes a new UUID (spec §6.9), so a seed
profile is matched by its server and its validated body (every flag at its effective value,
as dep_emulator.profiles stores it); assignment goes through the profiles service (`modified` events,
throttling rules and all) and skips devices that already carry that profile.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from ..core.config import Settings
from ..core.errors import DepError
from ..devices.models import Device
from ..orgs.models import MdmServer, Org
from ..profiles import service as profiles_service
from ..profiles.models import Profile
from ..profiles.validation import validate_profile
from .parse import Locator, PathKey
from .schemas import ProfileSeed

VERSION = 10  # define and assign as a current MDM does


async def ensure_profile(
    db: AsyncSession,
    org: Org,
    server: MdmServer,
    seed: ProfileSeed,
    *,
    path: PathKey,
    locator: Locator,
    settings: Settings,
) -> tuple[int, int]:
    """(profiles defined, devices assigned) by this entry."""
    raw: dict[str, Any] = dict(seed.profile)
    try:
        body = validate_profile(raw, version=VERSION, strict_org_magic=settings.strict_org_magic).body
        profile_uuid = await db.scalar(
            select(Profile.profile_uuid).where(Profile.server_id == server.id, Profile.body == body)
        )
        defined = 0
        if profile_uuid is None:
            response = await profiles_service.define_profile(
                db, server=server, raw=raw, version=VERSION, settings=settings
            )
            profile_uuid, defined = response.profile_uuid, 1
    except DepError as exc:
        raise locator.error((*path, "profile"), f"Apple would answer {exc.status_code} {exc.code}") from None
    query = select(Device.serial_number, Device.server_id, Device.profile_uuid, Device.profile_status)
    if seed.order_number is not None:
        rows = list(
            await db.execute(query.where(Device.org_id == org.id, Device.order_number == seed.order_number))
        )
    elif seed.devices is not None:
        rows = list(
            await db.execute(query.where(Device.org_id == org.id, Device.serial_number.in_(seed.devices)))
        )
        missing = sorted(set(seed.devices) - {row[0] for row in rows})
        if missing:
            raise locator.error((*path, "devices"), f"not devices of this org: {', '.join(missing[:20])}")
    else:
        return defined, 0
    elsewhere = [row[0] for row in rows if row[1] != server.id]
    if elsewhere:
        raise locator.error(
            (*path, "devices" if seed.devices is not None else "order_number"),
            f"not assigned to MDM server {server.server_name!r}: {', '.join(sorted(elsewhere)[:20])}",
        )
    todo = [row[0] for row in rows if row[2] != profile_uuid or row[3] not in ("assigned", "pushed")]
    if not todo:
        return defined, 0
    try:
        assigned = await profiles_service.assign_profile(
            db,
            server=server,
            raw={"profile_uuid": profile_uuid, "devices": todo},
            version=VERSION,
            settings=settings,
        )
    except DepError as exc:
        raise locator.error(path, f"Apple would answer {exc.status_code} {exc.code}") from None
    refused = {s: status for s, status in assigned.devices.items() if status != profiles_service.SUCCESS}
    if refused:
        shown = ", ".join(f"{s}: {status}" for s, status in sorted(refused.items())[:20])
        raise locator.error(path, f"assignment refused for {shown}")
    return defined, len(todo)
