"""What a device's screen shows in Setup Assistant, from the activation (no rule of its own).

The panes are named as Apple's SkipKeys name them (Apple's device-management schema,
`skipkeys.yaml`); `skip_setup_items` of the profile, copied into the cloud configuration's
`SkipSetup`, says which are left out.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from ..device_setup.schemas import SetupOut
from ..devices.models import Device

# SkipKey → the pane's title, in the order Setup Assistant shows them (iOS and macOS together).
PANES = {
    "Language": "Language",
    "Region": "Region",
    "Appearance": "Appearance",
    "Accessibility": "Accessibility",
    "Welcome": "Welcome",
    "Intelligence": "Apple Intelligence",
    "Restore": "Apps & Data",
    "RestoreCompleted": "Restore Completed",
    "Android": "Move from Android",
    "WatchMigration": "Watch Migration",
    "DeviceToDeviceMigration": "Transfer Your Data",
    "AppleID": "Apple Account",
    "TOS": "Terms and Conditions",
    "Location": "Location Services",
    "Passcode": "Passcode",
    "Biometric": "Touch ID / Face ID",
    "Payment": "Apple Pay",
    "Siri": "Siri",
    "ScreenTime": "Screen Time",
    "Privacy": "Privacy",
    "Diagnostics": "App Analytics",
    "iCloudDiagnostics": "iCloud Analytics",
    "iCloudStorage": "iCloud Storage",
    "FileVault": "FileVault",
    "UnlockWithWatch": "Unlock with Apple Watch",
    "SIMSetup": "Add Cellular Plan",
    "iMessageAndFaceTime": "iMessage and FaceTime",
    "DisplayTone": "True Tone Display",
    "HomeButtonSensitivity": "Home Button",
    "Keyboard": "Keyboard",
    "TermsOfAddress": "Terms of Address",
    "Wallpaper": "Wallpaper",
    "ActionButton": "Action Button",
    "CameraButton": "Camera Control",
    "SoftwareUpdate": "Software Update",
    "UpdateCompleted": "Update Completed",
    "Safety": "Safety",
    "EnableLockdownMode": "Lockdown Mode",
    "TapToSetup": "Tap To Set Up",
    "OnBoarding": "Onboarding",
    "Zoom": "Display Zoom",
    "AppStore": "App Store",
    "Registration": "Registration",
    "Welcome_Mac": "Mac Welcome",
}


@dataclass(slots=True)
class Screen:
    kind: str  # "phone" or "mac"
    managed: bool
    org_name: str | None = None
    config: dict[str, Any] = field(default_factory=dict)
    shown: list[tuple[str, str]] = field(default_factory=list)
    skipped: list[tuple[str, str]] = field(default_factory=list)
    unknown_skips: list[str] = field(default_factory=list)


def screen(result: SetupOut, device: Device) -> Screen:
    kind = "mac" if device.device_family == "Mac" else "phone"
    config = result.cloud_configuration
    if not config:
        return Screen(kind=kind, managed=False, shown=list(PANES.items()))
    skips = [str(s) for s in config.get("SkipSetup") or []]
    return Screen(
        kind=kind,
        managed=True,
        org_name=str(config.get("OrganizationName") or ""),
        config=config,
        shown=[(k, v) for k, v in PANES.items() if k not in skips],
        skipped=[(k, PANES[k]) for k in skips if k in PANES],
        unknown_skips=[k for k in skips if k not in PANES],
    )
