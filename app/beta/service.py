"""`GET /os-beta-enrollment/tokens` (spec §6.8): AppleSeed for IT tokens, one per OS.

Tokens are 64 base62 characters derived from the org (stable across calls and replicas, as
the real ones are for an org). Titles follow the OS generation current on the emulator
clock: Apple's year-named versions, whose betas start in June (WWDC).
"""

from __future__ import annotations

import hashlib
import string
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from ..clock import service as clock
from ..core.errors import DepError
from ..orgs.models import MdmServer, Org
from ..orgs.settings import org_setting

_BASE62 = string.digits + string.ascii_uppercase + string.ascii_lowercase
_MACOS_NAMES = {26: "Tahoe"}
# (os as Apple writes it, title template); `{v}` is the version, `{mac}` macOS's marketing name.
_PLATFORMS = (
    ("iOS", "iOS {v} AppleSeed Beta"),
    ("OSX", "macOS {mac} AppleSeed Beta"),
    ("tvOS", "tvOS {v} AppleSeed Beta"),
    ("visionOS", "visionOS {v} AppleSeed Beta"),
    ("watchOS", "watchOS {v} AppleSeed Beta"),
    ("homePodOS", "HomePod Software {v} AppleSeed Beta"),
)


def _token(org_id_hash: str, os_name: str, version: int) -> str:
    digest = hashlib.sha512(f"{org_id_hash}:{os_name}:{version}".encode()).digest()
    number = int.from_bytes(digest, "big")
    chars = []
    for _ in range(64):
        number, rest = divmod(number, 62)
        chars.append(_BASE62[rest])
    return "".join(chars)


async def beta_tokens(db: AsyncSession, *, server: MdmServer) -> dict[str, Any]:
    org = await db.get(Org, server.org_id)
    assert org is not None
    if not org_setting(org, "apple_seed_for_it"):
        raise DepError("APPLE_SEED_FOR_IT_TURNED_OFF", status_code=403)
    now = await clock.now(db)
    version = now.year - 2000 + (1 if now.month >= 6 else 0)
    mac = f"{_MACOS_NAMES[version]} {version}" if version in _MACOS_NAMES else str(version)
    return {
        "betaEnrollmentTokens": [
            {
                "token": _token(org.org_id_hash, os_name, version),
                "title": title.format(v=version, mac=mac),
                "os": os_name,
            }
            for os_name, title in _PLATFORMS
        ]
    }
