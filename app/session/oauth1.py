"""OAuth 1.0a (RFC 5849) header parsing and HMAC-SHA1 signatures for `GET /session` (spec §4.1).

Clients differ in everything the RFC lets them: parameter order, spacing after commas,
an optional `realm="ADM"`, an optional `oauth_version`. Parsing accepts all of that and
rejects what Apple answers 400 for: a missing or duplicated protocol parameter, an
unsupported parameter, or a signature method other than HMAC-SHA1.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import re
from dataclasses import dataclass
from urllib.parse import quote, unquote

REQUIRED_PARAMS = frozenset(
    {
        "oauth_consumer_key",
        "oauth_token",
        "oauth_signature_method",
        "oauth_signature",
        "oauth_timestamp",
        "oauth_nonce",
    }
)
OPTIONAL_PARAMS = frozenset({"oauth_version", "realm"})

_PARAM = re.compile(r'\s*([A-Za-z0-9_\-.~%]+)\s*=\s*"([^"]*)"\s*(?:,|$)')


class OAuthHeaderError(ValueError):
    """The header is unusable; `problem` is the OAuth problem-reporting name."""

    def __init__(self, problem: str, message: str) -> None:
        self.problem = problem
        super().__init__(message)


@dataclass(frozen=True, slots=True)
class OAuthParams:
    consumer_key: str
    token: str
    signature_method: str
    signature: str
    timestamp: int
    nonce: str
    params: dict[str, str]  # every protocol parameter except realm, decoded


def percent_encode(value: str) -> str:
    """RFC 5849 §3.6: unreserved characters stay, everything else is %XX (upper case)."""
    return quote(value, safe="-._~")


def parse_authorization(header: str | None) -> OAuthParams:
    if not header:
        raise OAuthHeaderError("parameter_absent", "no Authorization header")
    scheme, _, rest = header.strip().partition(" ")
    if scheme.lower() != "oauth":
        raise OAuthHeaderError("parameter_absent", "Authorization scheme is not OAuth")
    params: dict[str, str] = {}
    position = 0
    rest = rest.strip()
    while position < len(rest):
        match = _PARAM.match(rest, position)
        if match is None:
            raise OAuthHeaderError("parameter_rejected", "malformed OAuth parameter list")
        name, value = unquote(match.group(1)), unquote(match.group(2))
        if name in params:
            raise OAuthHeaderError("parameter_rejected", f"duplicated parameter {name}")
        if name not in REQUIRED_PARAMS and name not in OPTIONAL_PARAMS:
            raise OAuthHeaderError("parameter_rejected", f"unsupported parameter {name}")
        params[name] = value
        position = match.end()
    missing = sorted(REQUIRED_PARAMS - params.keys())
    if missing:
        raise OAuthHeaderError("parameter_absent", f"missing {', '.join(missing)}")
    if params["oauth_signature_method"] != "HMAC-SHA1":
        raise OAuthHeaderError("signature_method_rejected", "only HMAC-SHA1 is supported")
    if "oauth_version" in params and params["oauth_version"] != "1.0":
        raise OAuthHeaderError("version_rejected", "oauth_version must be 1.0")
    if not params["oauth_timestamp"].isdigit() or len(params["oauth_timestamp"]) > 12:
        raise OAuthHeaderError("parameter_rejected", "oauth_timestamp must be Unix seconds")
    params.pop("realm", None)
    return OAuthParams(
        consumer_key=params["oauth_consumer_key"],
        token=params["oauth_token"],
        signature_method=params["oauth_signature_method"],
        signature=params["oauth_signature"],
        timestamp=int(params["oauth_timestamp"]),
        nonce=params["oauth_nonce"],
        params=params,
    )


def signature_base_string(method: str, base_url: str, params: dict[str, str]) -> str:
    """RFC 5849 §3.4.1: METHOD&pct(base URL)&pct(sorted, encoded k=v pairs without the signature)."""
    pairs = sorted(
        (percent_encode(k), percent_encode(v)) for k, v in params.items() if k != "oauth_signature"
    )
    normalized = "&".join(f"{k}={v}" for k, v in pairs)
    return "&".join([method.upper(), percent_encode(base_url), percent_encode(normalized)])


def hmac_sha1_signature(base_string: str, consumer_secret: str, token_secret: str) -> str:
    key = f"{percent_encode(consumer_secret)}&{percent_encode(token_secret)}"
    digest = hmac.new(key.encode(), base_string.encode(), hashlib.sha1).digest()
    return base64.b64encode(digest).decode()


def signature_matches(
    oauth: OAuthParams, *, method: str, base_url: str, consumer_secret: str, token_secret: str
) -> bool:
    expected = hmac_sha1_signature(
        signature_base_string(method, base_url, oauth.params), consumer_secret, token_secret
    )
    return hmac.compare_digest(expected.encode(), oauth.signature.encode())


def normalize_base_url(scheme: str, host: str, path: str) -> str:
    """RFC 5849 §3.4.1.2: lower-case scheme and host, default ports dropped, no query."""
    scheme = scheme.lower()
    host = host.lower()
    if (scheme == "http" and host.endswith(":80")) or (scheme == "https" and host.endswith(":443")):
        host = host.rsplit(":", 1)[0]
    return f"{scheme}://{host}{path}"
