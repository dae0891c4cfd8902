"""Fetch and sync cursors: opaque, HMAC-signed, stateless, valid on every replica (spec §8.6–§8.7).

On the wire a cursor looks like Apple's: unpadded base64url of colon-separated numbers,
`<limit>:<position>:<until_ms>:<issued_ms>:<fetching>:<snapshot_ms>:<server>:<horizon>:<mac>`.
- fetching=true: a fetch in progress; `horizon` is the server's feed sequence when the fetch
  began (the snapshot) and `position` the `feed_seq` of the last device returned.
- fetching=false: a sync position; events with `seq > position` are still to be read. The last
  fetch page hands out such a cursor at `position = horizon`, so sync picks up every change
  made while the fetch was running.
The key lives in the `emulator_secret` row (dep_emulator.core.signing_key), never in process
memory, so any replica verifies any cursor; the mac covers every field, so a tampered or foreign
cursor is INVALID_CURSOR.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
from dataclasses import dataclass
from datetime import UTC, datetime

MAX_LENGTH = 1000  # spec §6.2
MAC_BYTES = 12


class BadCursor(Exception):
    """Not a cursor we issued (garbage, tampered, or unreadable)."""


@dataclass(frozen=True, slots=True)
class Cursor:
    server_id: int
    fetching: bool
    position: int
    horizon: int
    limit: int
    until_ms: int  # fetched_until of the page that issued it
    snapshot_ms: int  # when the fetch began (sync cursors: same as until_ms)
    issued_ms: int  # when it was issued, by the emulator clock: drives EXPIRED_CURSOR

    def fields(self) -> list[str]:
        return [
            str(self.limit),
            str(self.position),
            str(self.until_ms),
            str(self.issued_ms),
            "true" if self.fetching else "false",
            str(self.snapshot_ms),
            str(self.server_id),
            str(self.horizon),
        ]


def to_ms(moment: datetime) -> int:
    return int(moment.timestamp() * 1000)


def from_ms(value: int) -> datetime:
    return datetime.fromtimestamp(value / 1000, UTC)


def _mac(key: bytes, payload: str) -> int:
    return int.from_bytes(hmac.new(key, payload.encode("ascii"), hashlib.sha256).digest()[:MAC_BYTES], "big")


def encode(key: bytes, cursor: Cursor) -> str:
    payload = ":".join(cursor.fields())
    raw = f"{payload}:{_mac(key, payload)}".encode("ascii")
    return base64.urlsafe_b64encode(raw).decode("ascii").rstrip("=")


def _parse(value: object) -> tuple[str, list[str]] | None:
    """The payload and fields of something shaped like our cursor (not verified), else None."""
    if not isinstance(value, str) or not value or len(value) > MAX_LENGTH or not value.isascii():
        return None
    try:
        raw = base64.urlsafe_b64decode(value + "=" * (-len(value) % 4)).decode("ascii")
    except (binascii.Error, ValueError):
        return None
    parts = raw.split(":")
    if len(parts) != 9 or parts[4] not in ("true", "false"):
        return None
    if not all(parts[i].isdigit() and len(parts[i]) <= 40 for i in (0, 1, 2, 3, 5, 6, 7, 8)):
        return None
    return raw.rsplit(":", 1)[0], parts


def _cursor(parts: list[str]) -> Cursor:
    limit, position, until_ms, issued_ms, snapshot_ms, server_id, horizon = (
        int(parts[i]) for i in (0, 1, 2, 3, 5, 6, 7)
    )
    return Cursor(
        server_id=server_id,
        fetching=parts[4] == "true",
        position=position,
        horizon=horizon,
        limit=limit,
        until_ms=until_ms,
        snapshot_ms=snapshot_ms,
        issued_ms=issued_ms,
    )


def decode(key: bytes | None, value: object) -> Cursor:
    """Parse and verify; raises BadCursor for anything we did not issue (or anything, with no key yet)."""
    parsed = _parse(value)
    if parsed is None or key is None:  # no key yet: nothing was ever issued
        raise BadCursor
    payload, parts = parsed
    if not hmac.compare_digest(str(_mac(key, payload)), parts[8]):
        raise BadCursor
    return _cursor(parts)


def peek(value: object) -> Cursor | None:
    """The cursor's fields, NOT verified: only to read ahead what a verified cursor would ask for
    (the traffic middleware's sync page, dep_emulator.feed.read); `decode` decides."""
    parsed = _parse(value)
    return _cursor(parsed[1]) if parsed is not None else None
