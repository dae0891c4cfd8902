"""GET /os-beta-enrollment/tokens (spec §6.8; scenario 19)."""

from __future__ import annotations

import re
from typing import Any

import httpx
import pytest


@pytest.mark.parametrize("settings_overrides", [{"token_lifetime_days": 3650}])
async def test_tokens_per_os(client: httpx.AsyncClient, mdm: httpx.AsyncClient) -> None:
    response = await mdm.get("/os-beta-enrollment/tokens")
    assert response.status_code == 200
    assert response.headers["content-type"] == "application/json;charset=UTF8"
    tokens = response.json()["betaEnrollmentTokens"]
    assert [t["os"] for t in tokens] == ["iOS", "OSX", "tvOS", "visionOS", "watchOS", "homePodOS"]
    for token in tokens:
        assert set(token) == {"token", "title", "os"}
        assert re.fullmatch(r"[0-9A-Za-z]{64}", token["token"])
        assert token["title"].endswith("AppleSeed Beta")
    assert len({t["token"] for t in tokens}) == len(tokens)
    # Stable for the org.
    assert (await mdm.get("/os-beta-enrollment/tokens")).json()["betaEnrollmentTokens"] == tokens
    # The generation follows the emulator clock: a year later, new versions and tokens.
    await client.post("/emulator/v1/clock", json={"advance_seconds": 366 * 86400})
    later = (await mdm.get("/os-beta-enrollment/tokens")).json()["betaEnrollmentTokens"]
    assert later[0]["title"] != tokens[0]["title"] and later[0]["token"] != tokens[0]["token"]


async def test_apple_seed_turned_off(
    client: httpx.AsyncClient, mdm: httpx.AsyncClient, org: dict[str, Any]
) -> None:
    await client.patch(f"/emulator/v1/orgs/{org['id']}/settings", json={"apple_seed_for_it": False})
    response = await mdm.get("/os-beta-enrollment/tokens")
    assert (response.status_code, response.text) == (403, "APPLE_SEED_FOR_IT_TURNED_OFF")
    assert response.headers["content-type"].startswith("text/plain")
    await client.patch(f"/emulator/v1/orgs/{org['id']}/settings", json={"apple_seed_for_it": None})
    assert (await mdm.get("/os-beta-enrollment/tokens")).status_code == 200
