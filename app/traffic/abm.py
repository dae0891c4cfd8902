"""The Business Manager API (`/v1`, abm-api.md §1.8) under the traffic rules.

Budgets are per API account (the bearer token identifies it; whether Apple counts per account
or per org is unverified, §1.9): `abm_get` for GET and HEAD, `abm_post` for every other method
(POST, PATCH, DELETE). A refusal is always 429, even when the org chose 503 for DEP (Apple
documents 429 on every /v1 endpoint), with `Retry-After` in seconds and the JSON:API error
envelope that clients parse (§1.7), never DEP's bare code.
"""

from __future__ import annotations

import json
import uuid

from ..core.security import hash_secret

PREFIX = "/v1/"
STATUS = 429
CONTENT_TYPE = b"application/json"
MAX_TOKEN_LENGTH = 200
# A fault's 429 on /v1 without a Retry-After of its own gets this one (pyaxm waits 60 s by default).
FAULT_RETRY_AFTER = "60"


def is_abm_path(path: str) -> bool:
    return path.startswith(PREFIX)


def path_template(path: str) -> str:
    """The path with its id segment as `{id}`, the form fault scripts name Business API operations
    by: `/v1/blueprints/B1/relationships/apps` → `/v1/blueprints/{id}/relationships/apps`."""
    parts = path.split("/")
    if len(parts) > 3 and parts[3]:
        parts[3] = "{id}"
    return "/".join(parts)


def fault_answer(
    status: int, body: bytes, headers: list[tuple[bytes, bytes]], *, own_body: bool
) -> tuple[bytes, list[tuple[bytes, bytes]]]:
    """A fault script's 429 on /v1 as Apple's rate limit answers it (§1.8): the JSON:API document
    and a Retry-After (the script's, else FAULT_RETRY_AFTER); anything else, or a script's own
    `body`, is sent as the script says."""
    if status != STATUS or own_body:
        return body, headers
    retry_after = next((v.decode("latin-1") for k, v in headers if k == b"retry-after"), FAULT_RETRY_AFTER)
    kept = [(k, v) for k, v in headers if k not in (b"retry-after", b"content-type")]
    return refusal_body(retry_after), [
        *kept,
        (b"retry-after", retry_after.encode("latin-1")),
        (b"content-type", CONTENT_TYPE),
    ]


def bearer_hash(authorization: str | None) -> str | None:
    """The stored hash of a bearer token (the token itself never leaves this function)."""
    scheme, _, token = (authorization or "").partition(" ")
    token = token.strip()
    if scheme.lower() != "bearer" or not token or len(token) > MAX_TOKEN_LENGTH:
        return None
    return hash_secret(token)


def refusal_body(retry_after: str) -> bytes:
    """The 429 document; the title and code are those of Apple's other JSON:API services."""
    error = {
        "id": str(uuid.uuid4()),
        "status": str(STATUS),
        "code": "RATE_LIMIT_EXCEEDED",
        "title": "The request rate limit has been reached.",
        "detail": f"Too many requests for this API account. Retry after {retry_after} seconds.",
    }
    return json.dumps({"errors": [error]}).encode()
