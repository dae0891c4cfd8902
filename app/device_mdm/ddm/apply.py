"""Applying the declarations a device holds (device-2026.md §3.4): each one's active/valid/reasons.

Management declarations are stored (properties feed predicates) and reported `active: false,
valid: "valid"`. Configurations are validated against what the device claims (type, payload
keys); a configuration is active only while an active activation references it. Activations
(`com.apple.activation.simple`) need every configuration they reference and a predicate that
holds. Assets are fetched when an active configuration needs them, with the MDM identity, and
checked against `Reference.ContentType`, `Size` and `Hash-SHA-256`. Legacy-profile configurations
fetch `ProfileURL` the same way and install the profile (removed again when inactive). Which
reason a real device picks in each case is our mapping [INFER], as the spec says.
"""

from __future__ import annotations

import hashlib
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from .. import profile as profiles
from . import credentials, predicate
from . import status as items

_DESCRIPTIONS = {
    "Error.ConfigurationNotSupported": "Configuration is not supported",
    "Error.UnknownPayloadKeys": "Payload has unknown keys",
    "Error.InvalidPayload": "Payload is invalid",
    "Error.ConfigurationCannotBeDeserialized": "Declaration cannot be deserialized",
    "Error.MissingConfigurations": "Activation references missing configurations",
    "Error.MissingAssets": "Configuration references missing assets",
    "Error.UnableToParsePredicate": "Predicate cannot be parsed",
    "Error.UnableToEvaluatePredicate": "Predicate cannot be evaluated",
    "Error.ConfigurationCannotBeApplied": "Configuration cannot be applied",
    "Error.ConfigurationFailed": "Configuration failed",
    "Error.AssetCannotBeDownloaded": "Asset cannot be downloaded",
    "Error.AssetCannotBeVerified": "Asset cannot be verified",
    "Error.AssetCannotBeDeserialized": "Asset cannot be deserialized",
    "Info.Predicate": "Predicate evaluated to false",
    "Info.NotReferencedByActivation": "Not referenced by an active activation",
    "Info.NotReferencedByConfiguration": "Not referenced by an active configuration",
}


def reason(code: str, **details: Any) -> dict[str, Any]:
    entry: dict[str, Any] = {"code": code, "description": _DESCRIPTIONS.get(code, code)}
    if details:
        entry["details"] = details
    return entry


@dataclass
class Fetched:
    status: int | None
    body: bytes
    content_type: str | None
    error: str | None  # no answer: why


Fetcher = Callable[[str, str], Awaitable[Fetched]]  # (step name, URL) -> what came back


@dataclass
class Device:
    """What applying reads and changes besides the declarations (saved by the caller)."""

    values: dict[str, Any]  # status items by name
    profiles: list[dict[str, Any]]  # installed profiles (legacy configurations add theirs)
    assets: dict[str, Any]  # fetched assets by identifier
    legacy_profiles: dict[str, Any]  # configuration identifier -> {server_token, identifier}
    obtain: credentials.Obtain | None = None  # runs ACME for a credential asset (ddm/credentials.py)
    now: datetime | None = None  # the emulator's time (renewal of credential identities)


def _state(valid: str, active: bool, *reasons: dict[str, Any]) -> dict[str, Any]:
    return {"valid": valid, "active": active, "reasons": list(reasons)}


def _validate(held: dict[str, Any], known: dict[str, set[str] | None]) -> list[dict[str, Any]]:
    if held.get("problem"):
        return [reason("Error.ConfigurationCannotBeDeserialized", Error=held["problem"])]
    if held["type"] not in known:
        return [reason("Error.ConfigurationNotSupported", Type=held["type"])]
    allowed = known[held["type"]]
    unknown = sorted(set(held["payload"]) - allowed) if allowed is not None else []
    return [reason("Error.UnknownPayloadKeys", Keys=unknown)] if unknown else []


def asset_references(payload: dict[str, Any]) -> list[str]:
    return [v for k, v in sorted(payload.items()) if k.endswith("AssetReference") and isinstance(v, str)]


async def apply(declarations: dict[str, Any], device: Device, fetch: Fetcher) -> dict[str, Any]:
    """Every declaration's {kind, valid, active, reasons}; installs/removes legacy profiles and
    fetches assets through `fetch` as a side effect on `device`."""
    result: dict[str, dict[str, Any]] = {}
    of_kind = {k: {i: d for i, d in declarations.items() if d["kind"] == k} for k in items.KINDS}
    properties: dict[str, Any] = {}
    for identifier, held in of_kind["management"].items():
        problems = _validate(held, dict.fromkeys(items.MANAGEMENT))
        result[identifier] = _state("invalid" if problems else "valid", False, *problems)
        if not problems and held["type"] == "com.apple.management.properties":
            properties |= held["payload"]
    config_problems = {i: _validate(d, items.CONFIGURATIONS) for i, d in of_kind["configuration"].items()}
    wanted: set[str] = set()
    for identifier, held in of_kind["activation"].items():
        result[identifier] = _activation(held, set(of_kind["configuration"]), device.values, properties)
        if result[identifier]["active"]:
            wanted |= set(held["payload"]["StandardConfigurations"])
    needed_assets: set[str] = set()
    for identifier, held in of_kind["configuration"].items():
        problems = config_problems[identifier]
        if problems:
            result[identifier] = _state("invalid", False, *problems)
        elif identifier not in wanted:
            result[identifier] = _state("valid", False, reason("Info.NotReferencedByActivation"))
        else:
            result[identifier] = await _configuration(identifier, held, of_kind["asset"], device, fetch)
            if result[identifier]["active"]:
                needed_assets |= set(asset_references(held["payload"]))
    for identifier, held in of_kind["asset"].items():
        problems = _validate(held, dict.fromkeys(items.ASSETS))
        fetched = device.assets.get(identifier)
        if problems:
            result[identifier] = _state("invalid", False, *problems)
        elif fetched is not None and fetched["server_token"] == held["server_token"] and not fetched["ok"]:
            result[identifier] = _state("invalid", False, *fetched["reasons"])
        elif identifier in needed_assets:
            result[identifier] = _state("valid", True)
        else:
            result[identifier] = _state("valid", False, reason("Info.NotReferencedByConfiguration"))
    for configuration in list(device.legacy_profiles):  # profiles of configurations no longer active
        if not result.get(configuration, {}).get("active"):
            gone = device.legacy_profiles.pop(configuration)["identifier"]
            device.profiles[:] = [p for p in device.profiles if p["PayloadIdentifier"] != gone]
    return {i: {"kind": declarations[i]["kind"]} | s for i, s in result.items()}


def _activation(
    held: dict[str, Any], configurations: set[str], values: dict[str, Any], properties: dict[str, Any]
) -> dict[str, Any]:
    problems = _validate(held, {k: set(v) for k, v in items.ACTIVATIONS.items()})
    if problems:
        return _state("invalid", False, *problems)
    payload = held["payload"]
    refs = payload.get("StandardConfigurations")
    if not isinstance(refs, list) or not all(isinstance(r, str) for r in refs):
        return _state("invalid", False, reason("Error.InvalidPayload", Key="StandardConfigurations"))
    condition = payload.get("Predicate")
    if condition is not None:
        if not isinstance(condition, str):
            return _state("invalid", False, reason("Error.InvalidPayload", Key="Predicate"))
        try:
            holds = predicate.evaluate(condition, status=values, properties=properties)
        except predicate.UnableToParse as exc:
            return _state("invalid", False, reason("Error.UnableToParsePredicate", Error=str(exc)))
        except predicate.UnableToEvaluate as exc:
            return _state("valid", False, reason("Error.UnableToEvaluatePredicate", Error=str(exc)))
        if not holds:
            return _state("valid", False, reason("Info.Predicate", Predicate=condition))
    missing = sorted(set(refs) - configurations)
    if missing:
        return _state("invalid", False, reason("Error.MissingConfigurations", Identifiers=missing))
    return _state("valid", True)


async def _configuration(
    identifier: str, held: dict[str, Any], assets: dict[str, Any], device: Device, fetch: Fetcher
) -> dict[str, Any]:
    payload = held["payload"]
    refs = asset_references(payload)
    missing = sorted(r for r in refs if r not in assets)
    if missing:
        return _state("invalid", False, reason("Error.MissingAssets", Identifiers=missing))
    for ref in refs:
        fetched = await _asset(ref, assets[ref], device, fetch)
        if not fetched["ok"]:
            return _state("invalid", False, reason("Error.ConfigurationCannotBeApplied", Asset=ref))
    if held["type"] == "com.apple.configuration.management.test" and payload.get("ReturnStatus") == "Failed":
        return _state("invalid", False, reason("Error.ConfigurationFailed", Echo=payload.get("Echo")))
    if held["type"].startswith("com.apple.configuration.legacy"):
        problem = await _legacy_profile(identifier, held, device, fetch)
        if problem is not None:
            return _state("invalid", False, reason("Error.ConfigurationCannotBeApplied", Error=problem))
    return _state("valid", True)


async def _asset(identifier: str, held: dict[str, Any], device: Device, fetch: Fetcher) -> dict[str, Any]:
    """The asset's data fetched and verified (cached per ServerToken)."""
    cached = device.assets.get(identifier)
    if (
        cached is not None
        and cached["server_token"] == held["server_token"]
        and not credentials.renewal_due(cached.get("identity"), device.now)
    ):
        return dict(cached)
    reference = held["payload"].get("Reference") if isinstance(held.get("payload"), dict) else None
    url = reference.get("DataURL") if isinstance(reference, dict) else None
    outcome: dict[str, Any] = {"server_token": held["server_token"], "ok": False, "reasons": []}
    if held.get("problem") or not isinstance(url, str):
        outcome["reasons"] = [reason("Error.AssetCannotBeDeserialized", Key="Reference.DataURL")]
    else:
        got = await fetch("ddm.asset", url)
        outcome["reasons"] = _verify(got, reference)  # type: ignore[arg-type]
        if not outcome["reasons"] and held["type"] in credentials.IDENTITY_ASSETS:
            outcome["reasons"], identity = await credentials.resolve(
                held["type"], got.body, device.obtain, reason
            )
            renewing = cached is not None and cached["server_token"] == held["server_token"]
            if identity is not None:
                outcome["identity"] = identity
                if cached is not None and cached.get("identity"):
                    outcome["renewals"] = cached.get("renewals", 0) + renewing
            elif renewing and cached is not None:  # a failed renewal keeps the identity it has
                outcome = dict(cached) | {"renewal_problem": outcome["reasons"][0]}
                device.assets[identifier] = outcome
                return outcome
        outcome["ok"] = not outcome["reasons"]
        outcome |= {"size": len(got.body), "sha256": hashlib.sha256(got.body).hexdigest()}
    device.assets[identifier] = outcome
    return outcome


def _verify(got: Fetched, reference: dict[str, Any]) -> list[dict[str, Any]]:
    if got.error is not None or got.status != 200:
        return [reason("Error.AssetCannotBeDownloaded", Error=got.error or f"HTTP {got.status}")]
    expected_type = reference.get("ContentType")
    received_type = (got.content_type or "").split(";")[0].strip()
    if isinstance(expected_type, str) and expected_type != received_type:
        return [reason("Error.AssetCannotBeVerified", ContentType=received_type, Expected=expected_type)]
    size = reference.get("Size")
    if isinstance(size, int) and size != len(got.body):
        return [reason("Error.AssetCannotBeVerified", Size=len(got.body), Expected=size)]
    digest = reference.get("Hash-SHA-256")
    actual = hashlib.sha256(got.body).hexdigest()
    if isinstance(digest, str) and digest.lower() != actual:
        return [reason("Error.AssetCannotBeVerified", Hash=actual, Expected=digest)]
    return []


async def _legacy_profile(
    identifier: str, held: dict[str, Any], device: Device, fetch: Fetcher
) -> str | None:
    """Fetch and install the configuration's profile (once per ServerToken); the problem, if any."""
    installed = device.legacy_profiles.get(identifier)
    if installed is not None and installed["server_token"] == held["server_token"]:
        return None
    url = held["payload"].get("ProfileURL")
    if not isinstance(url, str):
        return "the configuration has no ProfileURL"
    got = await fetch("ddm.legacy-profile", url)
    if got.error is not None or got.status != 200:
        return f"the profile could not be downloaded: {got.error or f'HTTP {got.status}'}"
    try:
        profile = profiles.parse(got.body)
    except profiles.ProfileError as exc:
        return f"Profile Installation Failed: {exc}"
    if profile.signed and not profile.signature_valid:
        return f"Profile Installation Failed: the signature does not hold: {profile.signature_problem}"
    if not profile.identifier or profile.payload(profiles.MDM):
        return "Profile Installation Failed: no PayloadIdentifier, or an MDM payload"
    if installed is not None:
        device.profiles[:] = [p for p in device.profiles if p["PayloadIdentifier"] != installed["identifier"]]
    device.profiles[:] = [p for p in device.profiles if p["PayloadIdentifier"] != profile.identifier]
    device.profiles.append(profile.summary())
    device.legacy_profiles[identifier] = {
        "server_token": held["server_token"],
        "identifier": profile.identifier,
    }
    return None
