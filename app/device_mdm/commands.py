"""How the virtual device answers each MDM command, from its real attributes (Apple's keys).

`answer` takes one command plist and the device, returns the result to send (`Status` and the
command's own keys) and what the device does afterwards (`Effect`): nothing, restart, erase,
or unenroll (its enrollment profile removed). Unknown request types get `Error` with an
ErrorChain, as a device answers a command it does not support; `NotNow` is scripted per device.
"""

from __future__ import annotations

import base64
import hashlib
from dataclasses import dataclass, field
from enum import Enum
from typing import Any

from cryptography import x509
from cryptography.hazmat.primitives import serialization
from cryptography.x509.oid import NameOID

from ..attestation.properties import PropertiesAttestation
from . import account_config
from . import profile as profiles
from .ddm.session import DdmSession
from .ddm.session import answer as declarative_management


class Effect(Enum):
    NONE = "none"
    RESTART = "restart"
    ERASE = "erase"
    UNENROLL = "unenroll"


@dataclass(frozen=True)
class Facts:
    """What the device is (read-only during a poll): from Apple's record and its machine info."""

    serial_number: str
    udid: str
    model: str  # Apple's model name in the DEP record, e.g. "iPhone 16 Pro"
    product: str  # hardware model identifier, e.g. "iPhone17,1"
    device_family: str
    os: str
    os_version: str
    build: str
    imei: str | None
    meid: str | None
    wifi_mac: str | None
    bluetooth_mac: str | None
    ethernet_mac: str | None
    is_supervised: bool


@dataclass
class Managed:
    """What the MDM can change on the device; saved after the poll."""

    awaiting_configuration: bool
    profiles: list[dict[str, Any]]
    enrollment_profile_identifier: str
    identity_certificate_pem: str
    anchors_pem: list[str]
    lock: dict[str, Any] | None = None
    not_now_remaining: int = 0
    notes: list[str] = field(default_factory=list)
    ddm: DdmSession | None = None  # Declarative Device Management (ddm/), loaded for the poll
    attestation: PropertiesAttestation | None = None  # DevicePropertiesAttestation's cache (§7)
    account_configuration: dict[str, Any] | None = None  # AccountConfiguration's settings (macOS)


def _model_number(facts: Facts) -> str:
    """A stable part number (Apple's `Model`, e.g. MQ8D3LL/A), derived from the serial."""
    digest = hashlib.sha256(b"model:" + facts.serial_number.encode()).hexdigest().upper()
    return f"M{digest[:4]}LL/A"


def device_information(facts: Facts, managed: Managed) -> dict[str, Any]:
    """Every DeviceInformation query this device can answer."""
    info: dict[str, Any] = {
        "UDID": facts.udid,
        "SerialNumber": facts.serial_number,
        "Model": _model_number(facts),
        "ModelName": facts.model,
        "ProductName": facts.product,
        "DeviceName": facts.model,
        "OSVersion": facts.os_version,
        "BuildVersion": facts.build,
        "IsSupervised": facts.is_supervised,
        "AwaitingConfiguration": managed.awaiting_configuration,
        "IsDeviceLocatorServiceEnabled": False,
        "IsActivationLockEnabled": False,
        "IsCloudBackupEnabled": False,
        "IsMDMLostModeEnabled": False,
        "BatteryLevel": 0.87,
    }
    optional = {
        "IMEI": facts.imei,
        "MEID": facts.meid,
        "WiFiMAC": facts.wifi_mac,
        "BluetoothMAC": facts.bluetooth_mac,
        "EthernetMAC": facts.ethernet_mac,
    }
    info.update({k: v for k, v in optional.items() if v})
    if facts.ethernet_mac:
        info["EthernetMACs"] = [facts.ethernet_mac]
    return info


def security_info(facts: Facts) -> dict[str, Any]:
    if facts.device_family == "Mac":
        return {
            "FDE_Enabled": False,
            "SystemIntegrityProtectionEnabled": True,
            "FirewallSettings": {"FirewallEnabled": False, "BlockAllIncoming": False, "StealthMode": False},
            "AuthenticatedRootVolumeEnabled": True,
        }
    return {
        "HardwareEncryptionCaps": 3,
        "PasscodePresent": False,
        "PasscodeCompliant": True,
        "PasscodeCompliantWithProfiles": True,
    }


def _certificate_entry(pem: str, *, identity: bool) -> dict[str, Any]:
    cert = x509.load_pem_x509_certificate(pem.encode())
    names = cert.subject.get_attributes_for_oid(NameOID.COMMON_NAME)
    return {
        "CommonName": str(names[0].value) if names else cert.subject.rfc4514_string(),
        "Data": cert.public_bytes(serialization.Encoding.DER),
        "IsIdentity": identity,
    }


def _error(code: int, domain: str, description: str) -> dict[str, Any]:
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


error_result = _error  # for a command the device could not run at all (device_mdm.poll)


def answer(command: dict[str, Any], facts: Facts, managed: Managed) -> tuple[dict[str, Any], Effect]:
    """The result the device sends for `command` (without UDID/CommandUUID), and its effect."""
    body = command.get("Command")
    if not isinstance(body, dict):
        body = {}
    request_type = body.get("RequestType")
    if managed.not_now_remaining > 0:
        managed.not_now_remaining -= 1
        return {"Status": "NotNow"}, Effect.NONE
    if request_type == "DeclarativeManagement" and managed.ddm is not None:
        return declarative_management(
            body, managed.ddm, awaiting_configuration=managed.awaiting_configuration
        ), Effect.NONE
    if request_type == "DeviceInformation":
        available = device_information(facts, managed)
        queries = body.get("Queries")
        wanted = queries if isinstance(queries, list) else list(available)
        if "DevicePropertiesAttestation" in wanted and managed.attestation is not None:  # asked for by name
            chain = managed.attestation.answer(body.get("DeviceAttestationNonce"))
            if isinstance(chain, str):
                return _error(12021, "MCMDMErrorDomain", chain), Effect.NONE
            if chain is not None:
                available["DevicePropertiesAttestation"] = chain
        return {
            "Status": "Acknowledged",
            "QueryResponses": {q: available[q] for q in wanted if isinstance(q, str) and q in available},
        }, Effect.NONE
    if request_type == "SecurityInfo":
        return {"Status": "Acknowledged", "SecurityInfo": security_info(facts)}, Effect.NONE
    if request_type == "ProfileList":
        return {"Status": "Acknowledged", "ProfileList": managed.profiles}, Effect.NONE
    if request_type == "InstallProfile":
        return _install_profile(body, managed)
    if request_type == "RemoveProfile":
        return _remove_profile(body, managed)
    if request_type == "CertificateList":
        entries = [_certificate_entry(managed.identity_certificate_pem, identity=True)]
        entries += [_certificate_entry(pem, identity=False) for pem in managed.anchors_pem]
        return {"Status": "Acknowledged", "CertificateList": entries}, Effect.NONE
    if request_type == "InstalledApplicationList":
        return {"Status": "Acknowledged", "InstalledApplicationList": []}, Effect.NONE
    if request_type == "DeviceConfigured":
        if not managed.awaiting_configuration:
            return _error(12078, "MCMDMErrorDomain", "The device is not awaiting configuration."), Effect.NONE
        managed.awaiting_configuration = False
        managed.notes.append("Setup Assistant completed (DeviceConfigured)")
        return {"Status": "Acknowledged"}, Effect.NONE
    if request_type == "AccountConfiguration":
        return _account_configuration(body, facts, managed), Effect.NONE
    if request_type == "DeviceLock":
        if facts.device_family == "Mac" and not isinstance(body.get("PIN"), str):
            return _error(12067, "MCMDMErrorDomain", "A PIN is required to lock a Mac."), Effect.NONE
        managed.lock = {k: body[k] for k in ("Message", "PhoneNumber", "PIN") if isinstance(body.get(k), str)}
        return {"Status": "Acknowledged"}, Effect.NONE
    if request_type == "RestartDevice":
        return {"Status": "Acknowledged"}, Effect.RESTART
    if request_type == "EraseDevice":
        return {"Status": "Acknowledged"}, Effect.ERASE
    description = f"The request type {request_type!r} is not supported by this device."
    if request_type is None:
        description = "The command has no RequestType."
    return _error(12021, "MCMDMErrorDomain", description), Effect.NONE


def _account_configuration(body: dict[str, Any], facts: Facts, managed: Managed) -> dict[str, Any]:
    if facts.device_family != "Mac":
        return _error(
            12021,
            "MCMDMErrorDomain",
            "The request type 'AccountConfiguration' is not supported by this device.",
        )
    if not managed.awaiting_configuration:
        return account_config.NOT_AWAITING
    kept = account_config.settings(body)
    if isinstance(kept, str):
        return _error(12011, "MCMDMErrorDomain", f"Invalid AccountConfiguration: {kept}.")
    managed.account_configuration = kept
    managed.notes.append("kept the account configuration for Setup Assistant")
    return {"Status": "Acknowledged"}


def _install_profile(body: dict[str, Any], managed: Managed) -> tuple[dict[str, Any], Effect]:
    payload = body.get("Payload")
    if isinstance(payload, str):  # some servers send base64 text instead of <data>
        try:
            payload = base64.b64decode(payload, validate=True)
        except ValueError:
            payload = None
    if not isinstance(payload, bytes):
        return _error(4001, "MCProfileErrorDomain", "The profile payload is missing."), Effect.NONE
    try:
        installed = profiles.parse(payload)
    except profiles.ProfileError as exc:
        return _error(1000, "MCProfileErrorDomain", f"The profile could not be read: {exc}."), Effect.NONE
    if installed.signed and not installed.signature_valid:
        problem = installed.signature_problem
        return _error(
            1011, "MCProfileErrorDomain", f"The profile's signature does not hold: {problem}."
        ), Effect.NONE
    if not installed.identifier:
        return _error(1009, "MCProfileErrorDomain", "The profile has no PayloadIdentifier."), Effect.NONE
    if installed.identifier == managed.enrollment_profile_identifier or installed.payload(profiles.MDM):
        return _error(4013, "MCProfileErrorDomain", "An MDM profile cannot be installed by MDM."), Effect.NONE
    summary = installed.summary()
    managed.profiles = [p for p in managed.profiles if p["PayloadIdentifier"] != installed.identifier]
    managed.profiles.append(summary)
    managed.notes.append(f"installed profile {installed.identifier}")
    return {"Status": "Acknowledged"}, Effect.NONE


def _remove_profile(body: dict[str, Any], managed: Managed) -> tuple[dict[str, Any], Effect]:
    identifier = body.get("Identifier")
    found = [p for p in managed.profiles if p["PayloadIdentifier"] == identifier]
    if not isinstance(identifier, str) or not found:
        return _error(1000, "MDMErrorDomain", f"The profile {identifier!r} is not installed."), Effect.NONE
    if identifier == managed.enrollment_profile_identifier:
        managed.notes.append("the MDM removed its enrollment profile: the device is no longer managed")
        return {"Status": "Acknowledged"}, Effect.UNENROLL
    managed.profiles = [p for p in managed.profiles if p["PayloadIdentifier"] != identifier]
    managed.notes.append(f"removed profile {identifier}")
    return {"Status": "Acknowledged"}, Effect.NONE
