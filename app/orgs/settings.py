"""Per-org switches (`org.settings`), changed by JSON merge-patch (RFC 7386) through the control API.

Every known key is registered here with its type and default; a domain reads its switch with
`org_setting(org, "key")`. Unknown keys are refused so a typo never silently does nothing.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal

from pydantic import TypeAdapter, ValidationError
from sqlalchemy.ext.asyncio import AsyncSession

from ..core.errors import ControlError
from .models import Org


@dataclass(frozen=True, slots=True)
class OrgSetting:
    adapter: TypeAdapter[Any]
    default: Any
    description: str


ORG_SETTINGS: dict[str, OrgSetting] = {
    "feed_style": OrgSetting(
        TypeAdapter(Literal["apple", "clean"]),
        "apple",
        "apple: a device moved between servers appears as modified with profile_status removed on the new "
        "server (spec §8.4); clean: as added.",
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
