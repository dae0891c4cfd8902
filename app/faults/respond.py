"""What a fired transport-level fault entry sends (the middleware's half of a script)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from ..core.config import ErrorBodyStyle, OAuthErrorStyle, Settings
from .catalogue import NAMED_ERRORS, OAUTH_PROBLEMS, OUTAGE_BODIES

PLAIN_TEXT = b"text/plain;charset=UTF8"


@dataclass(frozen=True, slots=True)
class FaultAction:
    """`answer` (status/body/headers), `drop`, `delay_ms` then continue, or nothing (pass)."""

    kind: str
    status: int | None = None
    body: bytes = b""
    headers: list[tuple[bytes, bytes]] = field(default_factory=list)
    delay_ms: int = 0
    label: str = ""

    @property
    def answers(self) -> bool:
        return self.status is not None


def error_body(code: str, settings: Settings) -> str:
    if code in OUTAGE_BODIES:
        return OUTAGE_BODIES[code]
    if code in OAUTH_PROBLEMS:  # written like /session writes them, never quoted (§4.4)
        return f"oauth_problem={code}" if settings.oauth_error_style is OAuthErrorStyle.PROBLEM else code
    return f'"{code}"' if settings.error_body_style is ErrorBodyStyle.QUOTED else code


def action_for(response: dict[str, Any], settings: Settings) -> FaultAction:
    """Translate a stored entry into what the middleware does."""
    headers: list[tuple[bytes, bytes]] = []
    if response.get("retry_after") is not None:
        headers.append((b"retry-after", str(response["retry_after"]).encode("latin-1")))
    if "error" in response:
        code = str(response["error"])
        status = int(response.get("status") or NAMED_ERRORS[code])
        body = error_body(code, settings).encode()
        headers.append((b"content-type", PLAIN_TEXT))
        return FaultAction("error", status=status, body=body, headers=headers, label=f"error {code}")
    if "status" in response:
        status = int(response["status"])
        raw = response.get("body")
        if raw is None:
            raw = error_body("TOO_MANY_REQUESTS", settings) if status == 429 else ""
        headers.append((b"content-type", PLAIN_TEXT))
        return FaultAction(
            "status", status=status, body=str(raw).encode(), headers=headers, label=f"status {status}"
        )
    if "delay_ms" in response:
        delay = int(response["delay_ms"])
        return FaultAction("delay", delay_ms=delay, label=f"delay {delay}ms")
    if response.get("drop_connection"):
        return FaultAction("drop", label="drop_connection")
    return FaultAction("pass", label="pass")
