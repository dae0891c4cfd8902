"""Per-org switches (`org.settings`), changed by JSON merge-patch (RFC 7386) through the control API.

Every known key is registered here with its type and default; a domain reads its switch with
`org_setting(org, "key")`. Unknown keys are refused so a typo never silently does nothing.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from typing import Annotated, Any, Literal, get_args

from pydantic import ConfigDict, Field, TypeAdapter, ValidationError, with_config
from sqlalchemy.ext.asyncio import AsyncSession
from typing_extensions import TypedDict

from ..core.errors import ControlError
from .models import Org


@with_config(ConfigDict(extra="forbid"))
class LostEvents(TypedDict, total=False):
    """The lost-events fault (observed F4; read by dep_emulator.feed.lost)."""

    serials: Annotated[list[Annotated[str, Field(min_length=1, max_length=64)]], Field(max_length=10_000)]
    probability: Annotated[float, Field(ge=0, le=1)]  # a share of all devices, the same ones every time


# The Business API 2.x resource families an API account's role may lack (api_missing_permissions).
BusinessResource = Literal[
    "users",
    "userGroups",
    "organizationalUnits",
    "apps",
    "packages",
    "configurations",
    "blueprints",
    "mdmDevices",
]
BUSINESS_RESOURCES: tuple[str, ...] = get_args(BusinessResource)


@dataclass(frozen=True, slots=True)
class OrgSetting:
    adapter: TypeAdapter[Any]
    default: Any
    description: str
    choices: tuple[Any, ...] = ()  # the values a form offers (none: a checkbox or a number)
    observed: str = ""  # the observed behaviour it switches (docs/observed-behaviour.md), e.g. "F1"
    form: bool = True  # a field of the console's Settings form (False: set through the API or a seed)
    many: bool = False  # a list of `choices` (checkboxes on the form)


# Observed behaviours switched elsewhere than by a key here (docs/observed-behaviour.md).
OBSERVED_ELSEWHERE = {
    "F5": "assignment throttle: PUT /emulator/v1/orgs/{id}/assignment-throttle "
    "(devices in cooldown vanish from sync)",
    "F6": "fault echo_cursor: POST /emulator/v1/faults, or the console's Faults page (the cursor echoed)",
}


ORG_SETTINGS: dict[str, OrgSetting] = {
    "feed_style": OrgSetting(
        TypeAdapter(Literal["apple", "clean"]),
        "apple",
        "apple: a device moved between servers appears as modified with profile_status removed on the new "
        "server (spec §8.4); clean: as added.",
        choices=("apple", "clean"),
    ),
    "apple_seed_for_it": OrgSetting(
        TypeAdapter(bool),
        True,
        "AppleSeed for IT enabled; false: GET /os-beta-enrollment/tokens answers 403 "
        "APPLE_SEED_FOR_IT_TURNED_OFF (spec §6.8).",
    ),
    "activation_lock_supported": OrgSetting(
        TypeAdapter(bool),
        True,
        "false: POST /device/activationlock answers ORG_NOT_SUPPORTED (spec §6.6).",
    ),
    "account_driven_enrollment_supported": OrgSetting(
        TypeAdapter(bool),
        True,
        "false: /account-driven-enrollment/profile answers 400 ORG_NOT_SUPPORTED (spec §6.13).",
    ),
    "replacement_not_found_status": OrgSetting(
        TypeAdapter(Literal[400, 404]),
        400,
        "Status of DEVICE_NOT_FOUND on GET /device/replacementDetails: 400 as observed, 404 as documented "
        "(spec §6.7).",
        choices=(400, 404),
    ),
    "feed_delay_seconds": OrgSetting(
        TypeAdapter(Annotated[int, Field(ge=0, le=86_400)]),
        0,
        "Observed behaviour F3: a change reaches fetch and sync only this many seconds after it was made, "
        "on the emulator clock, in order (0: at once, as documented; Apple's observed lag is minutes "
        "and irregular, so tests choose it: dep_emulator.feed.delay).",
        observed="F3",
    ),
    "lost_events": OrgSetting(
        TypeAdapter(LostEvents),
        None,
        "Observed behaviour F4, a fault: every sync event of these serials, and of this share of all "
        'devices, is withheld while fetch still lists them, e.g. {"serials": ["C02..."], '
        '"probability": 0.1}; null ends it (the withheld events are not sent then: '
        "dep_emulator.feed.lost).",
        observed="F4",
        form=False,
    ),
    "device_properties_attestation": OrgSetting(
        TypeAdapter(Literal["full", "partial", "blank", "omitted"]),
        "full",
        "What the org's devices answer to DeviceInformation's DevicePropertiesAttestation (device-2026.md "
        "§7): full; partial (only the sepOS version and freshness code); blank (values empty); omitted "
        "(no attestation). A device's own switch (PUT /emulator/v1/devices/{serial}/attestation) wins.",
        choices=("full", "partial", "blank", "omitted"),
    ),
    "released_devices": OrgSetting(
        TypeAdapter(Literal["listed", "removed"]),
        "listed",
        "Observed behaviour F2: a device released from the org stays in its lists (control API, console, "
        "Business API GET /v1/orgDevices) marked released, with its release time (listed); removed: it "
        "leaves the lists, as documented. Either way it cannot be assigned until added back "
        "(POST /emulator/v1/devices/{serial}/add-back: dep_emulator.inventory.released).",
        choices=("listed", "removed"),
        observed="F2",
    ),
    "release_feed_event": OrgSetting(
        TypeAdapter(Literal["none", "deleted"]),
        "none",
        "Observed behaviour F1: a device released from the org (control API DELETE /emulator/v1/devices/"
        "{serial}, the console's Release, the Business API's RELEASE_DEVICES, churn) sends no event to "
        "the server it was assigned to (none); deleted: a `deleted` event there, as documented. "
        "DEP /devices/disown and AppleCare replacements always send `deleted`.",
        choices=("none", "deleted"),
        observed="F1",
    ),
    # Apple Business API 2.x (abm-api-2.md §1.3, §3, §5 items 5 and 10; docs/business-api-2.md).
    "builtin_device_management": OrgSetting(
        TypeAdapter(bool),
        True,
        "Apple's built-in device management is on; false: /v1/apps, /v1/packages, /v1/mdmDevices, "
        "/v1/blueprints and /v1/configurations answer 403 FORBIDDEN_ERROR (abm-api-2.md §1.3; the "
        "status is unverified).",
    ),
    "api_missing_permissions": OrgSetting(
        TypeAdapter(list[BusinessResource]),
        [],
        "Business API 2.x resources the org's API accounts have no permission for: every call on them "
        "answers 403 FORBIDDEN_ERROR (abm-api-2.md §1.3).",
        choices=BUSINESS_RESOURCES,
        many=True,
    ),
    "blueprint_name_rules": OrgSetting(
        TypeAdapter(Literal["lenient", "strict"]),
        "lenient",
        "lenient: a Blueprint name is any 1 to 200 characters (Apple's examples); strict: at most 64 "
        "letters, digits, '-', '_' and '.', unique in the org, else 409 ENTITY_ERROR.ATTRIBUTE.INVALID "
        "(reported from a live tenant; abm-api-2.md §3.1, unverified).",
        choices=("lenient", "strict"),
    ),
    "blueprint_delete_grace_seconds": OrgSetting(
        TypeAdapter(Annotated[int, Field(ge=0, le=86_400)]),
        0,
        "A deleted Blueprint stays readable with status TO_BE_DELETED this many seconds on the emulator "
        "clock, then disappears (0: gone at once; abm-api-2.md §3.2).",
    ),
    "blueprint_linkage_delay_seconds": OrgSetting(
        TypeAdapter(Annotated[int, Field(ge=0, le=86_400)]),
        0,
        "An id added to a Blueprint relationship shows on its linkage GETs only this many seconds later "
        "on the emulator clock (0: at once; abm-api-2.md §3.1 'eventual consistency').",
    ),
}


def org_setting(org: Org, key: str) -> Any:
    """The org's value for a registered switch, or its default."""
    return (org.settings or {}).get(key, ORG_SETTINGS[key].default)


def effective_settings(org: Org) -> dict[str, Any]:
    return {key: org_setting(org, key) for key in ORG_SETTINGS}


async def patch_settings(db: AsyncSession, *, org: Org, patch: dict[str, Any]) -> dict[str, Any]:
    """Merge `patch` into the org's settings (null removes a key, back to its default)."""
    unknown = sorted(set(patch) - set(ORG_SETTINGS))
    if unknown:
        raise ControlError(
            422,
            "unknown_setting",
            f"unknown org setting(s): {', '.join(unknown)}",
            known=sorted(ORG_SETTINGS),
        )
    merged = dict(org.settings or {})
    for key, value in patch.items():
        if value is None:
            merged.pop(key, None)
            continue
        try:
            merged[key] = ORG_SETTINGS[key].adapter.validate_python(value, strict=True)
        except ValidationError as exc:
            raise ControlError(422, "validation_error", f"{key}: {exc.errors()[0]['msg']}") from exc
    org.settings = merged  # a new dict, so SQLAlchemy sees the change
    await db.flush()
    return effective_settings(org)


def withholds_sync(org: Org, serial: str) -> bool:
    """Whether the org's lost-events fault withholds this device's events from sync now: the
    predicate of dep_emulator.feed.lost.sent_sql, in Python (for the device's page)."""
    fault = org_setting(org, "lost_events")
    if not fault:
        return False
    if serial in fault.get("serials", ()):
        return True
    share = int(hashlib.md5(serial.encode()).hexdigest()[:8], 16) / 2**32
    return bool(share < float(fault.get("probability", 0)))
