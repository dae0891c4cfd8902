"""Rules every DEP endpoint shares (spec §1, §5, §6): User-Agent, unknown paths and methods, bodies."""

from __future__ import annotations

import httpx
import pytest


async def test_missing_user_agent(mdm: httpx.AsyncClient) -> None:
    response = await mdm.get("/account", headers={"User-Agent": ""})
    assert (response.status_code, response.text) == (400, "USER_AGENT_MISSING")
    assert response.headers["content-type"].startswith("text/plain")


@pytest.mark.parametrize("settings_overrides", [{"user_agent_deny": "godep,^curl/"}])
async def test_denied_user_agent(mdm: httpx.AsyncClient) -> None:
    response = await mdm.get("/account", headers={"User-Agent": "nanodep-godep/0"})
    assert (response.status_code, response.text) == (400, "USER_AGENT_INVALID")
    assert (await mdm.get("/account", headers={"User-Agent": "nanodep-g-o-dep/0"})).status_code == 200


async def test_user_agent_is_checked_before_the_session(client: httpx.AsyncClient) -> None:
    response = await client.get("/account", headers={"User-Agent": ""})
    assert (response.status_code, response.text) == (400, "USER_AGENT_MISSING")


async def test_unknown_path_is_an_empty_404(client: httpx.AsyncClient) -> None:
    response = await client.post("/roster/class", headers={"User-Agent": "x"})
    assert (response.status_code, response.content) == (404, b"")


async def test_wrong_method_is_an_empty_405(client: httpx.AsyncClient) -> None:
    response = await client.post("/account", headers={"User-Agent": "x"})
    assert (response.status_code, response.content) == (405, b"")
    response = await client.delete("/session")
    assert (response.status_code, response.content) == (405, b"")


async def test_control_api_404_and_405_are_json(client: httpx.AsyncClient) -> None:
    response = await client.get("/emulator/v1/nothing-here")
    assert response.status_code == 404 and response.json()["error"]["code"] == "not_found"
    response = await client.delete("/emulator/v1/clock")
    assert response.status_code == 405 and response.json()["error"]["code"] == "method_not_allowed"


@pytest.mark.parametrize("settings_overrides", [{"error_body_style": "quoted"}])
async def test_depsim_quoted_bodies(client: httpx.AsyncClient) -> None:
    response = await client.get("/account", headers={"User-Agent": "x"})
    assert (response.status_code, response.text) == (401, '"UNAUTHORIZED"')


async def test_health_and_readiness(client: httpx.AsyncClient) -> None:
    assert (await client.get("/healthz")).json() == {"status": "ok"}
    assert (await client.get("/readyz")).json() == {"status": "ok"}


async def test_openapi_documents_both_surfaces(client: httpx.AsyncClient) -> None:
    paths = (await client.get("/openapi.json")).json()["paths"]
    for path in [
        "/session",
        "/account",
        "/emulator/v1/orgs",
        "/emulator/v1/clock",
        "/emulator/v1/mdm-servers/{server_uuid}/token",
    ]:
        assert path in paths
