"""What a device tells the MDM about itself in Setup Assistant: the signed MachineInfo plist.

The keys are those a device of its platform and OS version sends, and no others
(device-2026.md §1.2, Apple's `other/machineinfo.yaml`):

| Key | Sent by |
|---|---|
| UDID, SERIAL, PRODUCT, VERSION, LANGUAGE | every device |
| OS_VERSION, SUPPLEMENTAL_BUILD_VERSION | iOS/iPadOS/tvOS 17+, macOS 14+, visionOS |
| SUPPLEMENTAL_OS_VERSION_EXTRA | the same, only while a Rapid Security Response is applied |
| IMEI, MEID | cellular iPhones and iPads |
| MDM_CAN_REQUEST_SOFTWARE_UPDATE | iOS/iPadOS 17+, macOS 14+ (visionOS: `visionos_software_update`) |
| SOFTWARE_UPDATE_DEVICE_ID | iOS 17.4+, macOS 14.4+, visionOS 1.1+ (Mac: board ID, else product type) |
| MDM_CAN_REQUEST_PSSO_CONFIG | macOS 26.0+, absent on the retry that carries the IdP's Bearer token |
| MANDATORY_SOFTWARE_UPDATE_REQUIRED | macOS 26.1+, when the Mac must take a mandatory update first |

The plist is CMS-signed (SignedData with the content attached) by the device's identity.
Identifiers are derived from the serial, so one device always reports the same UDID.
"""

from __future__ import annotations

import hashlib
import plistlib
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.hazmat.primitives.serialization import pkcs7

from ..devices import software
from ..devices.models import Device

# Oldest version sending OS_VERSION, the SUPPLEMENTAL_* keys and (iOS/macOS) the update flag.
_OS_VERSION_SINCE = {"iOS": (17,), "iPadOS": (17,), "OSX": (14,), "tvOS": (17,), "visionOS": (1,)}
_UPDATE_FLAG_SINCE = {"iOS": (17,), "iPadOS": (17,), "OSX": (14,)}
_UPDATE_DEVICE_ID_SINCE = {"iOS": (17, 4), "iPadOS": (17, 4), "OSX": (14, 4), "visionOS": (1, 1)}


@dataclass(frozen=True, slots=True)
class Options:
    """How this request differs from a plain first request (all unverified corners are switches)."""

    language: str = "en"
    psso_retry: bool = False  # the retry carrying the IdP's Bearer token: no MDM_CAN_REQUEST_PSSO_CONFIG
    mandatory_software_update: bool = False  # macOS 26.1+: MANDATORY_SOFTWARE_UPDATE_REQUIRED
    visionos_software_update: bool = False  # the schema disagrees with itself (§1.2): default absent


def udid(device: Device) -> str:
    """Macs report their hardware UUID; other modern devices Apple's 25-character ECID form."""
    digest = hashlib.sha256(b"udid:" + device.serial_number.encode()).hexdigest().upper()
    if device.device_family == "Mac":
        return f"{digest[:8]}-{digest[8:12]}-{digest[12:16]}-{digest[16:20]}-{digest[20:32]}"
    return f"0000{digest[:4]}-00{digest[4:18]}"


def product(device: Device) -> str:
    return software.effective(device).product_type


def _since(table: Mapping[str, tuple[int, ...]], os: str, version: tuple[int, ...]) -> bool:
    first = table.get(os)
    return first is not None and version >= first


def machine_info(device: Device, *, language: str = "en", options: Options | None = None) -> dict[str, Any]:
    options = options or Options(language=language)
    now = software.effective(device)
    version = software.version_key(now.os_version)
    os = device.os
    info: dict[str, Any] = {
        "UDID": udid(device),
        "SERIAL": device.serial_number,
        "PRODUCT": now.product_type,
        "VERSION": now.os_build,
        "LANGUAGE": options.language,
    }
    if _since(_OS_VERSION_SINCE, os, version):
        info["OS_VERSION"] = now.os_version
        info["SUPPLEMENTAL_BUILD_VERSION"] = now.supplemental_build
        if now.supplemental_extra:
            info["SUPPLEMENTAL_OS_VERSION_EXTRA"] = now.supplemental_extra
    if os in ("iOS", "iPadOS"):
        if device.imei:
            info["IMEI"] = device.imei[0]
        if device.meid:
            info["MEID"] = device.meid[0]
    if _since(_UPDATE_FLAG_SINCE, os, version) or (os == "visionOS" and options.visionos_software_update):
        info["MDM_CAN_REQUEST_SOFTWARE_UPDATE"] = True
    if _since(_UPDATE_DEVICE_ID_SINCE, os, version):
        info["SOFTWARE_UPDATE_DEVICE_ID"] = (
            software.BOARD_IDS.get(now.product_type, "J413AP") if os == "OSX" else now.product_type
        )
    if os == "OSX" and version >= (26,):
        if not options.psso_retry:
            info["MDM_CAN_REQUEST_PSSO_CONFIG"] = True
        if version >= (26, 1) and options.mandatory_software_update:
            info["MANDATORY_SOFTWARE_UPDATE_REQUIRED"] = True
    return info


def signed_plist(info: dict[str, Any], *, cert: x509.Certificate, key: rsa.RSAPrivateKey) -> bytes:
    """The plist in a DER CMS SignedData, content attached, signer certificate included."""
    body = plistlib.dumps(info, fmt=plistlib.FMT_XML)
    return (
        pkcs7.PKCS7SignatureBuilder()
        .set_data(body)
        .add_signer(cert, key, hashes.SHA256())
        .sign(serialization.Encoding.DER, [pkcs7.PKCS7Options.Binary])
    )
