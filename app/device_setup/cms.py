"""CMS SignedData (RFC 5652) as a device reads and writes it, over `asn1crypto`'s structures.

A device opens the signed enrollment profile an MDM returns (and says who signed it, and
whether the signature holds), and signs its check-in messages (`Mdm-Signature`, a detached
SignedData). `cryptography` signs CMS but cannot open or verify it, so the structures come
from asn1crypto and the signature checks from `cryptography`.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass

from asn1crypto import cms as asn1_cms
from cryptography import x509
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, padding, rsa
from cryptography.hazmat.primitives.serialization import pkcs7


class CmsError(ValueError):
    pass


@dataclass(frozen=True, slots=True)
class SignedContent:
    content: bytes
    signer: x509.Certificate | None
    signature_valid: bool
    problem: str | None  # why the signature does not hold, in words


_HASHES: dict[str, type[hashes.HashAlgorithm]] = {
    "sha1": hashes.SHA1,
    "sha224": hashes.SHA224,
    "sha256": hashes.SHA256,
    "sha384": hashes.SHA384,
    "sha512": hashes.SHA512,
}


def open_signed(data: bytes) -> SignedContent:
    """The content of an attached SignedData, its signer and whether the signature holds."""
    try:
        info = asn1_cms.ContentInfo.load(data)
        if info["content_type"].native != "signed_data":
            raise CmsError("not a CMS SignedData")
        signed = info["content"]
        content = signed["encap_content_info"]["content"]
        if content.native is None:
            raise CmsError("detached signature: no content")
        body = content.native if isinstance(content.native, bytes) else bytes(content.contents)
        certs = [
            x509.load_der_x509_certificate(c.chosen.dump())
            for c in signed["certificates"] or []
            if c.name == "certificate"
        ]
        signer_infos = list(signed["signer_infos"])
    except CmsError:
        raise
    except Exception as exc:  # asn1crypto raises many types on malformed input
        raise CmsError(f"not a CMS SignedData ({type(exc).__name__})") from exc
    if not signer_infos:
        return SignedContent(body, None, False, "no signer")
    signer_info = signer_infos[0]
    signer = _find_signer(signer_info, certs)
    if signer is None:
        return SignedContent(body, None, False, "the signer's certificate is not included")
    return SignedContent(body, signer, *_verify(signer_info, signer, body))


def _find_signer(signer_info: asn1_cms.SignerInfo, certs: list[x509.Certificate]) -> x509.Certificate | None:
    sid = signer_info["sid"]
    for cert in certs:
        if sid.name == "issuer_and_serial_number":
            issuer = sid.chosen["issuer"].dump()
            serial = sid.chosen["serial_number"].native
            if cert.serial_number == serial and cert.issuer.public_bytes() == issuer:
                return cert
        else:
            ski = sid.chosen.native
            try:
                ext = cert.extensions.get_extension_for_class(x509.SubjectKeyIdentifier)
            except x509.ExtensionNotFound:
                continue
            if ext.value.digest == ski:
                return cert
    return None


def _verify(signer_info: asn1_cms.SignerInfo, cert: x509.Certificate, body: bytes) -> tuple[bool, str | None]:
    digest_name = signer_info["digest_algorithm"]["algorithm"].native
    algorithm = _HASHES.get(digest_name)
    if algorithm is None:
        return False, f"unsupported digest {digest_name}"
    signed_attrs = signer_info["signed_attrs"]
    if signed_attrs.native:
        digests = [a["values"][0].native for a in signed_attrs if a["type"].native == "message_digest"]
        if digests != [hashlib.new(digest_name, body).digest()]:
            return False, "the message digest does not match the content"
        message = signed_attrs.untag().dump()  # signed over as a SET OF, not the [0] IMPLICIT form
    else:
        message = body
    signature = signer_info["signature"].native
    key = cert.public_key()
    try:
        if isinstance(key, rsa.RSAPublicKey):
            key.verify(signature, message, padding.PKCS1v15(), algorithm())
        elif isinstance(key, ec.EllipticCurvePublicKey):
            key.verify(signature, message, ec.ECDSA(algorithm()))
        else:
            return False, "unsupported signer key type"
    except InvalidSignature:
        return False, "the signature does not match"
    return True, None


def signed_content(data: bytes) -> bytes:
    """The encapsulated content of a CMS SignedData; CmsError if `data` is not one."""
    return open_signed(data).content


def detached_signature(
    body: bytes, *, cert: x509.Certificate, key: rsa.RSAPrivateKey | ec.EllipticCurvePrivateKey
) -> bytes:
    """A detached DER SignedData over `body` (the `Mdm-Signature` header, base64-encoded)."""
    return (
        pkcs7.PKCS7SignatureBuilder()
        .set_data(body)
        .add_signer(cert, key, hashes.SHA256())
        .sign(
            serialization.Encoding.DER,
            [pkcs7.PKCS7Options.Binary, pkcs7.PKCS7Options.DetachedSignature],
        )
    )
