"""Random tokens, hashing of stored secrets and constant-time comparison."""

from __future__ import annotations

import hashlib
import hmac
import secrets


def random_hex(n_bytes: int, *, upper: bool = False) -> str:
    value = secrets.token_hex(n_bytes)
    return value.upper() if upper else value


def hash_secret(value: str) -> str:
    """SHA-256 of a high-entropy token: enough for session tokens, which are never guessable."""
    return hashlib.sha256(value.encode("utf-8")).hexdigest()


def constant_time_equals(a: str, b: str) -> bool:
    return hmac.compare_digest(a.encode("utf-8"), b.encode("utf-8"))
