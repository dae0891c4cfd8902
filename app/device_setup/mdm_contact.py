"""The device's first request to the MDM, as Setup Assistant makes it, and what came back.

With a `ConfigurationWebURL` the device opens it in a web view (GET, the signed machine info
base64-encoded in the `x-apple-aspen-deviceinfo` header); otherwise it POSTs the signed machine
info to `ConfigurationURL` as `application/pkcs7-signature`. The profile's anchor certificates
are trusted for that TLS connection, as on a device. Failures are reported, never raised.
"""

from __future__ import annotations

import base64
import plistlib
import ssl
from typing import Any

import httpx

from . import cms
from .schemas import EnrollmentProfileOut, MdmContactOut

MAX_RESPONSE = 2 * 1024 * 1024


def _ssl_context(anchor_certs: list[str]) -> ssl.SSLContext:
    context = ssl.create_default_context()
    for anchor in anchor_certs:
        context.load_verify_locations(cadata=base64.b64decode(anchor, validate=True))
    return context


async def contact_mdm(
    config: dict[str, Any], *, signed_info: bytes, user_agent: str, timeout_seconds: float
) -> tuple[MdmContactOut, bytes | None]:
    """What the MDM answered, and the body it answered with (None when no answer came)."""
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
    result = MdmContactOut(method=method, url=url)
    try:
        verify = _ssl_context(list(config.get("AnchorCertificates") or []))
    except (ValueError, ssl.SSLError) as exc:
        result.error = f"unusable anchor certificate: {exc}"
        return result, None
    try:
        async with httpx.AsyncClient(
            timeout=timeout_seconds, verify=verify, follow_redirects=False
        ) as client:
            async with client.stream(method, url, headers=headers, content=content) as response:
                body = b""
                async for chunk in response.aiter_bytes():
                    body += chunk
                    if len(body) > MAX_RESPONSE:
                        break
    except (httpx.HTTPError, ssl.SSLError, OSError, ValueError) as exc:
        result.error = f"{type(exc).__name__}: {exc}" if str(exc) else type(exc).__name__
        return result, None
    result.status = response.status_code
    result.content_type = response.headers.get("content-type")
    result.enrollment_profile = parse_enrollment_profile(body)
    return result, body


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
