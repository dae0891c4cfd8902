"""Enrollment: from the enrollment profile the MDM returned to a device checked in with it.

Install the profile (signed or not; a signature that does not hold is refused), trust its
anchors, obtain the identity (SCEP, or PKCS#12 with its password), then check in:
`Authenticate`, `TokenUpdate` (with `AwaitingConfiguration` when the cloud configuration had
`AwaitDeviceConfigured`). Each step is reported and recorded; the first that fails ends the
enrollment with its reason in words, and nothing about the device changes.
"""

from __future__ import annotations

import asyncio
import base64
import os
import uuid
from dataclasses import dataclass, field
from typing import Any

import httpx
from cryptography import x509
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.hazmat.primitives.serialization import pkcs12

from ..attestation.attestor import Attestor
from ..clock import service as clock
from . import acme, scep, transport
from . import profile as profiles
from .commands import Facts


class EnrollmentFailed(Exception):
    """One step failed; the message says why in words."""


@dataclass
class Enrolled:
    """What enrollment leaves on the device, to be stored."""

    identity: transport.Identity
    anchors: list[x509.Certificate]
    mdm: dict[str, Any]
    profile: profiles.Profile
    push_magic: str
    token: bytes
    unlock_token: bytes | None
    awaiting_configuration: bool
    token_update_sent: bool = True  # False: held after Authenticate (token_update.send)


@dataclass
class Attempt:
    """The steps taken so far (each a dict of step, url, status, ok, detail, sent, answered)."""

    steps: list[dict[str, Any]] = field(default_factory=list)
    profile: profiles.Profile | None = None

    def add(self, step: dict[str, Any]) -> None:
        self.steps.append({"wall_at": clock.wall_now()} | step)

    def fail(self, step: str, reason: str, **fields: Any) -> EnrollmentFailed:
        self.add({"step": step, "ok": False, "detail": reason} | fields)
        return EnrollmentFailed(reason)


def user_agent(facts: Facts) -> str:
    return f"MDM/1.0 ({facts.product}; {facts.os} {facts.os_version} {facts.build}) dep-emulator device"


def anchors_of(profile: profiles.Profile, config: dict[str, Any]) -> list[x509.Certificate]:
    """The profile's certificate payloads plus the cloud configuration's AnchorCertificates."""
    anchors = list(profile.anchors)
    for item in config.get("AnchorCertificates") or []:
        try:
            anchors.append(x509.load_der_x509_certificate(base64.b64decode(item, validate=True)))
        except ValueError:
            continue  # already reported by the first request to the MDM
    return anchors


async def enroll(
    attempt: Attempt,
    body: bytes,
    *,
    facts: Facts,
    config: dict[str, Any],
    timeout_seconds: float,
    now: Any,
    attestor: Attestor | None = None,
    pending_retries: int = 0,
    hold_token_update: bool = False,
) -> Enrolled:
    """Run enrollment from the profile in `body`; EnrollmentFailed (the step recorded) if a step fails.
    `hold_token_update`: stop after Authenticate (token_update.send sends it later)."""
    try:
        profile = profiles.parse(body)
        mdm, identity_payload = profiles.enrollment_payloads(profile)
    except profiles.ProfileError as exc:
        raise attempt.fail("profile.install", str(exc)) from exc
    attempt.profile = profile
    if profile.signed and not profile.signature_valid:
        raise attempt.fail(
            "profile.install", f"the profile's signature does not hold: {profile.signature_problem}"
        )
    attempt.add(
        {
            "step": "profile.install",
            "ok": True,
            "detail": (
                f"signed by {profile.signer}, signature verified" if profile.signed else "unsigned profile"
            ),
            "answered": ", ".join(str(p.get("PayloadType")) for p in profile.payloads),
        }
    )
    anchors = anchors_of(profile, config)
    if identity_payload.get("PayloadType") == profiles.ACME and attestor is not None:  # acme.py
        identity = await acme.obtain(
            attempt, identity_payload, anchors, attestor=attestor, timeout_seconds=timeout_seconds
        )
        attempt.add({"step": "acme", "ok": True, "answered": identity.certificate.subject.rfc4514_string()})
    else:
        identity = await _identity(
            attempt,
            identity_payload,
            anchors,
            timeout_seconds=timeout_seconds,
            now=now,
            pending_retries=pending_retries,
        )
    sign = bool(mdm.get("SignMessage", False))
    check_in_url = str(mdm.get("CheckInURL") or mdm["ServerURL"])
    awaiting = bool(config.get("AwaitDeviceConfigured", False))
    push_magic = str(uuid.uuid4()).upper()
    token = os.urandom(32)
    unlock_token = os.urandom(64) if facts.os in ("iOS", "iPadOS") else None
    authenticate = {
        "MessageType": "Authenticate",
        "Topic": mdm["Topic"],
        "UDID": facts.udid,
        "SerialNumber": facts.serial_number,
        "BuildVersion": facts.build,
        "OSVersion": facts.os_version,
        "ProductName": facts.product,
        "Model": facts.product,
        "ModelName": facts.model,
        "DeviceName": facts.model,
    }
    if facts.imei:
        authenticate["IMEI"] = facts.imei
    if facts.meid:
        authenticate["MEID"] = facts.meid
    token_update = token_update_message(
        topic=mdm["Topic"],
        udid=facts.udid,
        push_magic=push_magic,
        token=token,
        unlock_token=unlock_token,
        awaiting=awaiting,
    )
    messages = (authenticate,) if hold_token_update else (authenticate, token_update)
    async with transport.mdm_client(
        identity, anchors, client_certificate=not sign, timeout_seconds=timeout_seconds
    ) as client:
        for message in messages:
            await check_in(attempt, client, check_in_url, message, identity=identity, sign=sign, facts=facts)
    return Enrolled(
        identity, anchors, mdm, profile, push_magic, token, unlock_token, awaiting, not hold_token_update
    )


def token_update_message(
    *, topic: str, udid: str, push_magic: str, token: bytes, unlock_token: bytes | None, awaiting: bool
) -> dict[str, Any]:
    """The TokenUpdate check-in; `AwaitingConfiguration` while Setup Assistant waits for DeviceConfigured."""
    message: dict[str, Any] = {
        "MessageType": "TokenUpdate",
        "Topic": topic,
        "UDID": udid,
        "PushMagic": push_magic,
        "Token": token,
    }
    if unlock_token is not None:
        message["UnlockToken"] = unlock_token
    if awaiting:
        message["AwaitingConfiguration"] = True
    return message


async def check_in(
    attempt: Attempt,
    client: httpx.AsyncClient,
    url: str,
    message: dict[str, Any],
    *,
    identity: transport.Identity,
    sign: bool,
    facts: Facts,
) -> None:
    step = f"checkin.{message['MessageType']}"
    sent, answer = await transport.put_plist(
        client,
        url,
        message,
        content_type=transport.CHECKIN,
        identity=identity,
        sign=sign,
        user_agent=user_agent(facts),
    )
    answered = transport.printable(answer.body, 4000)
    fields = {"url": url, "status": answer.status, "sent": sent.decode(), "answered": answered}
    if answer.error is not None:
        raise attempt.fail(step, answer.error, **fields)
    if answer.status != 200:
        raise attempt.fail(step, transport.status_reason(answer), **fields)
    attempt.add({"step": step, "ok": True, "detail": None} | fields)


async def _identity(
    attempt: Attempt,
    payload: dict[str, Any],
    anchors: list[x509.Certificate],
    *,
    timeout_seconds: float,
    now: Any,
    pending_retries: int,
) -> transport.Identity:
    if payload.get("PayloadType") == profiles.PKCS12:
        return _from_pkcs12(attempt, payload)
    exchanges: list[dict[str, Any]] = []
    try:
        async with (
            asyncio.timeout(timeout_seconds),
            httpx.AsyncClient(timeout=timeout_seconds, verify=transport.trust(anchors)) as client,
        ):
            result = await scep.enroll(
                client, payload, now=now, exchanges=exchanges, pending_retries=pending_retries
            )
    except scep.ScepError as exc:
        attempt.steps.extend(exchanges)
        if not exchanges or exchanges[-1]["ok"]:
            raise attempt.fail("scep", str(exc)) from exc
        raise EnrollmentFailed(str(exc)) from exc
    except (httpx.HTTPError, httpx.InvalidURL, TimeoutError) as exc:
        attempt.steps.extend(exchanges)
        reason = f"the SCEP server could not be reached: {type(exc).__name__}: {exc}"
        if isinstance(exc, (httpx.TimeoutException, TimeoutError)):
            reason = f"the SCEP server did not answer within {timeout_seconds:g} seconds"
        elif "CERTIFICATE_VERIFY_FAILED" in str(exc):
            reason = f"the SCEP server's certificate is not trusted: {exc}"
        raise attempt.fail("scep", reason) from exc
    except (ValueError, TypeError) as exc:  # the payload's Keysize, Subject, ... are unusable
        attempt.steps.extend(exchanges)
        raise attempt.fail("scep", f"the SCEP payload cannot be used: {exc}") from exc
    attempt.steps.extend(exchanges)
    return transport.Identity(result.certificate, result.key)


identity_from_payload = _identity  # also a DDM SCEP credential asset's (ddm/credentials.py)


def _from_pkcs12(attempt: Attempt, payload: dict[str, Any]) -> transport.Identity:
    data = payload.get("PayloadContent")
    password = payload.get("Password")
    if not isinstance(data, bytes):
        raise attempt.fail("pkcs12", "the com.apple.security.pkcs12 payload holds no data")
    try:
        key, cert, _ = pkcs12.load_key_and_certificates(
            data, password.encode() if isinstance(password, str) else None
        )
    except ValueError as exc:
        raise attempt.fail(
            "pkcs12", f"the PKCS#12 identity could not be opened (wrong Password?): {exc}"
        ) from exc
    if cert is None or not isinstance(key, rsa.RSAPrivateKey):
        raise attempt.fail("pkcs12", "the PKCS#12 payload holds no RSA identity (certificate and key)")
    attempt.add({"step": "pkcs12", "ok": True, "detail": None, "answered": cert.subject.rfc4514_string()})
    return transport.Identity(cert, key)


def pem(cert: x509.Certificate) -> str:
    return cert.public_bytes(serialization.Encoding.PEM).decode()
