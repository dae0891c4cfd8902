"""What a device runs and what it is, beyond Apple's DEP record: product type, OS version and
build, Rapid Security Response, and the part number (device-2026.md §1.3, §1.4; issue 29 item 10).

The device row keeps `product_type`, `os_version`, `os_build` and `os_supplemental_extra`;
null means "what a fresh device of this model runs": the product type of its model and the
26.5 family for its platform. A value is chosen by a test or seed file (older OS for a
software-update test) or changed by the device itself (it updates when the MDM asks, §2.1).

None of these is in DEP's Device object, so changing them writes no feed event; the Business
API's orgDevices shows `productType` and `partNumber` (derived here, deterministic per model,
colour, storage and region, hence per generator seed).
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass
from typing import Protocol

# Hardware model identifiers (device-2026.md §1.4 and public model tables).
PRODUCT_TYPES = {
    "iPhone 17 Pro": "iPhone18,1",
    "iPhone 17 Pro Max": "iPhone18,2",
    "iPhone 17": "iPhone18,3",
    "iPhone Air": "iPhone18,4",
    "iPhone 17e": "iPhone18,5",
    "iPhone 16e": "iPhone17,5",
    "iPhone 16 Pro": "iPhone17,1",
    "iPhone 16 Pro Max": "iPhone17,2",
    "iPhone 16": "iPhone17,3",
    "iPhone 16 Plus": "iPhone17,4",
    "iPhone 15 Pro": "iPhone16,1",
    "iPhone 15": "iPhone15,4",
    "iPhone 14": "iPhone14,7",
    "iPhone 13": "iPhone14,5",
    "iPhone SE (3rd generation)": "iPhone14,6",
    "iPhone 12": "iPhone13,2",
    "iPhone 8": "iPhone10,1",
    "iPad Pro 13-inch (M4)": "iPad16,5",
    "iPad Pro 11-inch (M4)": "iPad16,3",
    "iPad (A16)": "iPad15,7",
    "iPad Air 11-inch (M2)": "iPad14,8",
    "iPad (10th generation)": "iPad13,18",
    "iPad mini (6th generation)": "iPad14,1",
    "iPad (9th generation)": "iPad12,1",
    "iPad mini 4": "iPad5,1",
    "MacBook Pro 14-inch (M5)": "Mac17,2",
    "MacBook Pro 14-inch": "Mac15,3",
    "MacBook Pro 16-inch": "Mac15,7",
    "MacBook Air 13-inch (M4)": "Mac16,12",
    "MacBook Air 15-inch (M4)": "Mac16,13",
    "MacBook Air 13-inch (M2)": "Mac14,2",
    "MacBook Air 15-inch (M3)": "Mac15,13",
    "MacBook Air": "Mac16,12",
    "Mac mini (M4)": "Mac16,10",
    "Mac mini": "Mac14,3",
    "iMac": "Mac15,4",
    "Mac Studio": "Mac14,13",
    "MacBook Pro 13-inch": "MacBookPro17,1",
    "Apple TV 4K": "AppleTV14,1",
    "Apple TV HD": "AppleTV5,3",
    "Apple Vision Pro": "RealityDevice14,1",
    "Apple Vision Pro (M5)": "RealityDevice17,1",
    "iPod touch": "iPod9,1",
}
FAMILY_PRODUCT_TYPES = {
    "iPhone": "iPhone17,3",
    "iPad": "iPad13,18",
    "Mac": "Mac15,3",
    "AppleTV": "AppleTV14,1",
    "Vision": "RealityDevice14,1",
    "iPod": "iPod9,1",
}
# A product type names its family by its prefix ("iPhone18,3", "Mac17,2", "MacBookPro17,1").
_PRODUCT_PREFIX = {
    "iPhone": ("iPhone",),
    "iPad": ("iPad",),
    "Mac": ("Mac", "iMac"),
    "AppleTV": ("AppleTV",),
    "Vision": ("RealityDevice",),
    "iPod": ("iPod",),
}
PRODUCT_TYPE_PATTERN = re.compile(r"^[A-Za-z]+\d{1,3},\d{1,3}$")
# Board IDs Macs report as SOFTWARE_UPDATE_DEVICE_ID (gdmf.apple.com lists Macs by them).
# Only J413AP (Mac14,2) is observed (Zentral's fixture); the others follow Apple's naming, unverified.
BOARD_IDS = {
    "Mac14,2": "J413AP",
    "Mac14,3": "J473AP",
    "Mac14,13": "J475cAP",
    "Mac15,3": "J504AP",
    "Mac15,4": "J433AP",
    "Mac15,7": "J516sAP",
    "Mac15,13": "J515AP",
    "Mac16,10": "J773gAP",
    "Mac16,12": "J713AP",
    "Mac16,13": "J715AP",
    "Mac17,2": "J614sAP",
    "MacBookPro17,1": "J293AP",
}

# (version, build) per platform, oldest first; the last 26.x line marked DEFAULT is what a fresh
# device runs. 26.x per device-2026.md §1.3 (builds marked there as unverified stay so here);
# the older lines let a test start a device on an OS before MachineInfo's newer keys.
OS_RELEASES: dict[str, tuple[tuple[str, str], ...]] = {
    "iOS": (
        ("16.7", "20H19"), ("17.4", "21E219"), ("17.5", "21F79"), ("18.1", "22B83"),
        ("26.0", "23A341"), ("26.1", "23B85"), ("26.2", "23C55"), ("26.3", "23D127"),
        ("26.4", "23E246"), ("26.4.2", "23E261"), ("26.5", "23F77"), ("26.6", "23G93"),
    ),
    "OSX": (
        ("13.6", "22G120"), ("14.4", "23E214"), ("14.5", "23F79"), ("15.1", "24B83"),
        ("26.0", "25A354"), ("26.1", "25B78"), ("26.2", "25C56"), ("26.3", "25D125"),
        ("26.4", "25E246"), ("26.5", "25F71"), ("26.5.1", "25F80"),
    ),
    "tvOS": (("17.5", "21L569"), ("18.1", "22J580"), ("26.1", "23J582"), ("26.5", "23L471")),
    "visionOS": (("1.2", "21O589"), ("2.1", "22N580"), ("26.1", "23N45"), ("26.5", "23O471")),
}  # fmt: skip
OS_RELEASES["iPadOS"] = OS_RELEASES["iOS"]
DEFAULT_VERSION = {"iOS": "26.5", "iPadOS": "26.5", "OSX": "26.5.1", "tvOS": "26.5", "visionOS": "26.5"}
VERSION_PATTERN = re.compile(r"^\d{1,2}\.\d{1,2}(\.\d{1,2})?$")
BUILD_PATTERN = re.compile(r"^\d{2}[A-Z]\d{1,5}[a-z]?$")
SUPPLEMENTAL_PATTERN = re.compile(r"^\([a-z]\)$")
SOFTWARE_FIELDS = ("product_type", "os_version", "os_build", "os_supplemental_extra")


class _Record(Protocol):
    model: str
    device_family: str
    os: str
    color: str
    description: str
    product_type: str | None
    os_version: str | None
    os_build: str | None
    os_supplemental_extra: str | None


@dataclass(frozen=True, slots=True)
class Software:
    """The device's effective product type, OS and Rapid Security Response."""

    product_type: str
    os_version: str
    os_build: str
    supplemental_extra: str | None  # e.g. "(a)" while a Rapid Security Response is applied

    @property
    def supplemental_build(self) -> str:
        """SUPPLEMENTAL_BUILD_VERSION: the build, with the RSR's letter when one is applied."""
        if self.supplemental_extra:
            return self.os_build + self.supplemental_extra.strip("()")
        return self.os_build


def version_key(version: str) -> tuple[int, ...]:
    return tuple(int(part) for part in version.split("."))


def build_for(os: str, version: str) -> str | None:
    """The build of `version` on this platform, or None when the table does not know it."""
    return dict(OS_RELEASES.get(os, ())).get(version)


def known_versions(os: str) -> list[str]:
    return [version for version, _ in OS_RELEASES.get(os, ())]


def default_product_type(model: str, family: str) -> str:
    return PRODUCT_TYPES.get(model) or FAMILY_PRODUCT_TYPES.get(family, "iPhone17,3")


def effective(device: _Record) -> Software:
    """What the device is and runs now: its stored values, else a fresh device's."""
    os = device.os if device.os in DEFAULT_VERSION else "iOS"
    version = device.os_version or DEFAULT_VERSION[os]
    build = device.os_build or build_for(os, version) or ""
    return Software(
        product_type=device.product_type or default_product_type(device.model, device.device_family),
        os_version=version,
        os_build=build,
        supplemental_extra=device.os_supplemental_extra,
    )


def check_product_type(product_type: str, family: str) -> str | None:
    """Why `product_type` cannot be this family's, or None."""
    if not PRODUCT_TYPE_PATTERN.match(product_type):
        return f"product_type {product_type!r} is not an identifier like iPhone18,3 or Mac17,2"
    prefixes = _PRODUCT_PREFIX.get(family, ())
    if not any(product_type.startswith(p) and product_type[len(p)].isdigit() for p in prefixes):
        return f"product_type {product_type!r} is not a {family} (expected {' or '.join(prefixes)}N,M)"
    return None


def resolve_os(os: str, version: str, build: str | None) -> tuple[str, str]:
    """(version, build) to store; ValueError in words when the table has no build and none is given."""
    if not VERSION_PATTERN.match(version):
        raise ValueError(f"os_version {version!r} is not a version like 26.5 or 26.4.2")
    if build is not None:
        if not BUILD_PATTERN.match(build):
            raise ValueError(f"os_build {build!r} is not a build like 23F77")
        return version, build
    found = build_for(os, version)
    if found is None:
        raise ValueError(
            f"{os} {version} is not in the emulator's release table "
            f"(known: {', '.join(known_versions(os))}); give os_build too"
        )
    return version, found


# --- part numbers ---------------------------------------------------------------------------

# Apple's part numbers: M + four characters + region suffix (MYMJ3LL/A). The suffix follows the
# region in the SKU description; the four characters are a stable function of model, colour and
# storage, so one SKU has one part number, as at Apple.
_REGION_SUFFIX = {
    "USA": "LL/A", "CAN": "VC/A", "GBR": "B/A", "AUS": "X/A", "JPN": "J/A", "ZDD": "ZD/A", "ZML": "ZP/A",
}  # fmt: skip
_PART_ALPHABET = "0123456789ACDEFGHJKLMNPQRTUVWXY"
_STORAGE = re.compile(r"\b(\d+(?:GB|TB))\b")


def part_number(model: str, color: str, description: str) -> str:
    """A part number consistent with the device's model, colour, storage and region."""
    storage = _STORAGE.search(description or "")
    region = next((r for r in _REGION_SUFFIX if (description or "").endswith("-" + r)), "USA")
    cellular = "CELLULAR" in (description or "")
    key = f"{model}\0{color}\0{storage.group(1) if storage else ''}\0{cellular}".encode()
    digest = hashlib.blake2b(key, digest_size=8).digest()
    body = "".join(_PART_ALPHABET[b % len(_PART_ALPHABET)] for b in digest[:3])
    return f"M{body}{digest[3] % 10}{_REGION_SUFFIX[region]}"


def apply(device: _Record, values: dict[str, object]) -> None:
    """Set the software fields given in `values` (others untouched); ValueError in words.

    A new `os_version` without `os_build` takes the table's build; a new product type must be
    one of the device's family. A null resets to the fresh device's value."""
    family = str(values.get("device_family") or device.device_family)
    os = str(values.get("os") or device.os)
    if values.get("product_type") is not None:
        problem = check_product_type(str(values["product_type"]), family)
        if problem:
            raise ValueError(problem)
    if "product_type" in values:
        device.product_type = values["product_type"]  # type: ignore[assignment]
    extra = values.get("os_supplemental_extra")
    if extra is not None and not SUPPLEMENTAL_PATTERN.match(str(extra)):
        raise ValueError(f'os_supplemental_extra {extra!r} is not a Rapid Security Response like "(a)"')
    if "os_version" in values or "os_build" in values:
        version = values.get("os_version", device.os_version)
        build = values.get("os_build")
        if version is None:
            if build is not None:
                raise ValueError("os_build needs os_version")
            device.os_version = device.os_build = None
        else:
            chosen = None if build is None else str(build)
            device.os_version, device.os_build = resolve_os(os, str(version), chosen)
        if "os_supplemental_extra" not in values:
            device.os_supplemental_extra = None  # a new OS drops the RSR applied to the old one
    if "os_supplemental_extra" in values:
        device.os_supplemental_extra = extra  # type: ignore[assignment]
