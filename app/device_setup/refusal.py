"""An MDM's refusal in words, as a device's log would put it (issue 28).

A device that gets anything but a profile reports why: the status, Apple's predefined 403 body
when there is one (`code`, `message`, `details`: JSON or an XML plist, spec device-2026 §2;
e.g. `com.apple.softwareupdate.required`), `Retry-After` when the MDM asks to come back later,
and the start of whatever else the MDM said.
"""

from __future__ import annotations

import json
import plistlib
from collections.abc import Mapping
from typing import Any

SAID = 200  # characters of a body quoted in a reason


def said(body: bytes, limit: int = SAID) -> str | None:
    """The start of `body` as text, when it is text (None for binary or empty bodies)."""
    try:
        text = " ".join(body[:limit].decode("utf-8").split())  # one line, as a log puts it
    except UnicodeDecodeError:
        return None
    return text if text and text.isprintable() else None


def apple_error(body: bytes, content_type: str) -> dict[str, Any] | None:
    """Apple's predefined 403 body ({"code", "message", "details"}), JSON or plist; else None."""
    document: Any = None
    try:
        if "json" in content_type:
            document = json.loads(body)
        elif "xml" in content_type or "plist" in content_type:
            document = plistlib.loads(body)
    except Exception:  # json and plistlib raise several types on garbage
        return None
    if isinstance(document, dict) and isinstance(document.get("code"), str):
        return document
    return None


def in_words(status: int, headers: Mapping[str, str], body: bytes) -> str:
    """Why the answer is not what the device asked for."""
    content_type = headers.get("content-type", "")
    if status == 401:
        reason = "the MDM answered 401 Unauthorized: it does not accept the device"
    elif status == 403:
        error = apple_error(body, content_type)
        if error is not None:
            details = error.get("details")
            pairs = details.items() if isinstance(details, dict) else []
            listed = ", ".join(f"{k} {v}" for k, v in pairs if isinstance(v, str))
            message = error.get("message") or error.get("description")
            reason = f"the MDM refused the device (HTTP 403, {error['code']})"
            reason += f": {message}" if isinstance(message, str) and message else ""
            return reason + (f" ({listed})" if listed else "")
        reason = "the MDM refused the device (HTTP 403)"
    else:
        reason = f"the MDM answered HTTP {status}"
    retry_after = headers.get("retry-after")
    if retry_after:
        seconds = retry_after.strip()
        reason += f"; it asks to retry after {seconds}" + (" seconds" if seconds.isdigit() else "")
    text = said(body)
    return f"{reason}: {text}" if text else reason
