"""Define-profile validation (spec §9), in one fixed order: the first problem found is the answer.

Apple does not document the order when a profile has several problems (§9.2); ours is:

1. the body is not a JSON object, or a list field (`devices`, `skip_setup_items`,
   `anchor_certs`, `supervising_host_certs`) is not a list of strings → MALFORMED_REQUEST_BODY
2. `profile_name`: missing/null/blank → CONFIG_NAME_REQUIRED; not a string or over 125
   characters → CONFIG_NAME_INVALID
3. `url`: missing/null/blank → CONFIG_URL_REQUIRED; not a string, over 2000 URL-encoded
   characters, or not an absolute http(s) URL → CONFIG_URL_INVALID
4. `configuration_web_url` (when present) checked like `url` → CONFIG_URL_INVALID
5. flags: any flag that is not a JSON boolean, or `is_mdm_removable: false` without
   `is_supervised: true` (fleet#17558) → FLAGS_INVALID
6. `department` (1–125) → DEPARTMENT_INVALID
7. `support_phone_number` (1–50) → SUPPORT_PHONE_INVALID
8. `support_email_address` (1–250, one `@`) → SUPPORT_EMAIL_INVALID
9. `org_magic` (1–256) → MAGIC_INVALID; `""` counts as absent unless strict (spec §14.2)
10. `language` (ISO 639) / `region` (ISO 3166-1 alpha-2) → LOCALE_INVALID

Tolerances real clients rely on: null reads as absent everywhere, unknown keys and unknown
`skip_setup_items` values are accepted and not stored (§9.2, §10), and keys that protocol 2
introduced are ignored below it (§2).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote, urlsplit

from ..core.errors import DepError
from .locales import valid_language, valid_region

# Every boolean flag with its default (spec §9.1); GET /profile shows each at its effective value.
FLAG_DEFAULTS: dict[str, bool] = {
    "allow_pairing": True,
    "is_supervised": False,
    "is_mdm_removable": True,
    "is_mandatory": False,
    "await_device_configured": False,
    "auto_advance_setup": False,
    "is_multi_user": False,
    "is_return_to_service": False,
    "do_not_use_profile_from_backup": False,
}
# Keys valid from protocol 2 (spec §2).
SINCE_V2 = frozenset(
    {"auto_advance_setup", "await_device_configured", "is_multi_user", "support_email_address"}
)
LIST_KEYS = ("skip_setup_items", "anchor_certs", "supervising_host_certs")
# (key, max length, error code) for the optional strings checked in steps 6–9.
OPTIONAL_STRINGS: tuple[tuple[str, int, str], ...] = (
    ("department", 125, "DEPARTMENT_INVALID"),
    ("support_phone_number", 50, "SUPPORT_PHONE_INVALID"),
    ("support_email_address", 250, "SUPPORT_EMAIL_INVALID"),
    ("org_magic", 256, "MAGIC_INVALID"),
)
NAME_MAX = 125
URL_MAX = 2000
_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+$")
_URL_SAFE = ";/?:@&=+$,-_.!~*'()#[]%"


@dataclass(frozen=True, slots=True)
class DefinedProfile:
    body: dict[str, Any]  # Apple's wire keys, every flag at its effective value
    devices: list[str]  # distinct serials to assign in the same call


def validate_profile(raw: dict[str, Any], *, version: int, strict_org_magic: bool = False) -> DefinedProfile:
    """Check a define-profile request and return what to store; raises DepError (all 400)."""
    data = {k: v for k, v in raw.items() if v is not None and (version >= 2 or k not in SINCE_V2)}
    devices = list(dict.fromkeys(_string_list(data.get("devices", []))))
    lists = {key: _string_list(data[key]) for key in LIST_KEYS if key in data}

    body: dict[str, Any] = {
        "profile_name": _required_text(data.get("profile_name"), "CONFIG_NAME", NAME_MAX),
        "url": _url(data.get("url"), required=True),
    }
    if "configuration_web_url" in data:
        body["configuration_web_url"] = _url(data["configuration_web_url"], required=False)
    body.update(_flags(data))
    for key, limit, code in OPTIONAL_STRINGS:
        value = data.get(key)
        if key == "org_magic" and value == "" and not strict_org_magic:
            continue  # MicroMDM and Fleet always send org_magic, empty by default (§14.2)
        if key in data:
            text = body[key] = _optional_text(value, limit, code)
            if key == "support_email_address" and not _EMAIL.match(text):
                raise DepError(code)
    for key, check in (("language", valid_language), ("region", valid_region)):
        if key in data:
            value = data[key]
            if not isinstance(value, str) or not check(value):
                raise DepError("LOCALE_INVALID")
            body[key] = value
    body["skip_setup_items"] = list(dict.fromkeys(lists.pop("skip_setup_items", [])))
    body.update(lists)
    return DefinedProfile(body=body, devices=devices)


def _string_list(value: Any) -> list[str]:
    if not isinstance(value, list) or not all(isinstance(item, str) for item in value):
        raise DepError("MALFORMED_REQUEST_BODY")
    return list(value)


def _required_text(value: Any, prefix: str, limit: int) -> str:
    if value is None or (isinstance(value, str) and not value.strip()):
        raise DepError(f"{prefix}_REQUIRED")
    if not isinstance(value, str) or len(value) > limit:
        raise DepError(f"{prefix}_INVALID")
    return value


def _optional_text(value: Any, limit: int, code: str) -> str:
    if not isinstance(value, str) or not 1 <= len(value) <= limit:
        raise DepError(code)
    return value


def _url(value: Any, *, required: bool) -> str:
    """An absolute http(s) URL in RFC 2396/2732 syntax, ≤ 2000 characters once URL-encoded."""
    if required and (value is None or (isinstance(value, str) and not value.strip())):
        raise DepError("CONFIG_URL_REQUIRED")
    if not isinstance(value, str) or len(quote(value, safe=_URL_SAFE)) > URL_MAX:
        raise DepError("CONFIG_URL_INVALID")
    if any(ch.isspace() or ord(ch) < 0x20 or ch in '<>"{}|\\^`' for ch in value):
        raise DepError("CONFIG_URL_INVALID")
    try:
        parts = urlsplit(value)
        parts.port  # noqa: B018 - raises ValueError on a bad port
    except ValueError as exc:
        raise DepError("CONFIG_URL_INVALID") from exc
    if parts.scheme.lower() not in ("http", "https") or not parts.hostname:
        raise DepError("CONFIG_URL_INVALID")
    return value


def _flags(data: dict[str, Any]) -> dict[str, bool]:
    flags = dict(FLAG_DEFAULTS)
    for key in FLAG_DEFAULTS:
        if key in data:
            if not isinstance(data[key], bool):
                raise DepError("FLAGS_INVALID")
            flags[key] = data[key]
    # A profile that can't be removed needs supervision (Define-a-Profile docs; fleet#17558).
    if not flags["is_mdm_removable"] and not flags["is_supervised"]:
        raise DepError("FLAGS_INVALID")
    return flags
