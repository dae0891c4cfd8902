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


def is_abm_path(path: str) -> bool:
    return path.startswith(PREFIX)


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
