"""Reading a configuration profile (.mobileconfig) as a device installs it.

A profile is a property list (XML or binary), optionally CMS-signed; its `PayloadContent`
lists payloads by `PayloadType`. Enrollment needs a `com.apple.mdm` payload, an identity
(`com.apple.security.scep`, or `com.apple.security.pkcs12` with its `Password`) that the MDM
payload's `IdentityCertificateUUID` names, and trusts the certificates of
`com.apple.security.root`, `.pem` and `.pkcs1` payloads.
"""

from __future__ import annotations

import plistlib
from dataclasses import dataclass, field
from typing import Any

from cryptography import x509

from ..device_setup.cms import CmsError, open_signed

MDM = "com.apple.mdm"
SCEP = "com.apple.security.scep"
PKCS12 = "com.apple.security.pkcs12"
ACME = "com.apple.security.acme"  # device-2026.md §6.1
ANCHOR_TYPES = ("com.apple.security.root", "com.apple.security.pem", "com.apple.security.pkcs1")


class ProfileError(ValueError):
    """The profile cannot be installed; the message says why, in words."""


@dataclass
class Profile:
    document: dict[str, Any]
    raw: bytes
    signed: bool = False
    signer: str | None = None
    signature_valid: bool | None = None
    signature_problem: str | None = None
    anchors: list[x509.Certificate] = field(default_factory=list)

    @property
    def identifier(self) -> str:
        return str(self.document.get("PayloadIdentifier") or "")

    @property
    def payloads(self) -> list[dict[str, Any]]:
        return [p for p in self.document.get("PayloadContent") or [] if isinstance(p, dict)]

    def payload(self, payload_type: str, uuid: Any = None) -> dict[str, Any] | None:
        matches = [p for p in self.payloads if p.get("PayloadType") == payload_type]
        by_uuid = [p for p in matches if uuid is not None and p.get("PayloadUUID") == uuid]
        found = by_uuid or matches
        return found[0] if found else None

    def summary(self) -> dict[str, Any]:
        """The profile as ProfileList reports it (Apple's keys)."""
        return {
            "PayloadIdentifier": self.identifier,
            "PayloadUUID": str(self.document.get("PayloadUUID") or ""),
            "PayloadDisplayName": str(self.document.get("PayloadDisplayName") or self.identifier),
            "PayloadVersion": _version(self.document.get("PayloadVersion")),
            "PayloadRemovalDisallowed": bool(self.document.get("PayloadRemovalDisallowed", False)),
            "IsManaged": True,
            "IsEncrypted": False,
            "HasRemovalPasscode": False,
            "PayloadContent": [
                {
                    "PayloadType": str(p.get("PayloadType") or ""),
                    "PayloadIdentifier": str(p.get("PayloadIdentifier") or ""),
                    "PayloadUUID": str(p.get("PayloadUUID") or ""),
                    "PayloadVersion": _version(p.get("PayloadVersion")),
                }
                for p in self.payloads
            ],
        }


def _version(value: Any) -> int:
    """PayloadVersion as ProfileList reports it (1 when the MDM sent something else)."""
    return value if isinstance(value, int) and not isinstance(value, bool) and 0 < value < 2**31 else 1


def parse(raw: bytes) -> Profile:
    """The profile in `raw` (signed or not); ProfileError if it is not a profile."""
    signed = None
    try:
        document = plistlib.loads(raw)
    except Exception:  # plistlib raises several types on garbage
        try:
            signed = open_signed(raw)
        except CmsError as exc:
            raise ProfileError("the profile is neither a property list nor a CMS-signed one") from exc
        try:
            document = plistlib.loads(signed.content)
        except Exception as exc:
            raise ProfileError("the signed profile's content is not a property list") from exc
    if not isinstance(document, dict) or document.get("PayloadType") != "Configuration":
        raise ProfileError("the property list is not a configuration profile (PayloadType Configuration)")
    if not isinstance(document.get("PayloadContent"), list):
        raise ProfileError("the profile has no PayloadContent array")
    profile = Profile(document=document, raw=raw)
    if signed is not None:
        profile.signed = True
        profile.signer = signed.signer.subject.rfc4514_string() if signed.signer else None
        profile.signature_valid = signed.signature_valid
        profile.signature_problem = signed.problem
    profile.anchors = _anchors(profile)
    return profile


def _anchors(profile: Profile) -> list[x509.Certificate]:
    anchors = []
    for payload in profile.payloads:
        if payload.get("PayloadType") not in ANCHOR_TYPES:
            continue
        content = payload.get("PayloadContent")
        if not isinstance(content, bytes):
            raise ProfileError(f"the certificate payload {payload.get('PayloadIdentifier')!r} holds no data")
        try:
            if content.lstrip().startswith(b"-----BEGIN"):
                anchors.append(x509.load_pem_x509_certificate(content))
            else:
                anchors.append(x509.load_der_x509_certificate(content))
        except ValueError as exc:
            raise ProfileError(
                f"the certificate payload {payload.get('PayloadIdentifier')!r} is not a certificate"
            ) from exc
    return anchors


def enrollment_payloads(profile: Profile) -> tuple[dict[str, Any], dict[str, Any]]:
    """(the com.apple.mdm payload, the identity payload it names); ProfileError if either is missing."""
    mdm = profile.payload(MDM)
    if mdm is None:
        raise ProfileError("the profile has no com.apple.mdm payload: there is nothing to enroll with")
    for key in ("ServerURL", "Topic"):
        if not isinstance(mdm.get(key), str) or not mdm[key]:
            raise ProfileError(f"the com.apple.mdm payload has no {key}")
    uuid = mdm.get("IdentityCertificateUUID")
    identity = profile.payload(SCEP, uuid) or profile.payload(PKCS12, uuid) or profile.payload(ACME, uuid)
    if identity is None:
        raise ProfileError(
            "the profile has no identity payload "
            "(com.apple.security.scep, com.apple.security.pkcs12 or com.apple.security.acme)"
        )
    return mdm, identity
