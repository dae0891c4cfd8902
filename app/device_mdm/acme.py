"""The device's ACME client for a `com.apple.security.acme` identity (device-2026.md §6.1, §6.2).

RFC 8555 with `device-attest-01` (draft-ietf-acme-device-attest): directory, nonce, account
(a separate P-256 account key, as the simulator in §9 uses), an order for a
`permanent-identifier` (the payload's ClientIdentifier), the authorization's challenge answered
with an attestation from the emulated Apple CA whose freshness code is SHA-256 of the token,
finalize with a CSR over the same key, then the certificate. Each request is a step; the first
that fails ends enrollment with the server's problem document in words. Keys are software keys:
"hardware-bound" is a recorded property, never real.
"""

from __future__ import annotations

import asyncio
import base64
import hashlib
import json
from typing import TYPE_CHECKING, Any

import httpx
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from cryptography.hazmat.primitives.asymmetric.utils import decode_dss_signature
from cryptography.x509.oid import NameOID

from ..attestation import cbor
from ..attestation.attestor import Attestor
from . import transport

if TYPE_CHECKING:  # enrollment imports this module
    from .enrollment import Attempt

JOSE = "application/jose+json"
_NAMES = {
    "C": NameOID.COUNTRY_NAME,
    "L": NameOID.LOCALITY_NAME,
    "ST": NameOID.STATE_OR_PROVINCE_NAME,
    "O": NameOID.ORGANIZATION_NAME,
    "OU": NameOID.ORGANIZATIONAL_UNIT_NAME,
    "CN": NameOID.COMMON_NAME,
}
POLLS = 10


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def check_payload(payload: dict[str, Any], capability: str) -> str | None:
    """Why the device refuses the payload (as profile installation would), or None."""
    for key, kind in (("DirectoryURL", str), ("ClientIdentifier", str), ("KeySize", int), ("KeyType", str)):
        if not isinstance(payload.get(key), kind):
            return f"the ACME payload has no {key}"
    key_type, size = payload["KeyType"], payload["KeySize"]
    hardware, attest = bool(payload.get("HardwareBound", False)), bool(payload.get("Attest", False))
    if key_type not in ("RSA", "ECSECPrimeRandom"):
        return f"the ACME payload's KeyType {key_type!r} is not RSA or ECSECPrimeRandom"
    if key_type == "RSA" and not (1024 <= size <= 4096 and size % 8 == 0):
        return f"the ACME payload's KeySize {size} is not an RSA key size"
    if key_type == "ECSECPrimeRandom" and size not in (256, 384) + (() if hardware else (192, 521)):
        return f"the ACME payload's KeySize {size} is not allowed for this key"
    if hardware and key_type != "ECSECPrimeRandom":
        return "HardwareBound keys must be ECSECPrimeRandom 256 or 384"
    if attest and not hardware:
        return "Attest requires HardwareBound"
    if hardware and capability == "false":  # T1 and older Macs (§6.1); Attest is ignored elsewhere
        return "this device has no Secure Enclave that can hold a hardware-bound key"
    return None


def _key(payload: dict[str, Any]) -> rsa.RSAPrivateKey | ec.EllipticCurvePrivateKey:
    size = payload["KeySize"]
    if payload["KeyType"] == "RSA":
        return rsa.generate_private_key(public_exponent=65537, key_size=size)
    curve = {192: ec.SECP192R1(), 256: ec.SECP256R1(), 384: ec.SECP384R1(), 521: ec.SECP521R1()}[size]
    return ec.generate_private_key(curve)


def _csr(payload: dict[str, Any], key: rsa.RSAPrivateKey | ec.EllipticCurvePrivateKey) -> bytes:
    attributes = []
    for rdn in payload.get("Subject") or []:
        for pair in rdn if isinstance(rdn, list) else []:
            if isinstance(pair, list) and len(pair) == 2 and isinstance(pair[1], str):
                oid = _NAMES.get(pair[0]) or x509.ObjectIdentifier(pair[0])
                attributes.append(x509.NameAttribute(oid, pair[1]))
    builder = x509.CertificateSigningRequestBuilder().subject_name(x509.Name(attributes))
    given = payload.get("SubjectAltName")
    alt: dict[str, Any] = given if isinstance(given, dict) else {}
    names: list[x509.GeneralName] = [x509.DNSName(n) for n in alt.get("dNSName") or [] if isinstance(n, str)]
    names += [x509.RFC822Name(n) for n in alt.get("rfc822Name") or [] if isinstance(n, str)]
    names += [
        x509.UniformResourceIdentifier(n)
        for n in alt.get("uniformResourceIdentifier") or []
        if isinstance(n, str)
    ]
    if names:
        builder = builder.add_extension(x509.SubjectAlternativeName(names), critical=False)
    eku = [x509.ObjectIdentifier(o) for o in payload.get("ExtendedKeyUsage") or [] if isinstance(o, str)]
    if eku:
        builder = builder.add_extension(x509.ExtendedKeyUsage(eku), critical=False)
    return builder.sign(key, hashes.SHA256()).public_bytes(serialization.Encoding.DER)


class _Acme:
    def __init__(self, client: httpx.AsyncClient, attempt: Attempt) -> None:
        self.client, self.attempt = client, attempt
        self.account = ec.generate_private_key(ec.SECP256R1())
        self.kid: str | None = None
        self.nonce = ""

    def _jwk(self) -> dict[str, str]:
        numbers = self.account.public_key().public_numbers()
        return {
            "crv": "P-256",
            "kty": "EC",
            "x": _b64(numbers.x.to_bytes(32, "big")),
            "y": _b64(numbers.y.to_bytes(32, "big")),
        }

    async def get(self, step: str, url: str, method: str = "GET") -> httpx.Response:
        try:
            response = await self.client.request(method, url)
        except httpx.HTTPError as exc:
            raise self.attempt.fail(step, f"the ACME server could not be reached: {exc}", url=url) from exc
        self.nonce = response.headers.get("Replay-Nonce", self.nonce)
        return response

    async def post(
        self, step: str, url: str, payload: dict[str, Any] | None, *, ok: tuple[int, ...] = (200, 201)
    ) -> httpx.Response:
        """A JWS-signed POST (POST-as-GET when `payload` is None), retried once on badNonce."""
        for _ in range(2):
            protected: dict[str, Any] = {"alg": "ES256", "nonce": self.nonce, "url": url}
            protected |= {"kid": self.kid} if self.kid else {"jwk": self._jwk()}
            head = _b64(json.dumps(protected).encode())
            body = "" if payload is None else _b64(json.dumps(payload).encode())
            r, s = decode_dss_signature(
                self.account.sign(f"{head}.{body}".encode(), ec.ECDSA(hashes.SHA256()))
            )
            jws = {
                "protected": head,
                "payload": body,
                "signature": _b64(r.to_bytes(32, "big") + s.to_bytes(32, "big")),
            }
            try:
                response = await self.client.post(url, json=jws, headers={"Content-Type": JOSE})
            except httpx.HTTPError as exc:
                raise self.attempt.fail(
                    step, f"the ACME server could not be reached: {exc}", url=url
                ) from exc
            self.nonce = response.headers.get("Replay-Nonce", self.nonce)
            if response.status_code == 400 and "badNonce" in response.text:
                continue
            break
        fields = {
            "url": url,
            "status": response.status_code,
            "sent": json.dumps(payload) if payload else None,
            "answered": transport.printable(response.content, 4000),
        }
        if response.status_code not in ok:
            raise self.attempt.fail(step, f"the ACME server refused {step}: {_problem(response)}", **fields)
        self.attempt.add({"step": step, "ok": True, "detail": None} | fields)
        return response


def _problem(response: httpx.Response) -> str:
    try:
        problem = response.json()
    except ValueError:
        return f"HTTP {response.status_code}"
    if isinstance(problem, dict) and isinstance(problem.get("error"), dict):
        problem = problem["error"]  # a challenge or authorization carrying its error
    if not isinstance(problem, dict):
        return f"HTTP {response.status_code}"
    text = f"{problem.get('type', '')}: {problem.get('detail', '')}".strip(": ")
    subs = [s.get("detail") for s in problem.get("subproblems") or [] if isinstance(s, dict)]
    return text + (f" ({'; '.join(str(s) for s in subs)})" if subs else "")


async def obtain(
    attempt: Attempt,
    payload: dict[str, Any],
    anchors: list[x509.Certificate],
    *,
    attestor: Attestor,
    timeout_seconds: float,
) -> transport.Identity:
    """The identity an ACME server issues for `payload`; EnrollmentFailed (step recorded) if not."""
    problem = check_payload(payload, attestor.capability)
    if problem is not None:
        raise attempt.fail("acme.payload", problem)
    key = await asyncio.to_thread(_key, payload)
    async with httpx.AsyncClient(timeout=timeout_seconds, verify=transport.trust(anchors)) as client:
        acme = _Acme(client, attempt)
        directory_response = await acme.get("acme.directory", payload["DirectoryURL"])
        directory = directory_response.json() if directory_response.status_code == 200 else {}
        if not isinstance(directory, dict) or not all(
            k in directory for k in ("newNonce", "newAccount", "newOrder")
        ):
            raise attempt.fail(
                "acme.directory",
                "the DirectoryURL does not answer an ACME directory",
                url=payload["DirectoryURL"],
                status=directory_response.status_code,
            )
        attempt.add({"step": "acme.directory", "ok": True, "url": payload["DirectoryURL"], "status": 200})
        nonce = await acme.get("acme.newNonce", directory["newNonce"], method="HEAD")
        attempt.add(
            {
                "step": "acme.newNonce",
                "ok": bool(acme.nonce),
                "url": directory["newNonce"],
                "status": nonce.status_code,
                "detail": None if acme.nonce else "no Replay-Nonce",
            }
        )
        account = await acme.post("acme.newAccount", directory["newAccount"], {"termsOfServiceAgreed": True})
        acme.kid = account.headers.get("Location")
        identifier = {"type": "permanent-identifier", "value": payload["ClientIdentifier"]}
        order_response = await acme.post(
            "acme.newOrder", directory["newOrder"], {"identifiers": [identifier]}
        )
        order, order_url = order_response.json(), order_response.headers.get("Location", "")
        authorization = (await acme.post("acme.authorization", order["authorizations"][0], None)).json()
        challenge = next(
            (c for c in authorization.get("challenges", []) if c.get("type") == "device-attest-01"), None
        )
        if challenge is None:
            raise attempt.fail("acme.challenge", "the authorization offers no device-attest-01 challenge")
        answer = _attestation(payload, key, challenge["token"], attestor)
        result = await acme.post("acme.challenge", challenge["url"], answer)
        for _ in range(POLLS):
            state = result.json()
            if state.get("status") == "valid":
                break
            if state.get("status") == "invalid":
                raise attempt.fail(
                    "acme.challenge",
                    f"the ACME server refused the attestation: {_problem(result)}",
                    url=challenge["url"],
                    status=result.status_code,
                )
            await asyncio.sleep(0.2)
            result = await acme.post("acme.challenge", challenge["url"], None)
        csr = _csr(payload, key)
        finalized = (await acme.post("acme.finalize", order["finalize"], {"csr": _b64(csr)})).json()
        for _ in range(POLLS):
            if finalized.get("status") == "valid":
                break
            if finalized.get("status") == "invalid":
                raise attempt.fail("acme.finalize", f"the order is invalid: {finalized.get('error')}")
            await asyncio.sleep(0.2)
            finalized = (await acme.post("acme.order", order_url, None)).json()
        if "certificate" not in finalized:
            raise attempt.fail("acme.finalize", "the order did not become valid")
        chain = (await acme.post("acme.certificate", finalized["certificate"], None)).content
    certificates = x509.load_pem_x509_certificates(chain)
    return transport.Identity(certificates[0], key)


def _attestation(
    payload: dict[str, Any],
    key: rsa.RSAPrivateKey | ec.EllipticCurvePrivateKey,
    token: str,
    attestor: Attestor,
) -> dict[str, Any]:
    """The device-attest-01 answer: an attestation object, or an error when the device cannot attest."""
    if attestor.tamper == "error_payload":
        return {"error": "the device could not attest its key"}
    if (
        not payload.get("Attest")
        or attestor.capability != "attest"
        or not isinstance(key, ec.EllipticCurvePrivateKey)
    ):
        return {"error": "attestation was not requested or is not supported on this device"}
    chain = attestor.attest(key.public_key(), hashlib.sha256(token.encode()).digest())
    obj = cbor.dumps({"fmt": "apple", "attStmt": {"x5c": chain}})
    return {"attObj": _b64(obj)}
