"""The device's first request to the MDM until it gets an answer it can use (device-2026.md §2).

The MDM may refuse MachineInfo with 403 and a predefined error. For
`com.apple.softwareupdate.required` (only when the device offered updates with
`MDM_CAN_REQUEST_SOFTWARE_UPDATE`) the device installs exactly what was asked (its OS on the
device record changes; no feed event, DEP's record has no OS), restarts into Setup Assistant and
asks again with its new `OS_VERSION`/`VERSION`, at most `MAX_UPDATES` times. For
`com.apple.psso.required` (macOS 26, `MDM_CAN_REQUEST_PSSO_CONFIG`) it retries with the identity
provider's token as `Authorization: Bearer` when the caller supplies one (the emulator has no
identity provider; the profile and package are not fetched). Anything else ends Setup Assistant's
enrollment with the reason in words. Every refused request and every update is an exchange.
"""

from __future__ import annotations

import json
import plistlib
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from ..clock import service as clock
from ..core.config import Settings
from ..device_setup import service as setup_service
from ..device_setup import software_update as su
from ..device_setup.machine_info import Options
from ..device_setup.schemas import MdmContactOut
from ..devices import software
from ..devices.models import Device
from . import records, transport
from .schemas import OsUpdateOut


@dataclass
class FirstContact:
    contact: MdmContactOut
    body: bytes | None
    updates: list[OsUpdateOut] = field(default_factory=list)
    failure: str | None = None  # why the device got no enrollment profile, in words
    steps: list[dict[str, Any]] = field(default_factory=list)


def _step(
    request: setup_service.MdmRequest, contact: MdmContactOut, body: bytes | None, detail: str
) -> dict[str, Any]:
    return {
        "wall_at": clock.wall_now(),
        "step": "machine_info",
        "ok": False,
        "url": contact.url,
        "status": contact.status,
        "detail": detail,
        "sent": plistlib.dumps(request.info).decode(),
        "answered": transport.printable(body or b"", 4000),
    }


async def run(
    sessionmaker: async_sessionmaker[AsyncSession],
    request: setup_service.MdmRequest,
    *,
    settings: Settings,
    psso_token: str | None = None,
    record_final: bool = True,
) -> FirstContact:
    """Ask, update or sign in as the MDM demands, ask again; store the exchanges. Call it with no
    transaction open (the MDM may call the DEP API about this device meanwhile)."""
    bearer: str | None = None
    result = FirstContact(MdmContactOut(method="POST", url=""), None)
    while True:
        result.contact, result.body = await setup_service.send_to_mdm(
            request, settings=settings, bearer_token=bearer
        )
        contact, body = result.contact, result.body
        if contact.status != 403 or body is None:
            if result.steps and record_final:
                final = _step(request, contact, body, "answered")
                final.update(
                    ok=contact.status == 200, detail=None if contact.status == 200 else contact.error
                )
                result.steps.append(final)
            break
        try:
            refusal = su.refusal(body, contact.content_type)
        except su.UpdateImpossible as exc:  # not a predefined error: the refusal as the MDM gave it
            result.failure = contact.refusal or str(exc)  # recorded by enrollment's profile.fetch
            break
        said = f" (the MDM's message: {refusal.message!r})" if refusal.message else ""
        if refusal.code == su.SOFTWARE_UPDATE_REQUIRED:
            wanted = (refusal.details or {}).get("OSVersion")
            result.steps.append(
                _step(request, contact, body, f"the MDM requires OS {wanted} ({refusal.code}){said}")
            )
            if not request.info.get("MDM_CAN_REQUEST_SOFTWARE_UPDATE"):
                result.failure = (
                    f"the MDM requires a software update ({refusal.code}) but this device's MachineInfo "
                    "did not offer one (no MDM_CAN_REQUEST_SOFTWARE_UPDATE), so the 403 is a failed "
                    "enrollment" + said
                )
                break
            if len(result.updates) >= su.MAX_UPDATES:
                result.failure = (
                    f"the MDM still requires an update after {su.MAX_UPDATES} updates: enrollment stops"
                )
                break
            updated = await install_update(sessionmaker, request, refusal.details, result)
            if updated is None:
                break
            request = updated
        elif refusal.code == su.PSSO_REQUIRED:
            result.steps.append(
                _step(request, contact, body, f"the MDM requires Platform SSO ({refusal.code}){said}")
            )
            retry = _psso(request, refusal.details, psso_token, bearer, result)
            if retry is None:
                break
            async with sessionmaker() as db, db.begin():
                device = await db.get(Device, request.device_id)
                if device is None:
                    result.failure = "the device was deleted meanwhile"
                    break
                request = await setup_service.first_mdm_request(
                    db, device, request.config, info_options=_retry_options(request.options)
                )
            bearer = retry
        else:
            result.failure = contact.refusal or f"the MDM refused the device with {refusal.code}{said}"
            # recorded by enrollment's profile.fetch
            break
    async with sessionmaker() as db, db.begin():
        await records.record(db, request.device_id, result.steps)
    return result


def _retry_options(options: Options) -> Options:
    return Options(
        language=options.language,
        psso_retry=True,
        mandatory_software_update=options.mandatory_software_update,
        visionos_software_update=options.visionos_software_update,
    )


def _psso(
    request: setup_service.MdmRequest,
    details: dict[str, Any] | None,
    token: str | None,
    bearer: str | None,
    result: FirstContact,
) -> str | None:
    """The token to retry with, or None (result.failure says why)."""
    details = details or {}
    package = details.get("Package")
    urls = {
        "ProfileURL": details.get("ProfileURL"),
        "Package.ManifestURL": package.get("ManifestURL") if isinstance(package, dict) else None,
        "AuthURL": details.get("AuthURL"),
    }
    if not request.info.get("MDM_CAN_REQUEST_PSSO_CONFIG") and bearer is None:
        result.failure = (
            "the MDM requires Platform SSO (com.apple.psso.required) but this device did not offer it "
            "(no MDM_CAN_REQUEST_PSSO_CONFIG: only macOS 26 does): enrollment fails"
        )
    elif missing := [k for k, v in urls.items() if not isinstance(v, str) or not v]:
        lacking = ", details.".join(missing)
        result.failure = f"the MDM's Platform SSO request lacks details.{lacking}: the Mac cannot sign in"
    elif bearer is not None:
        result.failure = "the MDM refused the Mac again after Platform SSO sign-in: enrollment stops"
    elif token is None:
        result.failure = (
            f"Platform SSO required: the Mac would install {urls['ProfileURL']}, the package of "
            f"{urls['Package.ManifestURL']} and sign the user in at {urls['AuthURL']}; the emulator has no "
            "identity provider, so give psso_access_token (the token the IdP returns) to continue"
        )
    else:
        result.steps.append(
            {
                "wall_at": clock.wall_now(),
                "step": "psso.sign_in",
                "ok": True,
                "url": urls["AuthURL"],
                "detail": "the user signed in (token given by the caller); profile and package not fetched",
                "answered": json.dumps(details, sort_keys=True, default=str)[:4000],
            }
        )
        return token
    return None


async def install_update(
    sessionmaker: async_sessionmaker[AsyncSession],
    request: setup_service.MdmRequest,
    details: dict[str, Any] | None,
    result: FirstContact,
) -> setup_service.MdmRequest | None:
    """Install the requested OS on the device record and build the next MachineInfo; None when the
    update is not possible (result.failure says why, an exchange records it)."""
    async with sessionmaker() as db, db.begin():
        device = await db.scalar(select(Device).where(Device.id == request.device_id).with_for_update())
        if device is None:
            result.failure = "the device was deleted meanwhile"
            return None
        before = software.effective(device)
        try:
            target = su.plan(device.os, before, details)
        except su.UpdateImpossible as exc:
            result.failure = str(exc)
            result.steps.append(
                {
                    "wall_at": clock.wall_now(),
                    "step": "software_update",
                    "ok": False,
                    "detail": result.failure,
                }
            )
            return None
        device.os_version, device.os_build = target.version, target.build
        device.os_supplemental_extra = target.extra
        device.updated_at = await clock.now(db)
        update = OsUpdateOut(
            from_version=before.os_version,
            from_build=before.os_build,
            to_version=target.version,
            to_build=target.build,
            supplemental_extra=target.extra,
            requested={k: v for k, v in (details or {}).items() if k != "RequireBetaProgram"},
            beta_program=target.beta_program,
        )
        result.updates.append(update)
        extra = f" {target.extra}" if target.extra else ""
        beta = f", joined {target.beta_program}" if target.beta_program else ""
        result.steps.append(
            {
                "wall_at": clock.wall_now(),
                "step": "software_update",
                "ok": True,
                "detail": f"installed {device.os} {target.version}{extra} ({target.build}), was "
                f"{before.os_version} ({before.os_build}){beta}; restarted into Setup Assistant",
                "answered": json.dumps(update.requested, sort_keys=True, default=str),
            }
        )
        return await setup_service.first_mdm_request(db, device, request.config, info_options=request.options)
