"""What a device's screen shows in Setup Assistant, from the activation (no rule of its own).

The panes are those Apple's SkipKeys name for the device's platform and OS version
(dep_emulator.device_setup.skip_keys); `skip_setup_items` of the profile, copied into the cloud
configuration's `SkipSetup`, says which are left out. Skip keys Apple does not define are still
accepted (they ride in the cloud configuration) and listed as unknown; keys for panes this
platform or version does not have are listed as such.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from ..device_setup import skip_keys
from ..device_setup.schemas import SetupOut
from ..devices import software
from ..devices.models import Device


@dataclass(slots=True)
class Screen:
    kind: str  # "phone" or "mac"
    managed: bool
    os_label: str = ""  # e.g. "iOS 26.5 (23F77)"
    org_name: str | None = None
    config: dict[str, Any] = field(default_factory=dict)
    shown: list[tuple[str, str]] = field(default_factory=list)
    skipped: list[tuple[str, str]] = field(default_factory=list)
    not_on_this_os: list[str] = field(default_factory=list)
    unknown_skips: list[str] = field(default_factory=list)


OS_NAMES = {"iOS": "iOS", "iPadOS": "iPadOS", "OSX": "macOS", "tvOS": "tvOS", "visionOS": "visionOS"}


def screen(result: SetupOut, device: Device) -> Screen:
    kind = "mac" if device.device_family == "Mac" else "phone"
    now = software.effective(device)
    panes = skip_keys.panes(device.os, now.os_version)
    label = f"{OS_NAMES.get(device.os, device.os)} {now.os_version} ({now.os_build})"
    config = result.cloud_configuration
    if not config:
        return Screen(kind=kind, managed=False, os_label=label, shown=panes)
    skips = [str(s) for s in config.get("SkipSetup") or []]
    titles = dict(panes)
    return Screen(
        kind=kind,
        managed=True,
        os_label=label,
        org_name=str(config.get("OrganizationName") or ""),
        config=config,
        shown=[(k, v) for k, v in panes if k not in skips],
        skipped=[(k, titles[k]) for k in skips if k in titles],
        not_on_this_os=[k for k in skips if k in skip_keys.SKIP_KEYS and k not in titles],
        unknown_skips=[k for k in skips if k not in skip_keys.SKIP_KEYS],
    )
