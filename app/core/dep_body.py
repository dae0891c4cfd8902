"""Reading Apple-surface request bodies by hand, so bad input gets Apple's codes, never a 500.

Apple answers 400 MALFORMED_REQUEST_BODY when a body is not valid JSON (spec §6, §11); we give
the same answer for JSON of the wrong shape (an array instead of an object, a string limit).
"""

from __future__ import annotations

import json
from typing import Any

from fastapi import Request

from .errors import DepError

MAX_BODY = 8 * 1024 * 1024  # 8 MiB: room for ~400k serials; more is not a DEP client


def malformed() -> DepError:
    return DepError("MALFORMED_REQUEST_BODY")


async def json_object(request: Request, *, required: bool) -> dict[str, Any]:
    """The body as a JSON object; an empty body is `{}` unless `required`."""
    raw = await request.body()
    if len(raw) > MAX_BODY:
        raise malformed()
    if not raw.strip():
        if required:
            raise malformed()
        return {}
    try:
        value = json.loads(raw)
    except (ValueError, RecursionError):
        raise malformed() from None
    if not isinstance(value, dict):
        raise malformed()
    if b"\\u" in raw and not _is_text(value):
        raise malformed()
    return value


def _is_text(value: Any) -> bool:
    """False when a string holds a lone surrogate ("\\ud800" is valid JSON, not storable text)."""
    try:
        json.dumps(value, ensure_ascii=False).encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def optional_int(body: dict[str, Any], key: str) -> int | None:
    """An integer field (JSON `null` or absent: None); strings, floats and booleans are malformed."""
    value = body.get(key)
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int):
        raise malformed()
    return value


def serial_list(body: dict[str, Any], key: str = "devices") -> list[str]:
    """A non-empty list of serials; missing or empty → DEVICE_ID_REQUIRED (spec §6.4, §6.5)."""
    value = body.get(key)
    if value is None or value == []:
        raise DepError("DEVICE_ID_REQUIRED")
    if not isinstance(value, list) or not all(isinstance(item, str) for item in value):
        raise malformed()
    try:  # lone surrogates ("\ud800") parse as JSON but are not text: they could never be echoed back
        "".join(value).encode("utf-8")
    except UnicodeEncodeError:
        raise malformed() from None
    return value
