"""`AccountConfiguration` (device-2026.md §4): the accounts a Mac's Setup Assistant will create.

macOS only, device channel, only while the Mac awaits configuration (`AwaitDeviceConfigured`).
The device answers `Acknowledged` with no keys and keeps the settings; they take effect when
Setup Assistant reaches account creation, which the control API and the console show as the
accounts it would create. Not awaiting: the error a macOS 26.3 Mac answered (fleet#46550),
`MDMDeviceEnrollment` 101 "Device is not AwaitingConfiguration", again on every resend. On
other platforms the device's answer to an unsupported command (MCMDMErrorDomain 12021; the
real one is unverified). A command it cannot read: MCMDMErrorDomain 12011 (our choice, unverified).

The password hash (`passwordHash`, SALTED-SHA512-PBKDF2) is kept as its size only: the emulator
never creates the account, and the record must stay JSON.
"""

from __future__ import annotations

from typing import Any

_BOOLEANS = (
    "SkipPrimarySetupAccountCreation",
    "SetPrimarySetupAccountAsRegularUser",
    "DontAutoPopulatePrimaryAccountInfo",
    "LockPrimaryAccountInfo",
)
_STRINGS = ("PrimaryAccountFullName", "PrimaryAccountUserName", "ManagedLocalUserShortName")


def error(code: int, domain: str, description: str) -> dict[str, Any]:
    return {
        "Status": "Error",
        "ErrorChain": [
            {
                "ErrorCode": code,
                "ErrorDomain": domain,
                "LocalizedDescription": description,
                "USEnglishDescription": description,
            }
        ],
    }


NOT_AWAITING = error(101, "MDMDeviceEnrollment", "Device is not AwaitingConfiguration")


def settings(body: dict[str, Any]) -> dict[str, Any] | str:
    """The command's settings as kept on the device, or why it cannot be read (in words)."""
    kept: dict[str, Any] = {}
    for key in _BOOLEANS:
        if key in body:
            if not isinstance(body[key], bool):
                return f"{key} must be a boolean"
            kept[key] = body[key]
    for key in _STRINGS:
        if key in body:
            if not isinstance(body[key], str):
                return f"{key} must be a string"
            kept[key] = body[key]
    admins = body.get("AutoSetupAdminAccounts")
    if admins is not None:
        if not isinstance(admins, list) or not all(isinstance(a, dict) for a in admins):
            return "AutoSetupAdminAccounts must be an array of dictionaries"
        kept["AutoSetupAdminAccounts"] = []
        for account in admins:
            short = account.get("shortName")
            if not isinstance(short, str) or not short:
                return "every AutoSetupAdminAccounts entry needs a shortName"
            password = account.get("passwordHash")
            kept["AutoSetupAdminAccounts"].append(
                {
                    "shortName": short,
                    "fullName": str(account.get("fullName") or short),
                    "hidden": bool(account.get("hidden", False)),
                    "passwordHashBytes": len(password) if isinstance(password, bytes) else None,
                }
            )
    needs_admin = kept.get("SkipPrimarySetupAccountCreation") or kept.get(
        "SetPrimarySetupAccountAsRegularUser"
    )
    if needs_admin and not kept.get("AutoSetupAdminAccounts"):
        return (
            "SkipPrimarySetupAccountCreation and SetPrimarySetupAccountAsRegularUser "
            "need AutoSetupAdminAccounts"
        )
    return kept


def accounts(kept: dict[str, Any] | None) -> list[dict[str, Any]]:
    """The local accounts Setup Assistant would create from `kept` (first admin account only, as
    Apple documents: "only the first is used"), then the primary user's unless skipped."""
    if kept is None:
        return []
    created = []
    admins = kept.get("AutoSetupAdminAccounts") or []
    if admins:
        first = admins[0]
        created.append(
            {
                "kind": "admin",
                "short_name": first["shortName"],
                "full_name": first["fullName"],
                "hidden": first["hidden"],
                "administrator": True,
                "password_set": first["passwordHashBytes"] is not None,
            }
        )
    if not kept.get("SkipPrimarySetupAccountCreation"):
        prefill = not kept.get("DontAutoPopulatePrimaryAccountInfo")
        created.append(
            {
                "kind": "primary",
                "short_name": kept.get("PrimaryAccountUserName") if prefill else None,
                "full_name": kept.get("PrimaryAccountFullName") if prefill else None,
                "hidden": False,
                "administrator": not kept.get("SetPrimarySetupAccountAsRegularUser", False),
                "prefilled_fields_locked": bool(kept.get("LockPrimaryAccountInfo")) and prefill,
            }
        )
    managed = kept.get("ManagedLocalUserShortName")
    for account in created:
        account["managed"] = managed is not None and account["short_name"] == managed
    return created
