"""Named errors a fault may answer with, and their status (spec §4.4, §11, §12.4).

Upper-case codes are written like `DepError` (bare, or quoted with
DEPEMU_ERROR_BODY_STYLE=quoted); the lower-case OAuth problems like `/session` writes them
(DEPEMU_OAUTH_ERROR_STYLE). A fault entry may override the status (`token_rejected` is seen
as both 401 and 403, §4.4).
"""

from __future__ import annotations

NAMED_ERRORS: dict[str, int] = {
    # session and authorisation (§4.3–§4.7)
    "UNAUTHORIZED": 401,
    "FORBIDDEN": 403,
    "ACCESS_DENIED": 403,
    "T_C_NOT_SIGNED": 403,
    "token_rejected": 401,
    "signature_invalid": 403,
    "token_expired": 401,
    "consumer_key_unknown": 401,
    "nonce_used": 401,
    "timestamp_refused": 401,
    # request validation (§11)
    "BAD_REQUEST": 400,
    "MALFORMED_REQUEST_BODY": 400,
    "USER_AGENT_MISSING": 400,
    "USER_AGENT_INVALID": 400,
    # cursors (§8)
    "CURSOR_REQUIRED": 400,
    "INVALID_CURSOR": 400,
    "EXHAUSTED_CURSOR": 400,
    "EXPIRED_CURSOR": 400,
    # devices and profiles (§11)
    "DEVICE_ID_REQUIRED": 400,
    "PROFILE_UUID_REQUIRED": 400,
    "NOT_FOUND": 400,
    "PROFILE_NOT_FOUND": 404,
    "DEVICE_NOT_FOUND": 400,
    "ORG_NOT_SUPPORTED": 400,
    "APPLE_SEED_FOR_IT_TURNED_OFF": 403,
    # throttling and outages (§12)
    "TOO_MANY_REQUESTS": 429,
    "INTERNAL_SERVER_ERROR": 500,
    "SERVICE_UNAVAILABLE": 503,
}

# Written as the OAuth layer writes them, never quoted (§4.4).
OAUTH_PROBLEMS = frozenset(
    {
        "token_rejected",
        "signature_invalid",
        "token_expired",
        "consumer_key_unknown",
        "nonce_used",
        "timestamp_refused",
    }
)

# How a 5xx from an outage reads: plain text, like the real service's front end.
OUTAGE_BODIES = {
    "INTERNAL_SERVER_ERROR": "Internal Server Error",
    "SERVICE_UNAVAILABLE": "Service Unavailable",
}
