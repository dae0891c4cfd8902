"""Configurations (abm-api-2.md §2.6, §3.4), apps and packages (§2.5) through the Business API."""

from __future__ import annotations

import base64
import plistlib
from typing import Any

import httpx

from tests.abm.conftest import assert_error

APP_ATTRIBUTES = {"name", "bundleId", "websiteUrl", "appStoreUrl", "version", "supportedOS", "isCustomApp"}
PACKAGE_ATTRIBUTES = {
    "name",
    "description",
    "url",
    "hash",
    "bundleIds",
    "version",
    "createdDateTime",
    "updatedDateTime",
}

# Both ends of the audit trail's range are required (issue 29 item 6).
ALL_TIME = "filter[startTimestamp]=2000-01-01T00:00:00Z&filter[endTimestamp]=2100-01-01T00:00:00Z"


def profile(*payload_types: str) -> str:
    content = [
        {
            "PayloadType": t,
            "PayloadIdentifier": f"com.example.{i}",
            "PayloadUUID": f"UUID-{i}",
            "PayloadVersion": 1,
        }
        for i, t in enumerate(payload_types)
    ]
    return plistlib.dumps(
        {
            "PayloadContent": content,
            "PayloadDisplayName": "Test",
            "PayloadType": "Configuration",
            "PayloadVersion": 1,
        }
    ).decode()


def body(**attributes: Any) -> dict[str, Any]:
    values = {
        "type": "CUSTOM_SETTING",
        "name": "Wi-Fi",
        "customSettingsValues": {"configurationProfile": profile("com.apple.wifi.managed")},
    }
    values.update(attributes)
    return {"data": {"type": "configurations", "attributes": values}}


async def test_a_custom_setting_is_created_read_updated_and_deleted(
    abm: httpx.AsyncClient,
) -> None:
    created = await abm.post("/v1/configurations", json=body())
    assert created.status_code == 201, created.text
    data = created.json()["data"]
    config_id = data["id"]
    assert data["type"] == "configurations" and "relationships" not in data
    attributes = data["attributes"]
    assert attributes["type"] == "CUSTOM_SETTING" and attributes["name"] == "Wi-Fi"
    # No platforms given: derived from the payloads (Wi-Fi suits all four).
    assert attributes["configuredForPlatforms"] == [
        "PLATFORM_MACOS",
        "PLATFORM_IOS",
        "PLATFORM_TVOS",
        "PLATFORM_VISIONOS",
    ]
    assert attributes["customSettingsValues"]["filename"] == f"{config_id}.mobileconfig"
    assert plistlib.loads(attributes["customSettingsValues"]["configurationProfile"].encode())[
        "PayloadContent"
    ]
    listed = (await abm.get("/v1/configurations")).json()["data"]
    assert [c["id"] for c in listed] == [config_id] and "customSettingsValues" not in listed[0]["attributes"]
    patch = {
        "data": {
            "type": "configurations",
            "id": config_id,
            "attributes": {
                "name": "Office Wi-Fi",
                "customSettingsValues": {"filename": "office.mobileconfig"},
            },
        }
    }
    updated = await abm.patch(f"/v1/configurations/{config_id}", json=patch)
    assert updated.status_code == 200, updated.text
    values = updated.json()["data"]["attributes"]
    assert (
        values["name"] == "Office Wi-Fi"
        and values["customSettingsValues"]["filename"] == "office.mobileconfig"
    )
    assert values["updatedDateTime"] >= attributes["updatedDateTime"]
    assert (await abm.delete(f"/v1/configurations/{config_id}")).status_code == 204
    assert_error(await abm.get(f"/v1/configurations/{config_id}"), 404, "NOT_FOUND")
    events = (await abm.get(f"/v1/auditEvents?{ALL_TIME}")).json()["data"]
    mine = [e["attributes"] for e in events if e["attributes"]["subjectId"] == config_id]
    assert [e["type"] for e in mine] == [
        "CONFIG_SETTINGS_CREATED",
        "CONFIG_SETTINGS_UPDATED",
        "CONFIG_SETTINGS_DELETED",
    ]
    assert (
        mine[1]["subjectType"] == "DEVICE_MANAGEMENT_SETTING" and mine[1]["category"] == "DEVICE_MANAGEMENT"
    )
    assert mine[1]["eventDataConfigSettingsUpdated"] == {
        "configType": "CUSTOM_SETTING",
        "configId": config_id,
        "configVersion": "2",
    }


async def test_profile_and_platform_rules(abm: httpx.AsyncClient) -> None:
    encoded = base64.b64encode(profile("com.apple.wifi.managed").encode()).decode()
    assert_error(
        await abm.post(
            "/v1/configurations", json=body(customSettingsValues={"configurationProfile": encoded})
        ),
        400,
        "PARAMETER_ERROR.INVALID",
    )
    empty = plistlib.dumps({"PayloadContent": [], "PayloadType": "Configuration"}).decode()
    assert_error(
        await abm.post("/v1/configurations", json=body(customSettingsValues={"configurationProfile": empty})),
        400,
        "PARAMETER_ERROR.INVALID",
    )
    assert_error(
        await abm.post(
            "/v1/configurations", json=body(customSettingsValues={"configurationProfile": "<plist"})
        ),
        400,
        "PARAMETER_ERROR.INVALID",
    )
    named = body(
        customSettingsValues={
            "configurationProfile": profile("com.apple.wifi.managed"),
            "filename": "wifi.plist",
        }
    )
    assert_error(await abm.post("/v1/configurations", json=named), 409, "ENTITY_ERROR.ATTRIBUTE.INVALID")
    firewall = profile("com.apple.security.firewall")
    mac = await abm.post(
        "/v1/configurations", json=body(customSettingsValues={"configurationProfile": firewall})
    )
    assert mac.json()["data"]["attributes"]["configuredForPlatforms"] == ["PLATFORM_MACOS"]
    ios = body(
        configuredForPlatforms=["PLATFORM_IOS"], customSettingsValues={"configurationProfile": firewall}
    )
    error = assert_error(
        await abm.post("/v1/configurations", json=ios), 409, "ENTITY_ERROR.ATTRIBUTE.INVALID"
    )
    assert error["source"]["pointer"] == "/data/attributes/configuredForPlatforms"
    wifi = body(type="WIFI")
    error = assert_error(
        await abm.post("/v1/configurations", json=wifi), 409, "ENTITY_ERROR.ATTRIBUTE.INVALID"
    )
    assert error["source"]["pointer"] == "/data/attributes/type"
    config_id = mac.json()["data"]["id"]
    nothing = {"data": {"type": "configurations", "id": config_id, "attributes": {}}}
    assert_error(
        await abm.patch(f"/v1/configurations/{config_id}", json=nothing),
        409,
        "ENTITY_ERROR.ATTRIBUTE.INVALID",
    )
    to_ios = {
        "data": {
            "type": "configurations",
            "id": config_id,
            "attributes": {"configuredForPlatforms": ["PLATFORM_IOS"]},
        }
    }
    assert_error(
        await abm.patch(f"/v1/configurations/{config_id}", json=to_ios), 409, "ENTITY_ERROR.ATTRIBUTE.INVALID"
    )
    assert_error(await abm.patch("/v1/configurations/NOPE", json=to_ios), 404, "NOT_FOUND")


async def test_portal_configurations_are_read_only(
    client: httpx.AsyncClient, abm: httpx.AsyncClient, org: dict[str, Any]
) -> None:
    made = await client.post(
        f"/emulator/v1/orgs/{org['id']}/configurations",
        json={"type": "FILE_VAULT", "name": "FileVault", "platforms": ["PLATFORM_MACOS"]},
    )
    assert made.status_code == 201, made.text
    config_id = made.json()["id"]
    data = (await abm.get(f"/v1/configurations/{config_id}")).json()["data"]
    assert data["attributes"]["type"] == "FILE_VAULT" and "customSettingsValues" not in data["attributes"]
    patch = {"data": {"type": "configurations", "id": config_id, "attributes": {"name": "X"}}}
    assert_error(
        await abm.patch(f"/v1/configurations/{config_id}", json=patch), 409, "ENTITY_ERROR.ATTRIBUTE.INVALID"
    )
    assert_error(await abm.delete(f"/v1/configurations/{config_id}"), 409, "ENTITY_ERROR.ATTRIBUTE.INVALID")


async def test_a_deleted_configuration_leaves_its_blueprints(
    client: httpx.AsyncClient, abm: httpx.AsyncClient, org: dict[str, Any]
) -> None:
    user = (
        await client.post(f"/emulator/v1/orgs/{org['id']}/users", json={"first_name": "A", "last_name": "B"})
    ).json()
    await client.post(
        f"/emulator/v1/orgs/{org['id']}/apps",
        json={"adam_id": "361309726", "name": "Pages", "bundle_id": "com.apple.Pages"},
    )
    config_id = (await abm.post("/v1/configurations", json=body())).json()["data"]["id"]
    relationships = {
        "apps": {"data": [{"type": "apps", "id": "361309726"}]},
        "configurations": {"data": [{"type": "configurations", "id": config_id}]},
        "users": {"data": [{"type": "users", "id": user["id"]}]},
    }
    bp = await abm.post(
        "/v1/blueprints",
        json={"data": {"type": "blueprints", "attributes": {"name": "B"}, "relationships": relationships}},
    )
    bp_id = bp.json()["data"]["id"]
    assert (await abm.delete(f"/v1/configurations/{config_id}")).status_code == 204
    assert (await abm.get(f"/v1/blueprints/{bp_id}/relationships/configurations")).json()["data"] == []


async def test_apps_and_packages_catalogues(
    client: httpx.AsyncClient, abm: httpx.AsyncClient, org: dict[str, Any]
) -> None:
    made = await client.post(f"/emulator/v1/orgs/{org['id']}/catalogue", json={"apps": 12, "packages": 3})
    assert made.json() == {"apps": 12, "packages": 3}
    first = (await abm.get("/v1/apps?limit=5")).json()
    assert len(first["data"]) == 5 and first["links"]["next"]
    apps = first["data"] + (await abm.get(first["links"]["next"] + "&limit=1000")).json()["data"]
    assert len({a["id"] for a in apps}) == 12
    pages = (await abm.get("/v1/apps/361309726")).json()["data"]
    assert pages["type"] == "apps" and set(pages["attributes"]) == APP_ATTRIBUTES
    assert pages["attributes"]["name"] == "Pages" and pages["attributes"]["appStoreUrl"].endswith(
        "id361309726"
    )
    assert (
        "SUPPORTED_OS_IOS" in pages["attributes"]["supportedOS"]
        and pages["attributes"]["isCustomApp"] is False
    )
    assert (await abm.get("/v1/apps/361309726?fields[apps]=bundleId")).json()["data"]["attributes"] == {
        "bundleId": "com.apple.Pages"
    }
    assert_error(await abm.get("/v1/apps/1"), 404, "NOT_FOUND")
    assert_error(await abm.get("/v1/apps?fields[apps]=price"), 400, "PARAMETER_ERROR.INVALID")
    packages = (await abm.get("/v1/packages")).json()["data"]
    assert len(packages) == 3 and set(packages[0]["attributes"]) == PACKAGE_ATTRIBUTES
    one = (await abm.get(f"/v1/packages/{packages[0]['id']}")).json()["data"]
    assert one["attributes"]["url"].endswith(".pkg") and len(one["attributes"]["hash"]) == 32
    assert_error(await abm.get("/v1/packages/NOPE"), 404, "NOT_FOUND")
    taken = await client.post(
        f"/emulator/v1/orgs/{org['id']}/apps",
        json={"adam_id": "361309726", "name": "Pages", "bundle_id": "x"},
    )
    assert taken.status_code == 409
