"""The certificate an MDM vendor uploads for its server: one PEM X.509 certificate with an RSA key.

On the ground floor because the org's server record checks it on upload (dep_emulator.orgs)
and the server token is encrypted to it (dep_emulator.tokens.smime).
"""

from __future__ import annotations

from cryptography import x509
from cryptography.hazmat.primitives.asymmetric import rsa


class InvalidCertificate(ValueError):
    """The uploaded data is not a single PEM X.509 certificate with an RSA public key."""


def load_certificate(pem: bytes | str) -> x509.Certificate:
    """Parse a PEM certificate; raise InvalidCertificate unless it is exactly one RSA X.509 certificate."""
    data = pem.encode() if isinstance(pem, str) else bytes(pem)
    if b"PRIVATE KEY-----" in data:  # the commonest mistake: the key kept by the MDM, not its certificate
        raise InvalidCertificate(
            "This is a private key: upload the public key certificate "
            "('-----BEGIN CERTIFICATE-----'), and keep the private key on your MDM server."
        )
    try:
        certs = x509.load_pem_x509_certificates(data)
    except ValueError:
        raise InvalidCertificate(
            "Not a PEM X.509 certificate (expected a '-----BEGIN CERTIFICATE-----' block)."
        ) from None
    if len(certs) != 1:
        raise InvalidCertificate(f"Expected exactly one certificate, found {len(certs)}.")
    try:
        key = certs[0].public_key()
    except ValueError:
        key = None
    if not isinstance(key, rsa.RSAPublicKey):
        raise InvalidCertificate(
            "The certificate's public key must be RSA (Apple encrypts the token with RSA)."
        )
    return certs[0]
