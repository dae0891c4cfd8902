"""A SCEP server that misbehaves, as a route of the misbehaving MDM (issue 28).

GetCACaps and GetCACert answer like a real server (or GetCACert with a chain that does not
verify); PKIOperation answers as `pki_operation` says: garbage, a PENDING CertRep (status 3, no
content, signed by the CA as RFC 8894 §3.3.2 has it), or never. The CertRep is built with
asn1crypto and the SCEP attributes the device's client registers (`dep_emulator.device_mdm.scep`).
"""

from __future__ import annotations

import hashlib
import plistlib
from collections.abc import Callable
from dataclasses import dataclass, field

from asn1crypto import cms, core
from asn1crypto import x509 as asn1_x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding
from cryptography.hazmat.primitives.serialization import pkcs7
from dep_emulator.device_mdm import envelope, scep

from tests.device_setup import pki
from tests.device_setup.mdm_endpoint import scep_enrollment_profile
from tests.device_setup.misbehaving_mdm import Action, MisbehavingMdm, Reply, Request

_CAS: list[pki.Issued] = []


def ca() -> pki.Issued:
    """The fake server's CA (one per session: RSA keys are slow to make)."""
    if not _CAS:
        _CAS.append(pki.ca("Misbehaving SCEP CA"))
        _CAS.append(pki.ca("Another CA"))
    return _CAS[0]


def pending_cert_rep(request: Request, ca: pki.Issued) -> bytes:
    """A CertRep with pkiStatus PENDING for the PKCSReq in `request`, signed by `ca`."""
    req = cms.ContentInfo.load(request.body)["content"]
    attrs = {a["type"].native: a["values"][0].native for a in req["signer_infos"][0]["signed_attrs"]}
    signed_attrs = cms.CMSAttributes(
        [
            cms.CMSAttribute({"type": "content_type", "values": ["data"]}),
            cms.CMSAttribute({"type": "message_digest", "values": [hashlib.sha256(b"").digest()]}),
            cms.CMSAttribute({"type": "scep_message_type", "values": [core.PrintableString("3")]}),
            cms.CMSAttribute({"type": "scep_pki_status", "values": [core.PrintableString("3")]}),
            cms.CMSAttribute(
                {
                    "type": "scep_transaction_id",
                    "values": [core.PrintableString(attrs["scep_transaction_id"])],
                }
            ),
            cms.CMSAttribute(
                {"type": "scep_recipient_nonce", "values": [core.OctetString(attrs["scep_sender_nonce"])]}
            ),
        ]
    )
    signature = ca.key.sign(signed_attrs.dump(), padding.PKCS1v15(), hashes.SHA256())
    ca_asn1 = asn1_x509.Certificate.load(ca.der)
    signer_info = cms.SignerInfo(
        {
            "version": "v1",
            "sid": cms.SignerIdentifier(
                name="issuer_and_serial_number",
                value=cms.IssuerAndSerialNumber(
                    {"issuer": ca_asn1.issuer, "serial_number": ca_asn1.serial_number}
                ),
            ),
            "digest_algorithm": {"algorithm": "sha256"},
            "signed_attrs": signed_attrs,
            "signature_algorithm": {"algorithm": "rsassa_pkcs1v15"},
            "signature": signature,
        }
    )
    signed = cms.SignedData(
        {
            "version": "v1",
            "digest_algorithms": [{"algorithm": "sha256"}],
            "encap_content_info": {"content_type": "data"},
            "certificates": [ca_asn1],
            "signer_infos": [signer_info],
        }
    )
    return bytes(cms.ContentInfo({"content_type": "signed_data", "content": signed}).dump())


def message_of(request: Request, ca: pki.Issued) -> tuple[str, str, bytes]:
    """A PKIOperation's messageType, transactionID and content (opened with the CA's key)."""
    signed = cms.ContentInfo.load(request.body)["content"]
    attrs = {a["type"].native: a["values"][0].native for a in signed["signer_infos"][0]["signed_attrs"]}
    sealed = signed["encap_content_info"]["content"].native
    content = envelope.open_sealed(sealed, ca.key)
    return attrs["scep_message_type"], attrs["scep_transaction_id"], content


@dataclass
class FakeScep:
    bad: MisbehavingMdm
    pki_operation: Callable[[Request], Action] = field(default=lambda r: Reply(200, b"garbage"))
    broken_chain: bool = False  # GetCACert: the CA and an RA that another CA issued

    @property
    def url(self) -> str:
        return self.bad.base_url + "/scep"

    def profile(self) -> bytes:
        """The enrollment profile: SCEP here, check-ins at the misbehaving MDM."""
        document = scep_enrollment_profile(
            scep_url=self.url,
            challenge="secret",
            server_url=self.bad.base_url + "/mdm",
            check_in_url=self.bad.base_url + "/checkin",
        )
        return plistlib.dumps(document)

    def __call__(self, request: Request) -> Action:
        authority = ca()
        operation = request.query.get("operation")
        if operation == "GetCACaps":
            return Reply(200, b"POSTPKIOperation\nSHA-256\nAES\nSCEPStandard", {"Content-Type": "text/plain"})
        if operation == "GetCACert" and self.broken_chain:
            ra = pki.leaf(_CAS[1], "SCEP RA", server=False)
            chain = pkcs7.serialize_certificates([ra.cert, authority.cert], serialization.Encoding.DER)
            return Reply(200, chain, {"Content-Type": "application/x-x509-ca-ra-cert"})
        if operation == "GetCACert":
            return Reply(200, authority.der, {"Content-Type": "application/x-x509-ca-cert"})
        if operation == "PKIOperation":
            return self.pki_operation(request)
        return Reply(400, b"unknown operation")


def fake_scep(bad: MisbehavingMdm) -> FakeScep:
    """Serve a FakeScep at /scep and an enrollment profile pointing at it at /enroll."""
    server = FakeScep(bad)
    bad.routes["/scep"] = server
    bad.routes["/enroll"] = lambda r: Reply(
        200, server.profile(), {"Content-Type": "application/x-apple-aspen-config"}
    )
    return server


_ = scep  # imported for its SCEP attribute names, registered with asn1crypto on import
