"""What a device tells the MDM about itself in Setup Assistant: the signed MachineInfo plist.

Apple's MachineInfo keys: UDID, SERIAL, PRODUCT (hardware model identifier), VERSION (build),
OS_VERSION, IMEI and MEID (cellular models only), LANGUAGE, MDM_CAN_REQUEST_SOFTWARE_UPDATE.
The plist is CMS-signed (SignedData with the content attached) by the device's identity.
Identifiers are derived from the serial, so one device always reports the same UDID.
"""

from __future__ import annotations

import hashlib
import plistlib
from typing import Any

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.hazmat.primitives.serialization import pkcs7

from ..devices.models import Device

# Hardware model identifiers of the generator's models (dep_emulator.devices.generator).
PRODUCTS = {
    "iPhone 16 Pro": "iPhone17,1",
    "iPhone 16": "iPhone17,3",
    "iPhone 15 Pro": "iPhone16,1",
    "iPhone 15": "iPhone15,4",
    "iPhone 14": "iPhone14,7",
    "iPhone 13": "iPhone14,5",
    "iPhone SE (3rd generation)": "iPhone14,6",
    "iPhone 12": "iPhone13,2",
    "iPhone 8": "iPhone10,1",
    "iPad Pro 13-inch (M4)": "iPad16,5",
    "iPad Air 11-inch (M2)": "iPad14,8",
    "iPad (10th generation)": "iPad13,18",
    "iPad mini (6th generation)": "iPad14,1",
    "iPad (9th generation)": "iPad12,1",
    "iPad mini 4": "iPad5,1",
    "MacBook Pro 14-inch": "Mac15,3",
    "MacBook Pro 16-inch": "Mac15,7",
    "MacBook Air 13-inch (M2)": "Mac14,2",
    "MacBook Air 15-inch (M3)": "Mac15,13",
    "Mac mini": "Mac14,3",
    "iMac": "Mac15,4",
    "Mac Studio": "Mac14,13",
    "MacBook Pro 13-inch": "MacBookPro17,1",
    "Apple TV 4K": "AppleTV14,1",
    "Apple TV HD": "AppleTV5,3",
    "Apple Vision Pro": "RealityDevice14,1",
    "iPod touch": "iPod9,1",
}
FAMILY_PRODUCTS = {
    "iPhone": "iPhone17,3",
    "iPad": "iPad13,18",
    "Mac": "Mac15,3",
    "AppleTV": "AppleTV14,1",
    "Vision": "RealityDevice14,1",
    "iPod": "iPod9,1",
}
# (OS_VERSION, VERSION) a freshly erased device of each OS runs.
OS_BUILDS = {
    "iOS": ("18.1", "22B83"),
    "iPadOS": ("18.1", "22B83"),
    "OSX": ("15.1", "24B83"),
    "tvOS": ("18.1", "22J580"),
    "visionOS": ("2.1", "22N580"),
}


def udid(device: Device) -> str:
    """Macs report their hardware UUID; other modern devices Apple's 25-character ECID form."""
    digest = hashlib.sha256(b"udid:" + device.serial_number.encode()).hexdigest().upper()
    if device.device_family == "Mac":
        return f"{digest[:8]}-{digest[8:12]}-{digest[12:16]}-{digest[16:20]}-{digest[20:32]}"
    return f"0000{digest[:4]}-00{digest[4:18]}"


def product(device: Device) -> str:
    return PRODUCTS.get(device.model) or FAMILY_PRODUCTS.get(device.device_family, "iPhone17,3")


def machine_info(device: Device, *, language: str) -> dict[str, Any]:
    os_version, build = OS_BUILDS.get(device.os, OS_BUILDS["iOS"])
    info: dict[str, Any] = {
        "UDID": udid(device),
        "SERIAL": device.serial_number,
        "PRODUCT": product(device),
        "VERSION": build,
        "OS_VERSION": os_version,
        "LANGUAGE": language,
        "MDM_CAN_REQUEST_SOFTWARE_UPDATE": True,
    }
    if device.imei:
        info["IMEI"] = device.imei[0]
    if device.meid:
        info["MEID"] = device.meid[0]
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
