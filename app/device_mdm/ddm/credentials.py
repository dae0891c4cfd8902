"""Identity credential assets (device-2026.md §6.1; Apple's `AssetCredentialACME`): the device
makes an identity from the asset's data when a configuration needs it.

`com.apple.asset.credential.acme`: `Reference.DataURL` serves a JSON `ACMECredential` (the fields
of the `com.apple.security.acme` payload: DirectoryURL, ClientIdentifier, KeySize, KeyType,
HardwareBound, Subject, SubjectAltName, UsageFlags, ExtendedKeyUsage, Attest); the data is
fetched and verified like any asset, then the device runs the ACME exchange of §6.2 (acme.py)
and keeps the identity. The identity is renewed at a sync once it has passed `RENEW_AT` of its
validity (Apple does not document when a device renews an ACME identity [INFER]). A failure is
reported on the asset: data that is not an ACMECredential → `Error.AssetCannotBeDeserialized`;
an ACME server's refusal → `Error.AssetCannotBeDownloaded` with the server's problem in
`details.Error`; a credential the device refuses before any request (`Attest` without
`HardwareBound`, a key size it cannot make) → `Error.AssetCannotBeDeserialized` (our mapping [INFER]).
"""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable
from datetime import datetime
from typing import Any

ACME = "com.apple.asset.credential.acme"
IDENTITY_ASSETS = {ACME}
RENEW_AT = 0.8  # of the certificate's validity

# (ACMECredential) -> (the identity as the device keeps it, None, False), or (None, why it failed,
# whether the credential itself is unusable, as profile installation would refuse it)
Obtain = Callable[[dict[str, Any]], Awaitable[tuple[dict[str, Any] | None, str | None, bool]]]


def credential(body: bytes) -> dict[str, Any] | str:
    """The ACMECredential in the asset's data, or why it is not one."""
    try:
        document = json.loads(body)
    except ValueError:
        return "the asset data is not JSON"
    if not isinstance(document, dict):
        return "the asset data is not a JSON object"
    return document


def renewal_due(identity: dict[str, Any] | None, now: datetime | None) -> bool:
    """The kept identity has passed RENEW_AT of its validity (on the emulator clock)."""
    if identity is None or now is None:
        return False
    start = datetime.fromisoformat(identity["not_before"])
    end = datetime.fromisoformat(identity["not_after"])
    return now >= start + (end - start) * RENEW_AT


async def resolve(
    body: bytes, obtain: Obtain | None, reason: Callable[..., dict[str, Any]]
) -> tuple[list[dict[str, Any]], dict[str, Any] | None]:
    """(the asset's failure reasons, the identity obtained) for verified ACME asset data."""
    found = credential(body)
    if isinstance(found, str):
        return [reason("Error.AssetCannotBeDeserialized", Error=found)], None
    if obtain is None:
        return [reason("Error.AssetCannotBeDownloaded", Error="this device cannot run ACME here")], None
    identity, problem, unusable = await obtain(found)
    if identity is None:
        code = "Error.AssetCannotBeDeserialized" if unusable else "Error.AssetCannotBeDownloaded"
        return [reason(code, Error=problem or "no identity")], None
    return [], identity
