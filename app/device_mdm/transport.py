"""How a device talks to its MDM once it has an identity: property lists over HTTPS, signed.

Check-in messages (`Authenticate`, `TokenUpdate`, `CheckOut`) go to `CheckInURL` (else
`ServerURL`) as `application/x-apple-aspen-mdm-checkin`; command results to `ServerURL` as
`application/x-apple-aspen-mdm`, both with PUT, as devices send them. With `SignMessage` the
identity signs each body (`Mdm-Signature`: a base64 detached CMS signature); otherwise the
identity is the TLS client certificate. The profile's anchors are trusted for the MDM's URLs.
"""

from __future__ import annotations

import asyncio
import base64
import functools
import os
import plistlib
import ssl
import tempfile
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import Any

import httpx
from cryptography import x509
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa

from ..core import tls
from ..device_setup import refusal
from ..device_setup.cms import detached_signature

CHECKIN = "application/x-apple-aspen-mdm-checkin"
COMMAND = "application/x-apple-aspen-mdm"
MAX_ANSWER = 4 * 1024 * 1024


@dataclass(frozen=True, slots=True)
class Identity:
    certificate: x509.Certificate
    key: rsa.RSAPrivateKey | ec.EllipticCurvePrivateKey  # EC: an ACME identity (acme.py)

    def pem(self) -> tuple[str, str]:
        cert = self.certificate.public_bytes(serialization.Encoding.PEM).decode()
        key = self.key.private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
        ).decode()
        return cert, key

    @classmethod
    def from_pem(cls, cert: str, key: str) -> Identity:
        return _from_pem(cert, key)


@functools.lru_cache(maxsize=4096)
def _from_pem(cert: str, key: str) -> Identity:
    """Parsed once per identity: a device's stored identity is read on every poll (the key was
    checked when the device got it, so it is not checked again)."""
    loaded = serialization.load_pem_private_key(
        key.encode(), password=None, unsafe_skip_rsa_key_validation=True
    )
    assert isinstance(loaded, rsa.RSAPrivateKey | ec.EllipticCurvePrivateKey)
    return Identity(x509.load_pem_x509_certificate(cert.encode()), loaded)


def trust(anchors: list[x509.Certificate], *, shared: bool = True) -> ssl.SSLContext:
    """The system's roots plus the profile's anchors, as the device trusts the MDM's URLs (a
    shared, read-only context unless `shared` is false)."""
    pems = tuple(anchor.public_bytes(serialization.Encoding.PEM).decode() for anchor in anchors)
    return tls.shared_context(pems) if shared else tls.fresh_context(pems)


@asynccontextmanager
async def mdm_client(
    identity: Identity | None,
    anchors: list[x509.Certificate],
    *,
    client_certificate: bool,
    timeout_seconds: float,
) -> AsyncIterator[httpx.AsyncClient]:
    """An HTTP client for the MDM: the anchors trusted, the identity as TLS client certificate
    when the profile does not sign messages (ssl loads a chain only from a file: a private
    temporary one, removed at once)."""
    with_certificate = identity is not None and client_certificate
    context = trust(anchors, shared=not with_certificate)
    if identity is not None and with_certificate:
        cert_pem, key_pem = identity.pem()
        fd, path = tempfile.mkstemp(suffix=".pem")
        try:
            with os.fdopen(fd, "w") as handle:
                handle.write(cert_pem + key_pem)
            context.load_cert_chain(path)
        finally:
            os.unlink(path)
    async with httpx.AsyncClient(timeout=timeout_seconds, verify=context, follow_redirects=False) as client:
        yield client


@dataclass
class Answer:
    status: int | None
    body: bytes
    error: str | None  # no answer came: why, in words


async def put_plist(
    client: httpx.AsyncClient,
    url: str,
    message: dict[str, Any],
    *,
    content_type: str,
    identity: Identity,
    sign: bool,
    user_agent: str,
) -> tuple[bytes, Answer]:
    """PUT `message` as an XML plist; returns (the bytes sent, the answer). Never raises on the
    network: a refused connection or an untrusted certificate is an `Answer` with `error`."""
    body = plistlib.dumps(message, fmt=plistlib.FMT_XML)
    headers = {"Content-Type": content_type, "User-Agent": user_agent}
    if sign:
        signature = detached_signature(body, cert=identity.certificate, key=identity.key)
        headers["Mdm-Signature"] = base64.b64encode(signature).decode()
    limit = client.timeout.read or 30.0
    try:
        async with (
            asyncio.timeout(limit),
            client.stream("PUT", url, content=body, headers=headers) as response,
        ):
            received = b""
            async for chunk in response.aiter_bytes():
                received += chunk
                if len(received) > MAX_ANSWER:
                    return body, Answer(response.status_code, b"", "the answer is larger than 4 MiB")
    except (TimeoutError, httpx.TimeoutException):
        return body, Answer(None, b"", f"the MDM did not answer within {limit:g} seconds")
    except httpx.RemoteProtocolError as exc:
        return body, Answer(None, b"", f"the MDM closed the connection without a complete answer: {exc}")
    except (httpx.HTTPError, httpx.InvalidURL, ssl.SSLError, OSError) as exc:
        return body, Answer(None, b"", _reason(exc))
    return body, Answer(response.status_code, received, None)


def _reason(exc: Exception) -> str:
    text = str(exc)
    if isinstance(exc, httpx.ConnectError):
        if "CERTIFICATE_VERIFY_FAILED" in text:
            return (
                "the MDM's server certificate is not trusted (not issued by an anchor or a system root): "
                + text
            )
        return f"could not connect: {text}" if text else "could not connect"
    return f"{type(exc).__name__}: {text}" if text else type(exc).__name__


def status_reason(answer: Answer) -> str:
    """A refusal in words, as the device's log would put it (with the start of the body)."""
    if answer.status == 401:
        return "the MDM answered 401 Unauthorized: it does not accept the device's identity"
    if answer.status == 410:
        said = refusal.said(answer.body)
        return "the MDM answered 410 Gone: the enrollment is no longer known" + (f": {said}" if said else "")
    return refusal.in_words(answer.status or 0, {}, answer.body)


def printable(body: bytes, limit: int = 8000) -> str | None:
    """`body` as text for the exchange log: UTF-8 without NULs as it is, anything else base64."""
    if not body:
        return None
    try:
        text = body[:limit].decode("utf-8")
        if "\x00" not in text:
            return text
    except UnicodeDecodeError:
        pass
    return "base64:" + base64.b64encode(body[:limit]).decode()
