"""CMS EnvelopedData (RFC 5652 §6) as SCEP uses it: key transport to an RSA certificate.

A SCEP request's CSR is sealed to the CA (or its RA); the issued certificate comes back sealed
to the requester's throwaway certificate. Structures from asn1crypto, ciphers from
`cryptography`: AES-CBC, triple DES and single DES (older CAs), PKCS#7 padding.
"""

from __future__ import annotations

import os
from typing import Any

from asn1crypto import algos, cms, core
from asn1crypto import x509 as asn1_x509
from cryptography import x509
from cryptography.hazmat.decrepit.ciphers.algorithms import TripleDES
from cryptography.hazmat.primitives import padding, serialization
from cryptography.hazmat.primitives.asymmetric import padding as asym_padding
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes


class EnvelopeError(ValueError):
    pass


def seal(content: bytes, recipient: x509.Certificate, *, aes: bool) -> cms.ContentInfo:
    """EnvelopedData of `content` to `recipient` (key transport, RSA PKCS#1 v1.5)."""
    if aes:
        key, iv, name = os.urandom(16), os.urandom(16), "aes128_cbc"
        cipher_algorithm: Any = algorithms.AES(key)
    else:  # SCEP servers without the AES capability must still accept triple DES
        key, iv, name = os.urandom(24), os.urandom(8), "tripledes_3key"
        cipher_algorithm = TripleDES(key)
    padder = padding.PKCS7(cipher_algorithm.block_size).padder()
    encryptor = Cipher(cipher_algorithm, modes.CBC(iv)).encryptor()
    encrypted = encryptor.update(padder.update(content) + padder.finalize()) + encryptor.finalize()
    public_key = recipient.public_key()
    assert isinstance(public_key, rsa.RSAPublicKey)
    recipient_asn1 = asn1_x509.Certificate.load(recipient.public_bytes(serialization.Encoding.DER))
    recipient_info = cms.RecipientInfo(
        name="ktri",
        value=cms.KeyTransRecipientInfo(
            {
                "version": "v0",
                "rid": cms.RecipientIdentifier(
                    name="issuer_and_serial_number",
                    value=cms.IssuerAndSerialNumber(
                        {"issuer": recipient_asn1.issuer, "serial_number": recipient_asn1.serial_number}
                    ),
                ),
                "key_encryption_algorithm": {"algorithm": "rsaes_pkcs1v15"},
                "encrypted_key": public_key.encrypt(key, asym_padding.PKCS1v15()),
            }
        ),
    )
    return cms.ContentInfo(
        {
            "content_type": "enveloped_data",
            "content": cms.EnvelopedData(
                {
                    "version": "v0",
                    "recipient_infos": [recipient_info],
                    "encrypted_content_info": {
                        "content_type": "data",
                        "content_encryption_algorithm": {
                            "algorithm": name,
                            "parameters": core.OctetString(iv),
                        },
                        "encrypted_content": encrypted,
                    },
                }
            ),
        }
    )


def open_sealed(data: bytes, key: rsa.RSAPrivateKey) -> bytes:
    info = cms.ContentInfo.load(data)
    if info["content_type"].native != "enveloped_data":
        raise EnvelopeError("the SCEP answer's content is not an EnvelopedData")
    enveloped = info["content"]
    ktri = enveloped["recipient_infos"][0].chosen
    content_key = key.decrypt(ktri["encrypted_key"].native, asym_padding.PKCS1v15())
    encrypted_info = enveloped["encrypted_content_info"]
    algorithm: algos.EncryptionAlgorithm = encrypted_info["content_encryption_algorithm"]
    name = algorithm["algorithm"].native
    iv = algorithm["parameters"].native
    if name.startswith("aes") and name.endswith("_cbc"):
        cipher_algorithm: Any = algorithms.AES(content_key)
    elif name == "tripledes_3key":
        cipher_algorithm = TripleDES(content_key)
    elif name == "des":
        cipher_algorithm = TripleDES(content_key * 3)  # single DES is triple DES with one key thrice
    else:
        raise EnvelopeError(f"the SCEP answer is encrypted with {name}, which a device does not support")
    decryptor = Cipher(cipher_algorithm, modes.CBC(iv)).decryptor()
    padded = decryptor.update(encrypted_info["encrypted_content"].native) + decryptor.finalize()
    unpadder = padding.PKCS7(cipher_algorithm.block_size).unpadder()
    return bytes(unpadder.update(padded) + unpadder.finalize())
