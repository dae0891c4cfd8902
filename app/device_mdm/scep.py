"""The device's SCEP client (RFC 8894), driven by a `com.apple.security.scep` payload.

GetCACaps, GetCACert, then PKIOperation with a PKCSReq: a CSR (the payload's Subject,
Challenge, Keysize, Key Usage) enveloped to the CA (or its RA) and signed with a throwaway
self-signed certificate, the SCEP attributes (messageType, transactionID, senderNonce) signed
with it. The CertRep answers with pkiStatus (and failInfo on refusal); on success the issued
certificate comes enveloped back to the throwaway certificate. A PENDING CertRep is asked about
again with GetCertInitial (CertPoll), setting `scep_pending_retries` times, then reported. The
messages are built in `scep_message`; structures from asn1crypto, keys, CSRs and signatures from
`cryptography`.
"""

from __future__ import annotations

import asyncio
import base64
import functools
import hashlib
import os
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

import httpx
from asn1crypto import cms
from cryptography import x509
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.x509.oid import AttributeOID, NameOID

from ..clock import service as clock
from ..device_setup.cms import open_signed
from . import envelope, scep_message

FAIL_INFO = {
    "0": "badAlg (unrecognised or unsupported algorithm)",
    "1": "badMessageCheck (integrity check failed)",
    "2": "badRequest (transaction not permitted or supported; a wrong challenge is answered so)",
    "3": "badTime (signingTime not close enough to the server's time)",
    "4": "badCertId (no certificate matching the criteria)",
}
# Subject names Apple's payload uses (its `Subject` is an array of RDNs of [name, value] pairs).
_NAMES = {
    "CN": NameOID.COMMON_NAME,
    "O": NameOID.ORGANIZATION_NAME,
    "OU": NameOID.ORGANIZATIONAL_UNIT_NAME,
    "C": NameOID.COUNTRY_NAME,
    "ST": NameOID.STATE_OR_PROVINCE_NAME,
    "L": NameOID.LOCALITY_NAME,
    "E": NameOID.EMAIL_ADDRESS,
    "emailAddress": NameOID.EMAIL_ADDRESS,
    "serialNumber": NameOID.SERIAL_NUMBER,
}


class ScepError(Exception):
    """SCEP did not give the device an identity; the message says why, in words."""


class ScepPending(ScepError):
    """The CA answered PENDING: the device may ask again (GetCertInitial)."""


@dataclass
class ScepResult:
    certificate: x509.Certificate
    key: rsa.RSAPrivateKey
    ca_caps: list[str]
    ca_subject: str
    exchanges: list[dict[str, Any]] = field(default_factory=list)


def subject_name(subject: Any) -> x509.Name:
    """Apple's Subject array ([[["CN", "x"]], [["O", "y"]]]) as an X.509 name."""
    rdns = []
    for rdn in subject or []:
        attributes = []
        for pair in rdn:
            if not (isinstance(pair, list) and len(pair) == 2 and all(isinstance(p, str) for p in pair)):
                raise ScepError(f"the SCEP Subject entry {pair!r} is not a [name, value] pair")
            name, value = pair
            oid = _NAMES.get(name) or (x509.ObjectIdentifier(name) if name[:1].isdigit() else None)
            if oid is None:
                raise ScepError(f"the SCEP Subject uses an unknown name {name!r}")
            attributes.append(x509.NameAttribute(oid, value))
        rdns.append(x509.RelativeDistinguishedName(attributes))
    return x509.Name(rdns)


def _key_usage(usage: int) -> x509.KeyUsage:
    """Apple's Key Usage bits: 1 signing, 4 encryption (5 both; 0 means both too)."""
    usage = usage or 5
    return x509.KeyUsage(
        digital_signature=bool(usage & 1),
        content_commitment=False,
        key_encipherment=bool(usage & 4),
        data_encipherment=False,
        key_agreement=False,
        key_cert_sign=False,
        crl_sign=False,
        encipher_only=False,
        decipher_only=False,
    )


def build_csr(payload: dict[str, Any], key: rsa.RSAPrivateKey) -> x509.CertificateSigningRequest:
    builder = x509.CertificateSigningRequestBuilder().subject_name(subject_name(payload.get("Subject")))
    challenge = payload.get("Challenge")
    if isinstance(challenge, str) and challenge:
        builder = builder.add_attribute(AttributeOID.CHALLENGE_PASSWORD, challenge.encode())
    builder = builder.add_extension(_key_usage(int(payload.get("Key Usage") or 0)), critical=True)
    return builder.sign(key, hashes.SHA256())


def _self_signed(key: rsa.RSAPrivateKey, name: x509.Name, now: datetime) -> x509.Certificate:
    """The throwaway certificate that signs the request and receives the answer (RFC 8894 §2.3)."""
    if not list(name):
        name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "SCEP client")])
    return (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - timedelta(hours=1))
        .not_valid_after(now + timedelta(days=1))
        .sign(key, hashes.SHA256())
    )


def _ca_certificates(body: bytes, content_type: str) -> list[x509.Certificate]:
    """GetCACert's answer: one DER certificate, or a certs-only SignedData with the CA and its RAs."""
    try:
        if "ra-cert" in content_type or body[:1] == b"0" and _looks_like_pkcs7(body):
            signed = cms.ContentInfo.load(body)["content"]
            return [x509.load_der_x509_certificate(c.chosen.dump()) for c in signed["certificates"]]
        return [x509.load_der_x509_certificate(body)]
    except Exception as exc:
        raise ScepError(f"GetCACert did not answer with a certificate ({type(exc).__name__})") from exc


def _looks_like_pkcs7(body: bytes) -> bool:
    try:
        return bool(cms.ContentInfo.load(body)["content_type"].native == "signed_data")
    except Exception:
        return False


def _recipient(certs: list[x509.Certificate]) -> x509.Certificate:
    """The RA (a non-CA certificate that may encipher keys) if there is one, else the CA."""
    for cert in certs:
        try:
            if cert.extensions.get_extension_for_class(x509.BasicConstraints).value.ca:
                continue
        except x509.ExtensionNotFound:
            pass
        return cert
    return certs[0]


def _step(step: str, url: str, response: httpx.Response | None, detail: str | None = None) -> dict[str, Any]:
    return {
        "wall_at": clock.wall_now(),
        "step": step,
        "url": url,
        "status": response.status_code if response is not None else None,
        "ok": response is not None and response.status_code == 200 and detail is None,
        "detail": detail,
    }


async def enroll(
    client: httpx.AsyncClient,
    payload: dict[str, Any],
    *,
    now: datetime,
    exchanges: list[dict[str, Any]],
    pending_retries: int = 0,
) -> ScepResult:
    """Obtain an identity from the SCEP server `payload` names; ScepError with the reason if not.
    Every HTTP exchange is appended to `exchanges` as it happens, failed ones included. A request
    the CA leaves PENDING is asked about again (GetCertInitial, at once) `pending_retries` times."""
    inner = payload.get("PayloadContent")  # Apple nests the SCEP keys in PayloadContent
    content: dict[str, Any] = inner if isinstance(inner, dict) else payload
    url = content.get("URL")
    if not isinstance(url, str) or not url:
        raise ScepError("the SCEP payload has no URL")
    name = str(content.get("Name") or "")
    caps_response = await client.get(url, params={"operation": "GetCACaps", "message": name})
    caps = caps_response.text.split() if caps_response.status_code == 200 else []
    exchanges.append(_step("scep.GetCACaps", url, caps_response) | {"answered": " ".join(caps)})
    cert_response = await client.get(url, params={"operation": "GetCACert", "message": name})
    if cert_response.status_code != 200:
        exchanges.append(_step("scep.GetCACert", url, cert_response, "GetCACert failed"))
        raise ScepError(f"GetCACert answered HTTP {cert_response.status_code}")
    try:
        certs = _ca_certificates(cert_response.content, cert_response.headers.get("content-type", ""))
    except ScepError as exc:
        exchanges.append(_step("scep.GetCACert", url, cert_response, str(exc)))
        raise
    ca = certs[-1] if len(certs) > 1 else certs[0]
    for cert in certs:
        try:
            if cert.extensions.get_extension_for_class(x509.BasicConstraints).value.ca:
                ca = cert
        except x509.ExtensionNotFound:
            pass
    try:
        for cert in certs:
            if cert is not ca:
                _issued_by(cert, ca, "GetCACert's RA certificate")
    except ScepError as exc:
        exchanges.append(_step("scep.GetCACert", url, cert_response, str(exc)))
        raise
    exchanges.append(_step("scep.GetCACert", url, cert_response) | {"answered": ca.subject.rfc4514_string()})

    key_size = int(content.get("Keysize") or 1024)
    key_type = str(content.get("Key Type") or "RSA")
    if key_type != "RSA":
        raise ScepError(f"Key Type {key_type!r} is not RSA, the only type Apple's SCEP payload allows")
    if key_size not in (1024, 2048, 3072, 4096):
        raise ScepError(f"Keysize {key_size} is not one a device generates (1024, 2048, 3072 or 4096)")
    key = await asyncio.to_thread(rsa.generate_private_key, public_exponent=65537, key_size=key_size)
    csr = build_csr(content, key)
    signer = _self_signed(key, csr.subject, now)
    transaction_id = hashlib.sha256(
        key.public_key().public_bytes(
            serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
        )
    ).hexdigest()
    seal = functools.partial(
        scep_message.pki_message,
        key=key,
        signer=signer,
        recipient=_recipient(certs),
        transaction_id=transaction_id,
        aes="AES" in caps,
        sha256="SHA-256" in caps or "SCEPStandard" in caps,
    )
    subject = csr.subject.rfc4514_string()
    csr_der = csr.public_bytes(serialization.Encoding.DER)
    message = seal(csr_der, scep_message.PKCS_REQ, nonce=os.urandom(16))
    step, sent = "scep.PKIOperation", f"PKCSReq for {subject}"
    for tried in range(1, pending_retries + 2):
        if tried > 1:  # the CA left the request PENDING: ask again about it, as devices do
            poll = scep_message.issuer_and_subject(ca, csr.subject)
            message = seal(poll, scep_message.CERT_POLL, nonce=os.urandom(16))
            step, sent = "scep.GetCertInitial", f"GetCertInitial for {subject} (try {tried})"
        response = await _pki_operation(client, url, caps, message)
        try:
            issued = _cert_rep(response, key, ca)
        except ScepPending:
            if tried <= pending_retries:
                exchanges.append(_step(step, url, response) | {"sent": sent, "detail": _ASKS_AGAIN})
                continue
            reason = pending_reason(tried, pending_retries)
            exchanges.append(_step(step, url, response, reason) | {"sent": sent})
            raise ScepError(reason) from None
        except ScepError as exc:
            exchanges.append(_step(step, url, response, str(exc)) | {"sent": sent})
            raise
        exchanges.append(
            _step(step, url, response) | {"sent": sent, "answered": issued.subject.rfc4514_string()}
        )
        return ScepResult(issued, key, caps, ca.subject.rfc4514_string())
    raise AssertionError("unreachable: the last try returns or raises")


_ASKS_AGAIN = "the SCEP server left the request PENDING; the device asks again with GetCertInitial"


def pending_reason(tries: int, retries: int) -> str:
    """Why the device gave up on a request the CA kept PENDING, in words."""
    asked = "its PKCSReq" if tries == 1 else f"its PKCSReq and {tries - 1} GetCertInitial"
    return (
        f"the CA left the request PENDING after {tries} {'try' if tries == 1 else 'tries'} ({asked}; "
        f"setting scep_pending_retries is {retries}); the device stops asking"
    )


async def _pki_operation(
    client: httpx.AsyncClient, url: str, caps: list[str], message: bytes
) -> httpx.Response:
    """POST the message when the server says it may (POSTPKIOperation, SCEPStandard), else GET."""
    if "POSTPKIOperation" in caps or "SCEPStandard" in caps:
        return await client.post(
            url,
            params={"operation": "PKIOperation"},
            content=message,
            headers={"Content-Type": "application/x-pki-message"},
        )
    return await client.get(
        url, params={"operation": "PKIOperation", "message": base64.b64encode(message).decode()}
    )


def _cert_rep(response: httpx.Response, key: rsa.RSAPrivateKey, ca: x509.Certificate) -> x509.Certificate:
    """The issued certificate in a CertRep; ScepError with the reason if there is none. The
    status comes first: a FAILURE or PENDING CertRep carries no content (RFC 8894 §3.3.2)."""
    if response.status_code != 200:
        raise ScepError(f"PKIOperation answered HTTP {response.status_code}: {response.text[:200]}")
    try:
        signed = cms.ContentInfo.load(response.content)["content"]
        signed_attrs = signed["signer_infos"][0]["signed_attrs"]
        attributes = {a["type"].native: a["values"][0].native for a in signed_attrs}
    except Exception as exc:  # asn1crypto raises many types on garbage
        raise ScepError(f"the SCEP answer is not a CertRep ({type(exc).__name__})") from exc
    status = attributes.get("scep_pki_status")
    if status == "2":
        fail = attributes.get("scep_fail_info")
        reason = FAIL_INFO.get(str(fail), f"failInfo {fail}")
        raise ScepError(f"the SCEP server refused the request: {reason}")
    if status == "3":
        raise ScepPending("the SCEP server left the request PENDING (manual approval)")
    if status != "0":
        raise ScepError(f"the SCEP answer has an unknown pkiStatus {status!r}")
    try:
        opened = open_signed(response.content)
    except ValueError as exc:
        raise ScepError(f"the SCEP answer is not a CertRep: {exc}") from exc
    if not opened.signature_valid:
        raise ScepError(f"the SCEP answer's signature does not hold: {opened.problem}")
    try:
        degenerate = cms.ContentInfo.load(envelope.open_sealed(opened.content, key))["content"]
        certs = [x509.load_der_x509_certificate(item.chosen.dump()) for item in degenerate["certificates"]]
    except Exception as exc:  # a wrong key, a bad padding, a malformed structure
        raise ScepError(f"the SCEP answer's certificate could not be opened: {exc}") from exc
    ours = key.public_key().public_numbers()
    for cert in certs:
        public = cert.public_key()
        if isinstance(public, rsa.RSAPublicKey) and public.public_numbers() == ours:
            _issued_by(cert, ca, "the issued certificate")
            return cert
    raise ScepError("the SCEP answer holds no certificate for the device's key")


def _issued_by(cert: x509.Certificate, ca: x509.Certificate, what: str) -> None:
    """ScepError unless `ca` signed `cert`: the chain from GetCACert must verify."""
    try:
        cert.verify_directly_issued_by(ca)
    except (ValueError, TypeError, InvalidSignature) as exc:
        raise ScepError(
            f"{what} ({cert.subject.rfc4514_string()}) is not issued by the SCEP CA "
            f"({ca.subject.rfc4514_string()}): the chain does not verify ({exc or type(exc).__name__})"
        ) from exc
