"""The API account's private key file, in the form Apple's portal hands it out (issue 29 item 12).

Apple's `.pem` download is PKCS#8 content under `-----BEGIN EC PRIVATE KEY-----` markers (the label
of SEC1, RFC 5915, over a PKCS#8 body, RFC 5208). NanoAXM (micromdm/nanoaxm
`cryptoutil/cryptoutil.go`) accepts only that label; PyJWT and `cryptography` refuse it and need
the standard `PRIVATE KEY` label. The emulator hands out Apple's form by default and the standard
one on request, and reads both (and true SEC1) wherever it reads a private key.
"""

from __future__ import annotations

from typing import Literal

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec

KeyFormat = Literal["apple", "pkcs8"]
APPLE_LABEL, PKCS8_LABEL = "EC PRIVATE KEY", "PRIVATE KEY"


def _relabel(pem: str, old: str, new: str) -> str:
    return pem.replace(f"-----BEGIN {old}-----", f"-----BEGIN {new}-----").replace(
        f"-----END {old}-----", f"-----END {new}-----"
    )


def private_key_file(key: ec.EllipticCurvePrivateKey, key_format: KeyFormat = "apple") -> str:
    """The key as a `.pem` file: PKCS#8 content, under Apple's label unless `pkcs8` is asked for."""
    pem = key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    ).decode()
    return _relabel(pem, PKCS8_LABEL, APPLE_LABEL) if key_format == "apple" else pem


def load_private_key(pem: str) -> ec.EllipticCurvePrivateKey:
    """A P-256 private key from Apple's file, a standard PKCS#8 file or a SEC1 file; ValueError otherwise."""
    data = pem.strip()
    candidates = [data]
    if f"-----BEGIN {APPLE_LABEL}-----" in data:  # Apple's label may cover PKCS#8 (Apple) or SEC1 content
        candidates.append(_relabel(data, APPLE_LABEL, PKCS8_LABEL))
    for candidate in candidates:
        try:
            key = serialization.load_pem_private_key(candidate.encode(), password=None)
        except (ValueError, TypeError):
            continue
        if isinstance(key, ec.EllipticCurvePrivateKey) and isinstance(key.curve, ec.SECP256R1):
            return key
        raise ValueError("not an EC P-256 private key")
    raise ValueError("not a PEM private key")
