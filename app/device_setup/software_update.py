"""The MDM's 403 answers to MachineInfo, read as the device reads them (device-2026.md §2).

`refusal` parses the body (JSON or a property list, as the `Content-Type` says; the device reads
lowercase `code`, `message`, `details`); `plan` decides the update the device installs for
`com.apple.softwareupdate.required`: exactly the requested version (and build, when given),
never a downgrade, never one the release table does not know without a build, never the
version it already runs. Reasons are in words, as the enrollment report shows them.
"""

from __future__ import annotations

import json
import plistlib
import re
from dataclasses import dataclass
from typing import Any

from ..devices import software

SOFTWARE_UPDATE_REQUIRED = "com.apple.softwareupdate.required"
PSSO_REQUIRED = "com.apple.psso.required"
MAX_UPDATES = 3  # updates one Setup Assistant run takes before it gives up
_SUFFIX = re.compile(r"^(?P<version>\d[\d.]*)(?:\s*(?P<extra>\([a-z]\)))?$")


class UpdateImpossible(Exception):
    """The device cannot do what the MDM asks; the message says why in words."""


@dataclass(frozen=True, slots=True)
class Refusal:
    code: str
    message: str | None
    details: dict[str, Any] | None


@dataclass(frozen=True, slots=True)
class Target:
    version: str
    build: str
    extra: str | None  # a Rapid Security Response, "(a)"
    beta_program: str | None  # RequireBetaProgram's Description, when the MDM asks for one


def refusal(body: bytes, content_type: str | None) -> Refusal:
    """The 403's predefined error; UpdateImpossible when the body is not one a device can read."""
    document: Any = None
    kind = (content_type or "").lower()
    readers = (_json, _plist) if "json" in kind else (_plist, _json)
    for read in readers:
        document = read(body)
        if document is not None:
            break
    if not isinstance(document, dict) or not isinstance(document.get("code"), str):
        raise UpdateImpossible(
            "the MDM answered HTTP 403 instead of a profile, without a predefined error (a JSON or "
            "property-list body with a lowercase 'code'): the device shows the failure and stops"
        )
    details = document.get("details")
    message = document.get("message")
    return Refusal(
        code=document["code"],
        message=message if isinstance(message, str) else None,
        details=details if isinstance(details, dict) else None,
    )


def _json(body: bytes) -> Any:
    try:
        return json.loads(body)
    except ValueError:
        return None


def _plist(body: bytes) -> Any:
    try:
        return plistlib.loads(body)
    except Exception:  # plistlib raises several types on garbage
        return None


def plan(os: str, now: software.Software, details: dict[str, Any] | None) -> Target:
    """The update to install for `com.apple.softwareupdate.required`'s `details`."""
    if not details:
        raise UpdateImpossible("the MDM's software-update request has no details: the device rejects it")
    requested = details.get("OSVersion")
    match = _SUFFIX.match(requested.strip()) if isinstance(requested, str) else None
    if match is None or not software.VERSION_PATTERN.match(match["version"]):
        raise UpdateImpossible(
            f"the MDM's software-update request has no usable details.OSVersion ({requested!r})"
        )
    version, extra = match["version"], match["extra"]
    build = details.get("BuildVersion")
    if build is not None and (not isinstance(build, str) or not software.BUILD_PATTERN.match(build)):
        raise UpdateImpossible(f"the MDM's details.BuildVersion {build!r} is not a build")
    beta = details.get("RequireBetaProgram")
    beta_name = None
    if beta is not None:
        if not isinstance(beta, dict) or not isinstance(beta.get("Token"), str):
            raise UpdateImpossible("the MDM's details.RequireBetaProgram has no Token")
        beta_name = str(beta.get("Description") or "a beta program")
    current = software.version_key(now.os_version)
    wanted = software.version_key(version)
    if wanted < current:
        raise UpdateImpossible(
            f"the MDM asks for {version}, older than the installed {now.os_version}: "
            "a device never downgrades, update not possible"
        )
    if wanted == current and extra == now.supplemental_extra:
        raise UpdateImpossible(
            f"the MDM asks again for {requested}, which the device already runs: "
            "enrollment stops (the MDM's minimum is not met by any update)"
        )
    if build is None:
        build = now.os_build if wanted == current else software.build_for(os, version)
    if build is None:
        raise UpdateImpossible(
            f"{version} is not offered for this device (the emulator's release table has "
            f"{', '.join(software.known_versions(os))} for {os}): update not possible"
        )
    return Target(version=version, build=build, extra=extra, beta_program=beta_name)
