"""The Business API 2.x fault switches (abm-api-2.md §5 item 10, §1.3, §2.9): built-in device
management off, permissions the API account lacks, a fault script's 429 with Retry-After on the
new operations (named by their `{id}` template), and orgDevices' activationLockStatus link."""

from __future__ import annotations

from typing import Any

import httpx
from fastapi import FastAPI

from tests.abm.conftest import assert_error, bearer_client, create_api_account, get_token
from tests.abm.test_blueprints import blueprint_body, world
from tests.devices.helpers import add
from tests.traffic.support import add_fault, journal

BUILTIN = ("/v1/apps", "/v1/packages", "/v1/mdmDevices", "/v1/blueprints", "/v1/configurations")


async def patch_settings(client: httpx.AsyncClient, org_id: str, **values: Any) -> dict[str, Any]:
    response = await client.patch(f"/emulator/v1/orgs/{org_id}/settings", json=values)
    assert response.status_code == 200, response.text
    data: dict[str, Any] = response.json()
    return data


async def test_builtin_management_off_forbids_its_resources(
    client: httpx.AsyncClient, abm: httpx.AsyncClient, org: dict[str, Any]
) -> None:
    w = await world(client, org["id"])
    created = await abm.post("/v1/blueprints", json=blueprint_body(apps=["361309726"], users=[w["user"]]))
    assert created.status_code == 201, created.text
    blueprint_id = created.json()["data"]["id"]
    assert (await client.get(f"/emulator/v1/orgs/{org['id']}/settings")).json()[
        "builtin_device_management"
    ] is True
    for path in BUILTIN:
        assert (await abm.get(path)).status_code == 200, path

    await patch_settings(client, org["id"], builtin_device_management=False)
    for path in (*BUILTIN, "/v1/apps/361309726", f"/v1/blueprints/{blueprint_id}/relationships/apps"):
        error = assert_error(await abm.get(path), 403, "FORBIDDEN_ERROR")
        assert "built-in device management" in error["detail"], path
    assert_error(await abm.delete(f"/v1/blueprints/{blueprint_id}"), 403, "FORBIDDEN_ERROR")
    # People and the device views do not depend on the built-in service.
    for path in ("/v1/users", "/v1/userGroups", "/v1/orgDevices", "/v1/mdmServers"):
        assert (await abm.get(path)).status_code == 200, path
    # Back on: the Blueprint was never touched.
    await patch_settings(client, org["id"], builtin_device_management=None)
    assert (await abm.get(f"/v1/blueprints/{blueprint_id}")).status_code == 200


async def test_missing_permissions_forbid_those_resources_only(
    app: FastAPI, client: httpx.AsyncClient, abm: httpx.AsyncClient, org: dict[str, Any]
) -> None:
    users = (
        await client.post(
            f"/emulator/v1/orgs/{org['id']}/users", json={"first_name": "Ann", "last_name": "Lee"}
        )
    ).json()
    settings = await patch_settings(client, org["id"], api_missing_permissions=["users", "blueprints"])
    assert settings["api_missing_permissions"] == ["users", "blueprints"]
    for path in ("/v1/users", f"/v1/users/{users['id']}", "/v1/blueprints"):
        error = assert_error(await abm.get(path), 403, "FORBIDDEN_ERROR")
        assert "permission" in error["detail"]
    assert_error(await abm.post("/v1/blueprints", json=blueprint_body()), 403, "FORBIDDEN_ERROR")
    for path in ("/v1/userGroups", "/v1/apps", "/v1/orgDevices"):
        assert (await abm.get(path)).status_code == 200, path
    # A School token still gets its 404 on Business-only paths (the variant comes first).
    edu = (await client.post("/emulator/v1/orgs", json={"name": "School", "org_type": "edu"})).json()
    await patch_settings(client, edu["id"], api_missing_permissions=["users"])
    account = await create_api_account(client, edu["id"])
    async with bearer_client(app, await get_token(client, account)) as school:
        assert_error(await school.get("/v1/users"), 404, "NOT_FOUND")
    # Unknown resource names are refused by the control API.
    refused = await client.patch(
        f"/emulator/v1/orgs/{org['id']}/settings", json={"api_missing_permissions": ["orgDevices"]}
    )
    assert refused.status_code == 422


async def test_fault_script_429_on_a_templated_operation(
    client: httpx.AsyncClient, abm: httpx.AsyncClient, org: dict[str, Any]
) -> None:
    w = await world(client, org["id"])
    created = await abm.post(
        "/v1/blueprints", json=blueprint_body(apps=["361309726"], orgDevices=[w["serials"][0]])
    )
    blueprint_id = created.json()["data"]["id"]
    await add_fault(
        client,
        {
            "endpoint": "GET /v1/blueprints/{id}/relationships/orgDevices",
            "responses": [{"status": 429, "retry_after": 7}, {"count": 1, "error": "TOO_MANY_REQUESTS"}],
        },
    )
    # Other operations are not hit.
    assert (await abm.get(f"/v1/blueprints/{blueprint_id}/relationships/apps")).status_code == 200
    assert (await abm.get(f"/v1/blueprints/{blueprint_id}")).status_code == 200
    path = f"/v1/blueprints/{blueprint_id}/relationships/orgDevices"
    first = await abm.get(path)
    error = assert_error(first, 429, "RATE_LIMIT_EXCEEDED")
    assert first.headers["retry-after"] == "7" and "7" in error["detail"]
    second = await abm.get(path)
    assert_error(second, 429, "RATE_LIMIT_EXCEEDED")
    assert second.headers["retry-after"] == "60"  # a script without one: Apple-like default
    third = await abm.get(path)
    assert third.status_code == 200 and third.json()["data"] == [
        {"type": "orgDevices", "id": w["serials"][0]}
    ]
    refused = await journal(client, status=429)
    assert {e["path"] for e in refused} == {path} and all(e["fault"] for e in refused)
    # A write operation by its exact method and template.
    await add_fault(client, {"endpoint": "POST /v1/blueprints", "responses": [{"status": 429}]})
    assert_error(await abm.post("/v1/blueprints", json=blueprint_body()), 429, "RATE_LIMIT_EXCEEDED")
    # A templated endpoint must name `{id}` exactly.
    bad = await client.post(
        "/emulator/v1/faults", json={"endpoint": "GET /v1/blueprints/{x}", "responses": [{"status": 429}]}
    )
    assert bad.status_code == 422


async def test_org_devices_link_activation_lock_status(
    app: FastAPI, client: httpx.AsyncClient, abm: httpx.AsyncClient, org: dict[str, Any]
) -> None:
    await add(client, org["id"], "ALLINK0001")
    device = (await abm.get("/v1/orgDevices/ALLINK0001")).json()["data"]
    links = device["relationships"]["activationLockStatus"]["links"]
    assert links["self"].endswith("/v1/orgDevices/ALLINK0001/relationships/activationLockStatus")
    assert links["related"].endswith("/v1/orgDevices/ALLINK0001/activationLockStatus")
    linkage = (await abm.get(links["self"])).json()
    assert linkage["data"] == {"type": "activationLockStatus", "id": "ALLINK0001"}
    related = (await abm.get(links["related"])).json()["data"]
    assert related["attributes"] == {"isLocked": False, "lockType": "NONE"}
    only = (await abm.get("/v1/orgDevices/ALLINK0001?fields[orgDevices]=activationLockStatus")).json()
    assert list(only["data"]["relationships"]) == ["activationLockStatus"]
    assert_error(
        await abm.get("/v1/orgDevices/NOSUCH0001/relationships/activationLockStatus"), 404, "NOT_FOUND"
    )
    # School tokens have it too (§1.2).
    edu = (await client.post("/emulator/v1/orgs", json={"name": "School", "org_type": "edu"})).json()
    await add(client, edu["id"], "ALSCHOOL01")
    account = await create_api_account(client, edu["id"])
    async with bearer_client(app, await get_token(client, account)) as school:
        device = (await school.get("/v1/orgDevices/ALSCHOOL01")).json()["data"]
        related = device["relationships"]["activationLockStatus"]["links"]["related"]
        assert (await school.get(related)).json()["data"]["attributes"]["lockType"] == "NONE"
        assert (
            await school.get(device["relationships"]["activationLockStatus"]["links"]["self"])
        ).status_code == 200


async def test_a_seed_file_sets_the_business_api_switches(client: httpx.AsyncClient) -> None:
    values = {
        "builtin_device_management": False,
        "api_missing_permissions": ["apps", "mdmDevices"],
        "blueprint_name_rules": "strict",
        "blueprint_delete_grace_seconds": 600,
        "blueprint_linkage_delay_seconds": 30,
    }
    seeded = await client.post(
        "/emulator/v1/seed", json={"orgs": [{"name": "Switched Org", "settings": values}]}
    )
    assert seeded.status_code == 200, seeded.text
    org_id = seeded.json()["orgs"][0]["id"]
    settings = (await client.get(f"/emulator/v1/orgs/{org_id}/settings")).json()
    assert {key: settings[key] for key in values} == values
    bad = await client.post(
        "/emulator/v1/seed",
        json={"orgs": [{"name": "Switched Org", "settings": {"blueprint_name_rules": "portal"}}]},
    )
    assert bad.status_code == 422, bad.text
