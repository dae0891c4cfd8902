# ruff: noqa: E501  (one SkipKey per line reads as Apple's table)
"""Setup Assistant's panes as Apple's SkipKeys name them, per platform and OS version.

From Apple's schema `other/skipkeys.yaml` (apple/device-management @0a4527c, the iOS/macOS 26
era; 52 keys), plus the two keys Apple's SkipKeys page added in 2026 that the schema we read has
not (54 keys in late 2026): `AccessibilityAppearance` (iOS 17.0) and `LiquidGlass` (iOS and
macOS 27.0), as MDM client libraries that track the page list them (petarov/apple-mdm-clients,
"Add new DEP skip items", 2026-07-21; device-level skip lists of Apple Configurator-style tools
carry `AccessibilityAppearance` too). Where a key lists a platform: `introduced` (`None`: n/a)
and the version that no longer has the pane (`deprecated`/`removed`); platforms a key does not
list take the schema's own defaults (iOS 7.0, macOS 10.9, tvOS 10.2, visionOS 26.0). iPadOS
follows iOS. A device shows the panes its platform and version have; a profile's unknown skip
keys are still accepted (the cloud configuration carries them) and listed as unknown.
"""

from __future__ import annotations

from ..devices import software

_DEFAULT = {"iOS": "7.0", "OSX": "10.9", "tvOS": "10.2", "visionOS": "26.0"}
NA = None
# key: (title, {platform: (introduced or NA, gone-from or None)}) for the platforms the key lists.
# fmt: off
SKIP_KEYS: dict[str, tuple[str, dict[str, tuple[str | None, str | None]]]] = {
    "Accessibility": ("Accessibility", {"iOS": (NA, None), "OSX": ("11.0", None), "tvOS": (NA, None), "visionOS": (NA, None)}),
    "AccessibilityAppearance": ("Accessibility Appearance", {"iOS": ("17.0", None), "OSX": (NA, None), "tvOS": (NA, None), "visionOS": (NA, None)}),
    "ActionButton": ("Action Button", {"iOS": ("17.0", None), "OSX": (NA, None), "tvOS": (NA, None), "visionOS": (NA, None)}),
    "AdditionalPrivacySettings": ("Additional Privacy Settings", {"iOS": (NA, None), "OSX": ("26.0", None), "tvOS": (NA, None), "visionOS": (NA, None)}),
    "Android": ("Move from Android", {"iOS": ("9.0", None), "OSX": (NA, None), "tvOS": (NA, None), "visionOS": (NA, None)}),
    "Appearance": ("Choose Your Look", {"iOS": ("13.0", None), "OSX": ("10.14", None), "tvOS": (NA, None), "visionOS": (NA, None)}),
    "AppleID": ("Apple Account", {}),
    "AppStore": ("App Store", {"iOS": ("14.3", None), "OSX": ("11.1", None), "tvOS": (NA, None), "visionOS": (NA, None)}),
    "Biometric": ("Touch ID / Face ID", {"iOS": ("8.1", None), "OSX": ("10.12.4", None), "tvOS": (NA, None)}),
    "CameraButton": ("Camera Control", {"iOS": ("18.0", None), "OSX": (NA, None), "tvOS": (NA, None), "visionOS": (NA, None)}),
    "DeviceToDeviceMigration": ("Transfer Your Data", {"iOS": ("12.4", None), "OSX": (NA, None), "tvOS": (NA, None), "visionOS": (NA, None)}),
    "Diagnostics": ("App Analytics", {}),
    "DisplayTone": ("True Tone Display", {"iOS": ("9.3.2", "15.0"), "OSX": ("10.13.6", "12.0"), "tvOS": (NA, None), "visionOS": (NA, None)}),
    "EnableLockdownMode": ("Lockdown Mode", {"iOS": ("17.1", None), "OSX": ("14.0", None), "tvOS": (NA, None), "visionOS": (NA, None)}),
    "FileVault": ("FileVault", {"iOS": (NA, None), "OSX": ("10.10", None), "tvOS": (NA, None), "visionOS": (NA, None)}),
    "HomeButtonSensitivity": ("Home Button", {"iOS": ("10.0", "15.0"), "OSX": (NA, None), "tvOS": (NA, None), "visionOS": (NA, None)}),
    "iCloudDiagnostics": ("iCloud Analytics", {"iOS": (NA, None), "OSX": ("10.12.4", None), "tvOS": (NA, None), "visionOS": (NA, None)}),
    "iCloudStorage": ("iCloud Documents and Desktop", {"iOS": (NA, None), "OSX": ("10.13.4", None), "tvOS": (NA, None), "visionOS": (NA, None)}),
    "iMessageAndFaceTime": ("iMessage and FaceTime", {"iOS": ("12.0", None), "OSX": (NA, None), "tvOS": (NA, None), "visionOS": (NA, None)}),
    "Intelligence": ("Apple Intelligence", {"iOS": ("18.0", None), "OSX": ("15.0", None), "tvOS": (NA, None)}),
    "Keyboard": ("Keyboard", {"iOS": ("13.0", None), "OSX": (NA, None), "tvOS": (NA, None), "visionOS": (NA, None)}),
    "LiquidGlass": ("Liquid Glass", {"iOS": ("27.0", None), "OSX": ("27.0", None), "tvOS": (NA, None), "visionOS": (NA, None)}),
    "Location": ("Location Services", {"OSX": ("10.11", None)}),
    "MessagingActivationUsingPhoneNumber": ("iMessage Activation", {"iOS": ("10.0", None), "OSX": (NA, None), "tvOS": (NA, None), "visionOS": (NA, None)}),
    "Multitasking": ("Multitasking", {"iOS": ("26.0", None), "OSX": (NA, None), "tvOS": (NA, None), "visionOS": (NA, None)}),
    "OnBoarding": ("Onboarding", {"iOS": ("11.0", "14.0"), "OSX": (NA, None), "tvOS": (NA, None), "visionOS": (NA, None)}),
    "OSShowcase": ("What's New", {"iOS": ("26.0", None), "OSX": (NA, None), "tvOS": (NA, None), "visionOS": (NA, None)}),
    "Passcode": ("Passcode", {"tvOS": (NA, None)}),
    "Payment": ("Apple Pay", {"iOS": ("8.1", None), "OSX": ("10.12.4", None), "tvOS": (NA, None)}),
    "Privacy": ("Privacy", {"iOS": ("11.3", None), "OSX": ("10.13.4", None), "tvOS": ("11.3", None)}),
    "Restore": ("Apps & Data", {"tvOS": (NA, None), "visionOS": (NA, None)}),
    "RestoreCompleted": ("Restore Completed", {"iOS": ("14.0", None), "OSX": (NA, None), "tvOS": (NA, None), "visionOS": (NA, None)}),
    "ScreenSaver": ("Aerial Screen Savers", {"iOS": (NA, None), "OSX": (NA, None), "visionOS": (NA, None)}),
    "Safety": ("Safety", {"iOS": ("16.0", None), "OSX": (NA, None), "tvOS": (NA, None), "visionOS": (NA, None)}),
    "SafetyAndHandling": ("Safety and Handling", {"iOS": ("18.4", None), "OSX": (NA, None), "tvOS": (NA, None), "visionOS": (NA, None)}),
    "ScreenTime": ("Screen Time", {"iOS": ("12.0", None), "OSX": ("10.15", None), "tvOS": (NA, None)}),
    "SIMSetup": ("Add Cellular Plan", {"iOS": ("12.0", None), "OSX": (NA, None), "tvOS": (NA, None), "visionOS": (NA, None)}),
    "Siri": ("Siri", {"OSX": ("10.12", None)}),
    "SoftwareUpdate": ("Software Update", {"iOS": ("12.0", None), "OSX": ("15.4", None), "tvOS": (NA, None)}),
    "SpokenLanguage": ("Dictation", {"iOS": ("13.0", None), "OSX": (NA, None), "tvOS": (NA, None), "visionOS": (NA, None)}),
    "TapToSetup": ("Tap To Set Up", {"iOS": (NA, None), "OSX": (NA, None), "visionOS": (NA, None)}),
    "TermsOfAddress": ("Terms of Address", {"iOS": ("16.0", None), "OSX": ("13.0", None), "tvOS": (NA, None), "visionOS": (NA, None)}),
    "Tips": ("Tips", {"iOS": (NA, None), "OSX": (NA, None), "tvOS": (NA, None)}),
    "TOS": ("Terms and Conditions", {}),
    "TVHomeScreenSync": ("Home Screen Sync", {"iOS": (NA, None), "OSX": (NA, None), "tvOS": ("11.0", None), "visionOS": (NA, None)}),
    "TVProviderSignIn": ("TV Provider", {"iOS": (NA, None), "OSX": (NA, None), "tvOS": ("11.0", None), "visionOS": (NA, None)}),
    "TVRoom": ("Where is this Apple TV?", {"iOS": (NA, None), "OSX": (NA, None), "tvOS": ("11.4", None), "visionOS": (NA, None)}),
    "UnlockWithWatch": ("Unlock with Apple Watch", {"iOS": (NA, None), "OSX": ("15.0", None), "tvOS": (NA, None), "visionOS": (NA, None)}),
    "UpdateCompleted": ("Update Completed", {"iOS": ("14.0", None), "OSX": (NA, None), "tvOS": (NA, None), "visionOS": (NA, None)}),
    "Wallpaper": ("Wallpaper", {"iOS": (NA, None), "OSX": ("14.1", "26.0"), "tvOS": (NA, None), "visionOS": (NA, None)}),
    "WatchMigration": ("Watch Migration", {"iOS": ("11.0", None), "OSX": (NA, None), "tvOS": (NA, None), "visionOS": (NA, None)}),
    "WebContentFiltering": ("Web Content Filtering", {"iOS": ("18.2", None), "OSX": (NA, None), "tvOS": (NA, None), "visionOS": (NA, None)}),
    "Welcome": ("Get Started", {"iOS": ("13.0", None), "OSX": ("15.0", None), "tvOS": (NA, None)}),
    "Zoom": ("Display Zoom", {"iOS": ("8.3", "17.0"), "OSX": (NA, None), "tvOS": (NA, None)}),
}
# fmt: on


def _platform(os: str) -> str:
    return "iOS" if os == "iPadOS" else os


def has_pane(key: str, os: str, version: str) -> bool:
    """Whether a device of this platform and OS version has the pane `key` skips."""
    entry = SKIP_KEYS.get(key)
    if entry is None:
        return False
    platform = _platform(os)
    introduced, gone = entry[1].get(platform, (_DEFAULT.get(platform), None))
    if introduced is None:
        return False
    now = software.version_key(version)
    if now < software.version_key(introduced):
        return False
    return gone is None or now < software.version_key(gone)


def panes(os: str, version: str) -> list[tuple[str, str]]:
    """(SkipKey, pane title) of every pane this platform and version shows, in the schema's order."""
    return [(key, entry[0]) for key, entry in SKIP_KEYS.items() if has_pane(key, os, version)]
