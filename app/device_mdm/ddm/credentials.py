"""Identity credential assets (device-2026.md §6.1; Apple's `AssetCredentialACME`): the device
makes an identity from the asset's data when a configuration needs it.

`com.apple.asset.credential.acme`: `Reference.DataURL` serves a JSON `ACMECredential` (the fields
of the `com.apple.security.acme` payload: DirectoryURL, ClientIdentifier, KeySize, KeyType,
HardwareBound, Subject, SubjectAltName, UsageFlags, ExtendedKeyUsage, Attest); the data is
fetched and verified like any asset, then the device runs the ACME exchange of §6.2 (acme.py)
and keeps the identity. `com.apple.asset.credential.scep` the same way with a JSON `SCEPCredential`
(the keys of the `com.apple.security.scep` payload's PayloadContent: URL, Name, Challenge, Keysize,
Subject, ...) and the SCEP exchange of enrollment (scep.py); an SCEP server's refusal is reported
like an ACME server's. `com.apple.asset.credential.identity`: a JSON `IdentityCredential`,
`{"Password": …, "Identity": base64 of the PKCS#12}`, opened as a PKCS#12 payload is (a wrong
password or unreadable data → `Error.AssetCannotBeDeserialized`). An ACME or SCEP identity is
renewed at a sync once it has passed `RENEW_AT` of its validity (Apple does not document when a
device renews an ACME identity [INFER]); a PKCS#12 one is not. A failure is
reported on the asset: data that is not an ACMECredential → `Error.AssetCannotBeDeserialized`;
an ACME server's refusal → `Error.AssetCannotBeDownloaded` with the server's problem in
`details.Error`; a credential the device refuses before any request (`Attest` without
`HardwareBound`, a key size it cannot make) → `Error.AssetCannotBeDeserialized` (our mapping [INFER]).
"""

from __future__ import annotations

import base64
import json
from collections.abc import Awaitable, Callable
from datetime import datetime
from typing import Any

from cryptography import x509
from cryptography.hazmat.primitives import serialization

from ...attestation.attestor import Attestor
from ...clock import service as clock
from .. import acme
from .. import profile as profiles
from ..enrollment import Attempt, EnrollmentFailed, identity_from_payload

ACME = "com.apple.asset.credential.acme"
SCEP = "com.apple.asset.credential.scep"
IDENTITY = "com.apple.asset.credential.identity"
IDENTITY_ASSETS = {ACME, SCEP, IDENTITY}
RENEW_AT = 0.8  # of the certificate's validity

# (asset type, credential) -> (the identity as the device keeps it, None, False), or (None, why it
# failed, whether the credential itself is unusable, as profile installation would refuse it)
Obtain = Callable[[str, dict[str, Any]], Awaitable[tuple[dict[str, Any] | None, str | None, bool]]]


def credential(body: bytes) -> dict[str, Any] | str:
    """The ACMECredential or SCEPCredential in the asset's data, or why it is not one."""
    try:
        document = json.loads(body)
    except ValueError:
        return "the asset data is not JSON"
    if not isinstance(document, dict):
        return "the asset data is not a JSON object"
    return document


def renewal_due(identity: dict[str, Any] | None, now: datetime | None) -> bool:
    """The kept identity has passed RENEW_AT of its validity (on the emulator clock)."""
    if identity is None or now is None or not identity.get("renewable", True):
        return False  # a PKCS#12 identity is what the MDM gave: only the MDM replaces it
    start = datetime.fromisoformat(identity["not_before"])
    end = datetime.fromisoformat(identity["not_after"])
    return now >= start + (end - start) * RENEW_AT


async def resolve(
    asset_type: str, body: bytes, obtain: Obtain | None, reason: Callable[..., dict[str, Any]]
) -> tuple[list[dict[str, Any]], dict[str, Any] | None]:
    """(the asset's failure reasons, the identity obtained) for verified credential asset data."""
    found = credential(body)
    if isinstance(found, str):
        return [reason("Error.AssetCannotBeDeserialized", Error=found)], None
    if obtain is None:
        return [
            reason("Error.AssetCannotBeDownloaded", Error="this device cannot obtain identities here")
        ], None
    identity, problem, unusable = await obtain(asset_type, found)
    if identity is None:
        code = "Error.AssetCannotBeDeserialized" if unusable else "Error.AssetCannotBeDownloaded"
        return [reason(code, Error=problem or "no identity")], None
    return [], identity


async def obtain(
    asset_type: str,
    credential: dict[str, Any],
    *,
    anchors: list[x509.Certificate],
    attestor: Attestor | None,
    timeout_seconds: float,
    steps: list[dict[str, Any]],
) -> tuple[dict[str, Any] | None, str | None, bool]:
    """A credential asset's identity from its ACME (device-2026.md §6.2; acme.py) or SCEP server
    (scep.py), the exchange's steps recorded."""
    if attestor is None:
        return None, "the device has no attestation state in this poll", False
    if asset_type == ACME:
        problem = acme.check_payload(credential, attestor.capability)
        if problem is not None:
            steps.append(_step("acme.payload", problem))
            return None, problem, True
    if asset_type == IDENTITY:
        try:
            credential = {
                "PayloadType": profiles.PKCS12,
                "PayloadContent": base64.b64decode(str(credential.get("Identity")), validate=True),
                "Password": credential.get("Password"),
            }
        except ValueError:
            return None, "the IdentityCredential's Identity is not base64", True
    attempt = Attempt()
    try:
        if asset_type == ACME:
            got = await acme.obtain(
                attempt,
                credential,
                anchors,
                attestor=attestor,
                timeout_seconds=timeout_seconds,
            )
        else:
            got = await identity_from_payload(
                attempt,
                credential,
                anchors,
                timeout_seconds=timeout_seconds,
                now=attestor.now,
                pending_retries=0,
            )
    except EnrollmentFailed as exc:
        return None, str(exc), asset_type == IDENTITY  # a PKCS#12 that does not open
    except (KeyError, TypeError, ValueError) as exc:  # a server's answer of the wrong shape
        return None, f"the server's answer cannot be used: {exc!r}", False
    finally:
        steps.extend(attempt.steps)
    certificate = got.certificate
    return (
        {
            "subject": certificate.subject.rfc4514_string(),
            "issuer": certificate.issuer.rfc4514_string(),
            "serial": format(certificate.serial_number, "x"),
            "not_before": certificate.not_valid_before_utc.isoformat(),
            "not_after": certificate.not_valid_after_utc.isoformat(),
            "hardware_bound": bool(credential.get("HardwareBound")),
            "renewable": asset_type != IDENTITY,
            "attested": asset_type == ACME
            and bool(credential.get("Attest"))
            and attestor.capability == "attest",
            "certificate_pem": certificate.public_bytes(serialization.Encoding.PEM).decode(),
        },
        None,
        False,
    )


def _step(step: str, detail: str) -> dict[str, Any]:
    return {
        "wall_at": clock.wall_now(),
        "step": step,
        "url": None,
        "status": None,
        "ok": False,
        "detail": detail,
        "command_uuid": None,
        "sent": None,
        "answered": None,
    }
