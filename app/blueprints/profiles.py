"""A Configuration's custom profile (abm-api-2.md §3.4): plist XML text, its payloads, its platforms.

The platform table is coarse on purpose (§5 item 6): a payload type Apple documents for only some
platforms narrows the set; any other payload type suits all four. Both are *unverified* rules.
"""

from __future__ import annotations

import plistlib
from typing import Any

from .errors import bad_profile

PLATFORMS = ("PLATFORM_MACOS", "PLATFORM_IOS", "PLATFORM_TVOS", "PLATFORM_VISIONOS")
MAC_ONLY = frozenset({"PLATFORM_MACOS"})
_PAYLOAD_PLATFORMS: dict[str, frozenset[str]] = {
    "com.apple.security.firewall": MAC_ONLY,
    "com.apple.MCX.FileVault2": MAC_ONLY,
    "com.apple.MCX": MAC_ONLY,
    "com.apple.systempolicy.control": MAC_ONLY,
    "com.apple.loginwindow": MAC_ONLY,
    "com.apple.screensaver": MAC_ONLY,
    "com.apple.dock": MAC_ONLY,
    "com.apple.TCC.configuration-profile-policy": MAC_ONLY,
    "com.apple.system-extension-policy": MAC_ONLY,
    "com.apple.webClip.managed": frozenset({"PLATFORM_IOS", "PLATFORM_MACOS", "PLATFORM_VISIONOS"}),
    "com.apple.webcontent-filter": frozenset({"PLATFORM_IOS", "PLATFORM_MACOS", "PLATFORM_VISIONOS"}),
    "com.apple.conferenceroomdisplay": frozenset({"PLATFORM_TVOS"}),
    "com.apple.tvremote": frozenset({"PLATFORM_TVOS"}),
    "com.apple.homescreenlayout": frozenset({"PLATFORM_IOS", "PLATFORM_TVOS", "PLATFORM_VISIONOS"}),
}
MAX_PROFILE_CHARS = 1_000_000  # Apple's limit is unverified


def payload_types(profile: str) -> list[str]:
    """The PayloadType of every payload; 400 unless the text is an XML plist whose PayloadContent is a
    non-empty list of dictionaries (base64 or binary plists were refused live with 400)."""
    if len(profile) > MAX_PROFILE_CHARS:
        raise bad_profile(f"configurationProfile is longer than {MAX_PROFILE_CHARS} characters")
    if not profile.lstrip().startswith("<") or "\x00" in profile:
        raise bad_profile("configurationProfile must be the profile's plist XML text (plist type mismatch)")
    try:
        parsed: Any = plistlib.loads(profile.encode(), fmt=plistlib.FMT_XML)
    except Exception as exc:  # plistlib raises ExpatError, ValueError, ... on bad XML
        raise bad_profile("configurationProfile is not a property list") from exc
    if not isinstance(parsed, dict):
        raise bad_profile("configurationProfile must be a dictionary at the top level")
    content = parsed.get("PayloadContent")
    if not isinstance(content, list) or not content or not all(isinstance(p, dict) for p in content):
        raise bad_profile("configurationProfile has an empty PayloadContent")
    types = [p.get("PayloadType") for p in content]
    if not all(isinstance(t, str) and t for t in types):
        raise bad_profile("every payload of configurationProfile needs a PayloadType")
    return [str(t) for t in types]


def supported(types: list[str]) -> frozenset[str]:
    """The platforms every payload suits (empty: no platform suits them all)."""
    result = frozenset(PLATFORMS)
    for payload_type in types:
        result &= _PAYLOAD_PLATFORMS.get(payload_type, frozenset(PLATFORMS))
    return result


def ordered(platforms: frozenset[str] | set[str]) -> list[str]:
    return [p for p in PLATFORMS if p in platforms]
