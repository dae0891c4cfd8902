"""Server token files (``*_Token_*_smime.p7m``) exactly as Apple formats them (spec §3.2–§3.4).

Pure functions, no I/O:

* the PEM certificate an MDM vendor uploads is parsed by dep_emulator.core.certificates;
* :func:`build_token_inner` builds the decrypted content (MIME part + JSON between markers);
* :func:`envelope_server_token` wraps it into the S/MIME ``.p7m`` file.

The CMS EnvelopedData is written by hand with the tiny ASN.1 helpers below. Apple's real
tokens are BER with indefinite lengths (base64 starts ``MIAGCSqGSIb3DQEHA6CA``), version 0,
one KeyTransRecipientInfo (issuerAndSerialNumber, rsaEncryption PKCS#1 v1.5) and AES-128-CBC
content encryption. ``cryptography``'s ``PKCS7EnvelopeBuilder`` emits DER and does not let us
pick AES-128, and there is no ASN.1 library dependency, so we encode the few structures
ourselves; ``cryptography`` only does the AES and RSA primitives.
"""

from __future__ import annotations

import base64
import json
import os

from cryptography import x509
from cryptography.hazmat.primitives import padding
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.hazmat.primitives.asymmetric.padding import PKCS1v15
from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes

from ..core import certificates

__all__ = [
    "TOKEN_KEYS",
    "build_token_inner",
    "envelope_server_token",
]

TOKEN_KEYS = ("consumer_key", "consumer_secret", "access_token", "access_secret", "access_token_expiry")

_MIME_HEADERS = (
    b'Content-Type: application/pkcs7-mime; name="smime.p7m"; smime-type=enveloped-data\n'
    b"Content-Transfer-Encoding: base64\n"
    b'Content-Disposition: attachment; filename="smime.p7m"\n'
    b"Content-Description: S/MIME Encrypted Message\n"
)
_INNER_HEADERS = b"Content-Type: text/plain;charset=UTF-8\r\nContent-Transfer-Encoding: 7bit\r\n\r\n"

_OID_ENVELOPED_DATA = "1.2.840.113549.1.7.3"
_OID_DATA = "1.2.840.113549.1.7.1"
_OID_RSA_ENCRYPTION = "1.2.840.113549.1.1.1"
_OID_AES128_CBC = "2.16.840.1.101.3.4.1.2"
_CHUNK = 1024  # encryptedContent OCTET STRING chunk size when streamed (as openssl does)


def build_token_inner(credentials: dict[str, str]) -> bytes:
    """The decrypted token content byte-for-byte as in Apple's real tokens (spec §3.3)."""
    missing = [k for k in TOKEN_KEYS if k not in credentials]
    extra = sorted(set(credentials) - set(TOKEN_KEYS))
    if missing or extra:
        raise ValueError(f"Token credentials mismatch: missing {missing}, unexpected {extra}.")
    body = json.dumps({k: credentials[k] for k in TOKEN_KEYS}, separators=(",", ":"))
    return _INNER_HEADERS + b"-----BEGIN MESSAGE-----\n" + body.encode("ascii") + b"\n-----END MESSAGE-----\n"


def envelope_server_token(certificate: x509.Certificate, inner: bytes) -> bytes:
    """The whole ``.p7m`` file: S/MIME headers, blank line, base64 (76 columns) of BER EnvelopedData."""
    public_key = certificate.public_key()
    if not isinstance(public_key, rsa.RSAPublicKey):
        raise certificates.InvalidCertificate("The certificate's public key must be RSA.")

    key, iv = os.urandom(16), os.urandom(16)
    padder = padding.PKCS7(128).padder()
    padded = padder.update(inner) + padder.finalize()
    encryptor = Cipher(algorithms.AES(key), modes.CBC(iv)).encryptor()
    ciphertext = encryptor.update(padded) + encryptor.finalize()
    encrypted_key = public_key.encrypt(key, PKCS1v15())

    recipient_info = _der(  # KeyTransRecipientInfo, rid = issuerAndSerialNumber
        0x30,
        _integer(0),
        _der(0x30, certificate.issuer.public_bytes(), _integer(certificate.serial_number)),
        _der(0x30, _oid(_OID_RSA_ENCRYPTION), _der(0x05)),
        _der(0x04, encrypted_key),
    )
    chunks = [_der(0x04, ciphertext[i : i + _CHUNK]) for i in range(0, len(ciphertext), _CHUNK)]
    encrypted_content_info = _ber(
        0x30,
        _oid(_OID_DATA),
        _der(0x30, _oid(_OID_AES128_CBC), _der(0x04, iv)),
        _ber(0xA0, *chunks),  # [0] IMPLICIT OCTET STRING, constructed (streamed like openssl)
    )
    enveloped_data = _ber(0x30, _integer(0), _der(0x31, recipient_info), encrypted_content_info)
    content_info = _ber(0x30, _oid(_OID_ENVELOPED_DATA), _ber(0xA0, enveloped_data))

    return _MIME_HEADERS + b"\n" + base64.encodebytes(content_info)


# --- minimal ASN.1 encoding ------------------------------------------------------------


def _der(tag: int, *parts: bytes) -> bytes:
    """Definite-length TLV."""
    content = b"".join(parts)
    n = len(content)
    if n < 0x80:
        length = bytes([n])
    else:
        raw = n.to_bytes((n.bit_length() + 7) // 8, "big")
        length = bytes([0x80 | len(raw)]) + raw
    return bytes([tag]) + length + content


def _ber(tag: int, *parts: bytes) -> bytes:
    """Indefinite-length constructed TLV (BER): tag, 0x80, contents, end-of-contents."""
    return bytes([tag, 0x80]) + b"".join(parts) + b"\x00\x00"


def _integer(value: int) -> bytes:
    magnitude = value if value >= 0 else ~value
    return _der(0x02, value.to_bytes(magnitude.bit_length() // 8 + 1, "big", signed=True))


def _oid(dotted: str) -> bytes:
    first, second, *rest = (int(x) for x in dotted.split("."))
    out = bytearray([40 * first + second])
    for arc in rest:
        group = [arc & 0x7F]
        while arc := arc >> 7:
            group.append(0x80 | (arc & 0x7F))
        out += bytes(reversed(group))
    return _der(0x06, bytes(out))
