"""What the device claims and reports: client capabilities, status items, status reports (§3.5).

Status item values come from the device's facts. A report is a JSON `StatusReport`: dotted item
names become nested objects, per-declaration entries use lowercase-hyphenated keys, `Errors`
lists subscribed items the device cannot produce, `FullReport` marks the safety sync that carries
every current value. Incremental reports carry only what changed since the last report sent
(whole arrays for `management.declarations`).
"""

from __future__ import annotations

from typing import Any

from ..commands import Facts

KINDS = ("activation", "asset", "configuration", "management")
ARRAYS = {
    "activation": "activations",
    "asset": "assets",
    "configuration": "configurations",
    "management": "management",
}

# Configuration types this device claims, with the payload keys each accepts (None: any keys).
CONFIGURATIONS: dict[str, set[str] | None] = {
    "com.apple.configuration.management.status-subscriptions": {"StatusItems"},
    "com.apple.configuration.legacy": {"ProfileURL"},
    "com.apple.configuration.legacy.interactive": {"ProfileURL", "VisibleName"},
    "com.apple.configuration.management.test": {"Echo", "ReturnStatus"},
    "com.apple.configuration.passcode.settings": {
        "RequirePasscode",
        "RequireAlphanumericPasscode",
        "RequireComplexPasscode",
        "MinimumLength",
        "MinimumComplexCharacters",
        "MaximumFailedAttempts",
        "MaximumGracePeriodInMinutes",
        "MaximumInactivityInMinutes",
        "MaximumPasscodeAgeInDays",
        "PasscodeReuseLimit",
        "ChangeAtNextAuth",
        "CustomRegex",
    },
    "com.apple.configuration.softwareupdate.enforcement.specific": {
        "TargetOSVersion",
        "TargetBuildVersion",
        "TargetLocalDateTime",
        "DetailsURL",
    },
    "com.apple.configuration.softwareupdate.settings": None,
    "com.apple.configuration.security.certificate": {"CredentialAssetReference"},
    "com.apple.configuration.services.configuration-files": {"ServiceType", "DataAssetReference"},
    "com.apple.configuration.security.identity": {
        "CredentialAssetReference",
        "AllowAllAppsAccess",
        "KeyIsExtractable",
    },
}
ACTIVATIONS = {"com.apple.activation.simple": {"StandardConfigurations", "Predicate"}}
ASSETS = {
    "com.apple.asset.data",
    "com.apple.asset.credential.certificate",
    "com.apple.asset.credential.acme",  # ddm/credentials.py
    "com.apple.asset.credential.scep",
    "com.apple.asset.credential.identity",
}
MANAGEMENT = {
    "com.apple.management.organization-info",
    "com.apple.management.properties",
    "com.apple.management.server-capabilities",
}
ITEMS = (
    "device.identifier.udid",
    "device.identifier.serial-number",
    "device.model.family",
    "device.model.identifier",
    "device.model.marketing-name",
    "device.operating-system.family",
    "device.operating-system.version",
    "device.operating-system.build-version",
    "management.client-capabilities",
    "management.declarations",
)
# What a real Mac's first report after enablement carried (KMFDDM's status.1st.json).
FIRST_REPORT = tuple(i for i in ITEMS if i.startswith("device.")) + ("management.client-capabilities",)


def client_capabilities() -> dict[str, Any]:
    return {
        "supported-versions": ["1.0.0"],
        "supported-payloads": {
            "declarations": {
                "activations": sorted(ACTIVATIONS),
                "assets": sorted(ASSETS),
                "configurations": sorted(CONFIGURATIONS),
                "management": sorted(MANAGEMENT),
            },
            "status-items": list(ITEMS),
        },
        "supported-features": {},
    }


def values(facts: Facts) -> dict[str, Any]:
    """The device's status items by name (management.declarations is added by the caller)."""
    return {
        "device.identifier.udid": facts.udid,
        "device.identifier.serial-number": facts.serial_number,
        "device.model.family": facts.device_family,
        "device.model.identifier": facts.product,
        "device.model.marketing-name": facts.model,
        "device.operating-system.family": facts.os,
        "device.operating-system.version": facts.os_version,
        "device.operating-system.build-version": facts.build,
        "management.client-capabilities": client_capabilities(),
    }


def declarations_item(declarations: dict[str, Any], status: dict[str, Any]) -> dict[str, Any]:
    """`management.declarations`: every declaration the device holds, by kind."""
    arrays: dict[str, list[dict[str, Any]]] = {ARRAYS[k]: [] for k in KINDS}
    for identifier in sorted(declarations):
        held, state = declarations[identifier], status.get(identifier, {})
        entry = {
            "identifier": identifier,
            "server-token": held["server_token"],
            "active": bool(state.get("active", False)),
            "valid": state.get("valid", "unknown"),
        }
        if state.get("reasons"):
            entry["reasons"] = state["reasons"]
        arrays[ARRAYS[held["kind"]]].append(entry)
    return arrays


def nest(flat: dict[str, Any]) -> dict[str, Any]:
    """Dotted item names as nested objects (`device.operating-system.version` → device → ...)."""
    nested: dict[str, Any] = {}
    for name, value in flat.items():
        *path, last = name.split(".")
        node = nested
        for part in path:
            node = node.setdefault(part, {})
        node[last] = value
    return nested


def report(
    current: dict[str, Any], reported: dict[str, Any], *, subscribed: set[str], full: bool
) -> tuple[dict[str, Any] | None, dict[str, Any]]:
    """(the report to send, or None when nothing changed; the values it reports as sent).

    `current` holds every item's value; the first report carries FIRST_REPORT and the declarations,
    later ones the implicit and subscribed items whose value changed."""
    wanted = set(FIRST_REPORT) | {"management.declarations", "management.client-capabilities"} | subscribed
    errors = [
        {
            "StatusItem": name,
            "Reasons": [
                {
                    "Code": "Error.StatusItemNotSupported",
                    "Description": f"{name} is not a status item of this device",
                }
            ],
        }
        for name in sorted(subscribed - set(current))
    ]
    if full:
        send = {name: current[name] for name in wanted if name in current}
    elif not reported:
        send = {name: current[name] for name in (*FIRST_REPORT, "management.declarations")}
    else:
        send = {n: current[n] for n in wanted if n in current and reported.get(n) != current[n]}
        errors = [e for e in errors if e["StatusItem"] not in reported.get("_errors", [])]
    if not send and not errors:
        return None, reported
    now_reported = dict(reported) | send
    now_reported["_errors"] = sorted(subscribed - set(current))
    body = {"StatusItems": nest(send), "Errors": errors, "FullReport": full}
    return body, now_reported
