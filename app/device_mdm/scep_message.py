"""The device's SCEP messages (RFC 8894 §3.2): PKCSReq and CertPoll (GetCertInitial).

Both are SignedData over an EnvelopedData sealed to the CA (or its RA), signed with the
device's throwaway self-signed certificate, carrying SCEP's signed attributes (messageType,
transactionID, senderNonce). PKCSReq encloses the CSR; CertPoll, which asks again about a
request the CA left PENDING, encloses IssuerAndSubject (the CA's name and the request's subject)
under the same transactionID. Structures from asn1crypto, signatures from `cryptography`.
"""

from __future__ import annotations

import hashlib

from asn1crypto import cms, core
from asn1crypto import x509 as asn1_x509
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding as asym_padding
from cryptography.hazmat.primitives.asymmetric import rsa

from . import envelope

# SCEP's signed attributes (RFC 8894 §3.2.1), taught to asn1crypto so it encodes and decodes them.
_SCEP_ATTRIBUTES = {
    "2.16.840.1.113733.1.9.2": ("scep_message_type", core.PrintableString),
    "2.16.840.1.113733.1.9.3": ("scep_pki_status", core.PrintableString),
    "2.16.840.1.113733.1.9.4": ("scep_fail_info", core.PrintableString),
    "2.16.840.1.113733.1.9.5": ("scep_sender_nonce", core.OctetString),
    "2.16.840.1.113733.1.9.6": ("scep_recipient_nonce", core.OctetString),
    "2.16.840.1.113733.1.9.7": ("scep_transaction_id", core.PrintableString),
}
for _oid, (_name, _type) in _SCEP_ATTRIBUTES.items():
    cms.CMSAttributeType._map[_oid] = _name
    cms.CMSAttribute._oid_specs[_name] = type(f"SetOf{_type.__name__}", (core.SetOf,), {"_child_spec": _type})
cms.CMSAttributeType._reverse_map = None

PKCS_REQ = "19"
CERT_POLL = "20"  # GetCertInitial


class IssuerAndSubject(core.Sequence):  # type: ignore[misc]
    """RFC 8894 §3.3.3: what a CertPoll asks about."""

    _fields = [("issuer", asn1_x509.Name), ("subject", asn1_x509.Name)]


def issuer_and_subject(ca: x509.Certificate, subject: x509.Name) -> bytes:
    return bytes(
        IssuerAndSubject(
            {
                "issuer": asn1_x509.Name.load(ca.subject.public_bytes()),
                "subject": asn1_x509.Name.load(subject.public_bytes()),
            }
        ).dump()
    )


def _attribute(name: str, value: object) -> cms.CMSAttribute:
    return cms.CMSAttribute({"type": name, "values": [value]})


def pki_message(
    content: bytes,
    message_type: str,
    *,
    key: rsa.RSAPrivateKey,
    signer: x509.Certificate,
    recipient: x509.Certificate,
    transaction_id: str,
    nonce: bytes,
    aes: bool,
    sha256: bool,
) -> bytes:
    """A PKIOperation message: SignedData(EnvelopedData(content)) with SCEP's signed attributes."""
    sealed = envelope.seal(content, recipient, aes=aes).dump()
    digest_name, digest = ("sha256", hashes.SHA256()) if sha256 else ("sha1", hashes.SHA1())
    signed_attrs = cms.CMSAttributes(
        [
            _attribute("content_type", "data"),
            _attribute("message_digest", hashlib.new(digest_name, sealed).digest()),
            _attribute("scep_message_type", core.PrintableString(message_type)),
            _attribute("scep_transaction_id", core.PrintableString(transaction_id)),
            _attribute("scep_sender_nonce", core.OctetString(nonce)),
        ]
    )
    signature = key.sign(signed_attrs.dump(), asym_padding.PKCS1v15(), digest)
    signer_asn1 = asn1_x509.Certificate.load(signer.public_bytes(serialization.Encoding.DER))
    signer_info = cms.SignerInfo(
        {
            "version": "v1",
            "sid": cms.SignerIdentifier(
                name="issuer_and_serial_number",
                value=cms.IssuerAndSerialNumber(
                    {"issuer": signer_asn1.issuer, "serial_number": signer_asn1.serial_number}
                ),
            ),
            "digest_algorithm": {"algorithm": digest_name},
            "signed_attrs": signed_attrs,
            "signature_algorithm": {"algorithm": "rsassa_pkcs1v15"},
            "signature": signature,
        }
    )
    signed = cms.SignedData(
        {
            "version": "v1",
            "digest_algorithms": [{"algorithm": digest_name}],
            "encap_content_info": {"content_type": "data", "content": sealed},
            "certificates": [signer_asn1],
            "signer_infos": [signer_info],
        }
    )
    return bytes(cms.ContentInfo({"content_type": "signed_data", "content": signed}).dump())
