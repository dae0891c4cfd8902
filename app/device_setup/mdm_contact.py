"""The device's first request to the MDM, as Setup Assistant makes it, and what came back.

With a `ConfigurationWebURL` the device opens it in a web view (GET, the signed machine info
base64-encoded in the `x-apple-aspen-deviceinfo` header); otherwise it POSTs the signed machine
info to `ConfigurationURL` as `application/pkcs7-signature`. The profile's anchor certificates
are trusted for that TLS connection, as on a device. Failures are reported, never raised.
"""

from __future__ import annotations

import asyncio
import base64
import plistlib
import ssl
from dataclasses import dataclass
from typing import Any

import httpx

from ..core import tls
from . import cms, refusal
from .schemas import EnrollmentProfileOut, MdmContactOut


@dataclass(frozen=True, slots=True)
class ContactLimits:
    """The bounds of one exchange with the MDM (settings `mdm_contact_timeout_seconds`,
    `mdm_max_redirects`, `mdm_profile_max_bytes`)."""

    timeout_seconds: float
    max_redirects: int
    max_bytes: int


def ssl_context(anchor_certs: list[str]) -> ssl.SSLContext:
    return tls.shared_context(tuple(base64.b64decode(anchor, validate=True) for anchor in anchor_certs))


async def contact_mdm(
    config: dict[str, Any],
    *,
    signed_info: bytes,
    user_agent: str,
    limits: ContactLimits,
    bearer_token: str | None = None,
) -> tuple[MdmContactOut, bytes | None]:
    """What the MDM answered, and the body it answered with (None when no usable answer came:
    `error` or `refusal` says why, in words). Bounded: the whole exchange takes at most
    `limits.timeout_seconds`, follows at most `limits.max_redirects` redirects and reads at most
    `limits.max_bytes` of body."""
    web_url = config.get("ConfigurationWebURL")
    if web_url:
        method, url = "GET", str(web_url)
        headers = {"x-apple-aspen-deviceinfo": base64.b64encode(signed_info).decode()}
        content = None
    else:
        method, url = "POST", str(config["ConfigurationURL"])
        headers = {"Content-Type": "application/pkcs7-signature"}
        content = signed_info
    headers["User-Agent"] = user_agent
    if bearer_token is not None:  # the Platform SSO retry (macOS 26, device-2026.md §2.3)
        headers["Authorization"] = f"Bearer {bearer_token}"
    result = MdmContactOut(method=method, url=url)
    try:
        verify = ssl_context(list(config.get("AnchorCertificates") or []))
    except (ValueError, ssl.SSLError) as exc:
        result.error = f"unusable anchor certificate: {exc}"
        return result, None
    try:
        async with asyncio.timeout(limits.timeout_seconds):
            async with httpx.AsyncClient(
                timeout=limits.timeout_seconds,
                verify=verify,
                follow_redirects=True,
                max_redirects=limits.max_redirects,
            ) as client:
                async with client.stream(method, url, headers=headers, content=content) as response:
                    result.status = response.status_code
                    result.content_type = response.headers.get("content-type")
                    result.set_cookies = response.headers.get_list("set-cookie")  # for the web view
                    body = b""
                    async for chunk in response.aiter_bytes():
                        body += chunk
                        if len(body) > limits.max_bytes:
                            result.refusal = (
                                f"the MDM's answer is larger than {limits.max_bytes} bytes, the most a "
                                "device reads for an enrollment profile"
                            )
                            return result, None
    except (TimeoutError, httpx.TimeoutException):
        result.status = result.content_type = None
        result.error = f"the MDM did not answer within {limits.timeout_seconds:g} seconds"
        return result, None
    except httpx.TooManyRedirects:
        result.status = result.content_type = None
        result.error = f"the MDM redirected more than {limits.max_redirects} times (a redirect loop?)"
        return result, None
    except (httpx.HTTPError, ssl.SSLError, OSError, ValueError) as exc:
        result.status = result.content_type = None
        result.error = f"the MDM did not answer: {network_reason(exc)}"
        return result, None
    if response.status_code != 200:
        result.refusal = refusal.in_words(response.status_code, response.headers, body)
        return result, body
    if not body.strip():
        result.refusal = "the MDM answered 200 with an empty body instead of a profile"
        return result, body
    result.enrollment_profile = parse_enrollment_profile(body)
    return result, body


def network_reason(exc: Exception) -> str:
    """Why no (complete) answer came, in words, with the library's own message."""
    text = str(exc)
    if isinstance(exc, httpx.ConnectError):
        if "CERTIFICATE_VERIFY_FAILED" in text:
            return f"the server certificate is not trusted (not issued by an anchor or a system root): {text}"
        return f"could not connect: {text}" if text else "could not connect"
    if isinstance(exc, httpx.RemoteProtocolError):
        return f"the server closed the connection before its answer was complete: {text}"
    return f"{type(exc).__name__}: {text}" if text else type(exc).__name__


def parse_enrollment_profile(body: bytes) -> EnrollmentProfileOut | None:
    """The enrollment profile's outline, from a plist (XML or binary), signed or not; else None."""
    signed = False
    try:
        document = plistlib.loads(body)
    except Exception:  # plistlib raises several types on garbage
        try:
            document = plistlib.loads(cms.signed_content(body))
            signed = True
        except Exception:
            return None
    if not isinstance(document, dict) or not isinstance(document.get("PayloadContent"), list):
        return None
    payloads = [p for p in document["PayloadContent"] if isinstance(p, dict)]
    mdm = next((p for p in payloads if p.get("PayloadType") == "com.apple.mdm"), {})
    return EnrollmentProfileOut(
        signed=signed,
        payload_identifier=_text(document.get("PayloadIdentifier")),
        payload_types=[_text(p.get("PayloadType")) for p in payloads],
        server_url=_text(mdm.get("ServerURL")),
        check_in_url=_text(mdm.get("CheckInURL")),
        topic=_text(mdm.get("Topic")),
    )


def _text(value: Any) -> str | None:
    return value if isinstance(value, str) else None
