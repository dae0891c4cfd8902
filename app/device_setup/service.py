"""The device's side of enrollment: switching it on in Setup Assistant, and erasing it.

Activation asks Apple for the device's cloud configuration: with a profile assigned (status
`assigned`, or `pushed` after an erase) the device downloads it, the device's `profile_status`
becomes `pushed` with `profile_push_time` (a `modified` event, spec §7, §8.4), and the
configuration is kept in `device_setup` until an erase: a device that already got a profile
ignores new assignments until then (spec §6.12). Without a profile it sets up unmanaged.

With `contact_mdm` (or `enroll`, which continues into `device_mdm.service.complete_enrollment`)
the device then makes its first request to the MDM (`mdm_contact`), after
Apple's side of the activation is committed, as on a real device: the MDM under test may well
call the DEP API about this device while it serves that request (disown it, assign a profile),
which must not wait on a row lock the activation still holds.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from ..clock import service as clock
from ..core.config import Settings
from ..core.errors import not_found
from ..devices import audit, locking, software
from ..devices.events import MODIFIED, FeedEvent, record_events
from ..devices.models import Device
from ..orgs.models import Org
from ..profiles.models import Profile
from . import ca, machine_info
from .cloud_config import cloud_configuration
from .mdm_contact import ContactLimits, contact_mdm
from .models import DeviceSetup
from .schemas import LANGUAGE_TAG, ActivateIn, MdmContactOut, SetupOut


async def _locked_device(db: AsyncSession, serial: str) -> Device:
    device = None
    if locking.usable_serial(serial):
        device = await db.scalar(select(Device).where(Device.serial_number == serial).with_for_update())
    if device is None:
        raise not_found("device", serial)
    return device


@dataclass(frozen=True, slots=True)
class MdmRequest:
    """The device's first request to the MDM, ready to send once the activation is committed."""

    device_id: int
    config: dict[str, Any]
    signed_info: bytes
    user_agent: str
    info: dict[str, Any] = field(default_factory=dict)  # the MachineInfo inside signed_info
    options: machine_info.Options = field(default_factory=machine_info.Options)


async def activate(
    db: AsyncSession, *, serial: str, options: ActivateIn
) -> tuple[SetupOut, MdmRequest | None]:
    """Switch the device on in Setup Assistant (scenario 15); with `contact_mdm`, also the
    request to send to the MDM (`send_to_mdm`) once this transaction is committed."""
    device = await _locked_device(db, serial)
    setup = await db.get(DeviceSetup, device.id)
    profile_body: dict[str, Any] | None = None
    if setup is not None:
        outcome, config, profile_uuid = "already_configured", setup.cloud_configuration, setup.profile_uuid
        profile = await db.scalar(select(Profile).where(Profile.profile_uuid == setup.profile_uuid))
        profile_body = dict(profile.body) if profile is not None else None
    else:
        outcome, config, profile_uuid = "no_profile", None, None
        profile = await _profile_from_apple(db, device)
        if profile is not None:
            org = await db.get(Org, device.org_id)
            assert org is not None
            outcome, profile_uuid, profile_body = "downloaded", profile.profile_uuid, dict(profile.body)
            config = cloud_configuration(profile_body, org)
            await _pushed(db, device, profile, config)
    result = SetupOut(
        serial_number=device.serial_number,
        outcome=outcome,
        profile_status=device.profile_status,
        profile_uuid=profile_uuid,
        profile=_profile_view(profile_uuid, profile_body, config),
        cloud_configuration=config,
    )
    request = None
    if (options.contact_mdm or options.enroll) and config is not None:
        language = options.language or str((profile_body or {}).get("language") or "en")
        request = await first_mdm_request(db, device, config, info_options=info_options(options, language))
    return result, request


async def _profile_from_apple(db: AsyncSession, device: Device) -> Profile | None:
    """The profile Apple hands out: assigned on the device's current server and not removed."""
    if device.server_id is None or device.profile_uuid is None:
        return None
    if device.profile_status not in ("assigned", "pushed"):
        return None
    return await db.scalar(
        select(Profile).where(
            Profile.profile_uuid == device.profile_uuid, Profile.server_id == device.server_id
        )
    )


async def _pushed(db: AsyncSession, device: Device, profile: Profile, config: dict[str, Any]) -> None:
    now = await clock.now(db)
    device.profile_status = "pushed"
    device.profile_push_time = now
    device.updated_at = now
    db.add(
        DeviceSetup(
            device_id=device.id,
            profile_uuid=profile.profile_uuid,
            cloud_configuration=config,
            activated_at=now,
        )
    )
    await db.flush()
    assert device.server_id is not None
    await record_events(db, [FeedEvent(server_id=device.server_id, device=device, op_type=MODIFIED)], at=now)


def _profile_view(
    profile_uuid: str | None, body: dict[str, Any] | None, config: dict[str, Any] | None
) -> dict[str, Any] | None:
    if profile_uuid is None or body is None:
        return None
    org_name = (config or {}).get("OrganizationName")
    return {"profile_uuid": profile_uuid, **body, "org_name": org_name}


def info_options(options: ActivateIn, language: str) -> machine_info.Options:
    return machine_info.Options(
        language=language,
        mandatory_software_update=options.mandatory_software_update,
        visionos_software_update=options.visionos_software_update,
    )


async def first_mdm_request(
    db: AsyncSession,
    device: Device,
    config: dict[str, Any],
    *,
    language: str = "en",
    info_options: machine_info.Options | None = None,
) -> MdmRequest:
    """The signed machine info the device sends to the MDM, under a fresh device identity."""
    chosen = info_options or machine_info.Options(language=language)
    if not re.fullmatch(LANGUAGE_TAG, chosen.language):
        # the DEP profile's language is free text; a device reports a tag
        chosen = machine_info.Options(
            language="en",
            psso_retry=chosen.psso_retry,
            mandatory_software_update=chosen.mandatory_software_update,
            visionos_software_update=chosen.visionos_software_update,
        )
    info = machine_info.machine_info(device, options=chosen)
    cert, key = await ca.issue_device_identity(db, udid=info["UDID"], serial=device.serial_number)
    signed = machine_info.signed_plist(info, cert=cert, key=key)
    now = software.effective(device)
    user_agent = f"{now.product_type}/{now.os_version} ({now.os_build}) MDM-emulated-device"
    return MdmRequest(device.id, config, signed, user_agent, info, chosen)


async def send_to_mdm(
    request: MdmRequest, *, settings: Settings, bearer_token: str | None = None
) -> tuple[MdmContactOut, bytes | None]:
    """Make the device's first request to the MDM (call it with no transaction open): what it
    answered, and the body (the enrollment profile, for `device_mdm.service.enroll`)."""
    return await contact_mdm(
        request.config,
        signed_info=request.signed_info,
        user_agent=request.user_agent,
        limits=ContactLimits(
            timeout_seconds=settings.mdm_contact_timeout_seconds,
            max_redirects=settings.mdm_max_redirects,
            max_bytes=settings.mdm_profile_max_bytes,
        ),
        bearer_token=bearer_token,
    )


async def erase(db: AsyncSession, *, serial: str) -> tuple[Device, bool]:
    """Erase all content and settings, Apple's side of it: the installed configuration is gone, so
    the next activation asks Apple again; Apple's record stays. Returns the (locked) device and
    whether it had a configuration. The MDM enrollment goes too: dep_emulator.device_mdm.state.erase,
    where the control API and the MDM's EraseDevice command both end."""
    device = await _locked_device(db, serial)
    setup = await db.get(DeviceSetup, device.id)
    if setup is not None:
        await db.delete(setup)
        await db.flush()
    await audit.record_erased(db, device, at=await clock.now(db))  # Business API auditEvents
    return device, setup is not None
