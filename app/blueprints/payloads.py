"""A Configuration's profile summarised payload by payload, for the console (abm-api-2.md §2.6).

Only CUSTOM_SETTING configurations carry a profile; the service checked it on write
(dep_emulator.blueprints.profiles), so a stored one parses.
"""

from __future__ import annotations

import plistlib
from dataclasses import dataclass
from typing import Any

from . import profiles

SKIPPED_KEYS = frozenset(
    {"PayloadType", "PayloadIdentifier", "PayloadUUID", "PayloadVersion", "PayloadDisplayName",
     "PayloadDescription", "PayloadOrganization"}
)  # fmt: skip


@dataclass(frozen=True, slots=True)
class Payload:
    payload_type: str
    identifier: str
    display_name: str
    settings: list[str]  # the payload's own keys (not the Payload* bookkeeping), sorted
    platforms: list[str]  # the platforms the payload type suits (coarse table, *unverified*)


@dataclass(frozen=True, slots=True)
class ProfileSummary:
    display_name: str
    identifier: str
    payloads: list[Payload]


def summarise(profile: str) -> ProfileSummary | None:
    """The profile's name and payloads; None when there is no profile or it does not parse."""
    if not profile:
        return None
    try:
        profiles.payload_types(profile)
        parsed: Any = plistlib.loads(profile.encode(), fmt=plistlib.FMT_XML)
    except Exception:  # a profile stored before the checks, or by hand: shown as "not readable"
        return None
    payloads = [
        Payload(
            payload_type=str(p.get("PayloadType", "")),
            identifier=str(p.get("PayloadIdentifier", "")),
            display_name=str(p.get("PayloadDisplayName", "")),
            settings=sorted(str(k) for k in p if k not in SKIPPED_KEYS),
            platforms=profiles.ordered(profiles.supported([str(p.get("PayloadType", ""))])),
        )
        for p in parsed["PayloadContent"]
    ]
    return ProfileSummary(
        display_name=str(parsed.get("PayloadDisplayName", "")),
        identifier=str(parsed.get("PayloadIdentifier", "")),
        payloads=payloads,
    )
