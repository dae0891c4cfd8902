"""orgDevices, mdmServers and their relationships: shapes, sparse fieldsets, paging errors, CRUD."""

from __future__ import annotations

import base64
from typing import Any

import httpx
import pytest
from cryptography import x509
from cryptography.hazmat.primitives import serialization
from fastapi import FastAPI

from tests.abm.conftest import assert_error, bearer_client, create_api_account, get_token
from tests.abm.test_flow import activity_body, run_activity
from tests.conftest import create_org, make_certificate, snapshot
from tests.devices.helpers import add, assign

ORG_DEVICE_ATTRIBUTES = {
    "serialNumber",
    "addedToOrgDateTime",
    "releasedFromOrgDateTime",
    "updatedDateTime",
    "deviceModel",
    "productFamily",
    "productType",
    "deviceCapacity",
    "partNumber",
    "orderNumber",
    "color",
    "status",
    "orderDateTime",
    "imei",
    "meid",
    "eid",
    "wifiMacAddress",
    "bluetoothMacAddress",
    "ethernetMacAddress",
    "purchaseSourceId",
    "purchaseSourceType",
    "isMdmMigrationCapable",
    "mdmMigrationStatus",
    "mdmMigrationDeadlineDateTime",
    "releaserEntityType",  # abm-api-2.md §2.9, null until released (issue 30)
    "releaserId",
}


def certificate_body(name: str = "New MDM", **attributes: Any) -> dict[str, Any]:
    cert_pem, _ = make_certificate()
    der = x509.load_pem_x509_certificate(cert_pem).public_bytes(serialization.Encoding.DER)
    certificate = {"name": "mdm.cer", "data": base64.b64encode(der).decode()}
    return {
        "data": {
            "type": "mdmServers",
            "attributes": {"serverName": name, "serverCertificate": certificate, **attributes},
        }
    }


async def test_org_device_has_every_attribute(
    client: httpx.AsyncClient, abm: httpx.AsyncClient, org: dict[str, Any]
) -> None:
    await add(client, org["id"], "C02TEST0001", description="IPHONE 15 256GB BLACK", order_number="ORD-1")
    await add(client, org["id"], "C02TEST0002")
    document = (await abm.get("/v1/orgDevices/C02TEST0001")).json()
    data = document["data"]
    assert document["links"]["self"] == "http://dep.test/v1/orgDevices/C02TEST0001"
    assert data["type"] == "orgDevices" and data["id"] == "C02TEST0001"
    assert set(data["attributes"]) == ORG_DEVICE_ATTRIBUTES
    attributes = data["attributes"]
    assert attributes["serialNumber"] == "C02TEST0001" and attributes["status"] == "UNASSIGNED"
    assert attributes["productFamily"] == "iPhone" and attributes["deviceCapacity"] == "256GB"
    assert attributes["purchaseSourceType"] == "APPLE" and attributes["purchaseSourceId"] == org["id"]
    assert attributes["addedToOrgDateTime"].endswith("Z")
    assert data["relationships"]["assignedServer"]["links"] == {
        "self": "http://dep.test/v1/orgDevices/C02TEST0001/relationships/assignedServer",
        "related": "http://dep.test/v1/orgDevices/C02TEST0001/assignedServer",
    }
    manual = (await abm.get("/v1/orgDevices/C02TEST0002")).json()["data"]["attributes"]
    assert manual["purchaseSourceType"] == "MANUALLY_ADDED" and manual["orderNumber"] == ""
    linkage = (await abm.get("/v1/orgDevices/C02TEST0002/relationships/assignedServer")).json()
    assert linkage["data"] is None
    coverage = (await abm.get("/v1/orgDevices/C02TEST0001/appleCareCoverage")).json()
    assert coverage["data"][0]["type"] == "appleCareCoverage"
    assert coverage["data"][0]["attributes"]["description"] == "Limited Warranty"


async def test_sparse_fieldsets(
    client: httpx.AsyncClient, abm: httpx.AsyncClient, org: dict[str, Any]
) -> None:
    await add(client, org["id"], "SPARSE0001")
    response = await abm.get(
        "/v1/orgDevices", params={"fields[orgDevices]": "serialNumber,status,assignedServer"}
    )
    data = response.json()["data"][0]
    assert set(data["attributes"]) == {"serialNumber", "status"}
    assert set(data["relationships"]) == {"assignedServer"}
    servers = await abm.get("/v1/mdmServers", params={"fields[mdmServers]": "serverName"})
    assert servers.status_code == 200


async def test_public_base_url_makes_links(
    app: FastAPI, client: httpx.AsyncClient, abm: httpx.AsyncClient, org: dict[str, Any]
) -> None:
    await add(client, org["id"], "LINK0001", "LINK0002")
    settings = app.state.settings
    app.state.settings = settings.model_copy(update={"public_base_url": "https://api-business.example"})
    try:
        document = (await abm.get("/v1/orgDevices?limit=1")).json()
    finally:
        app.state.settings = settings
    assert document["links"]["self"] == "https://api-business.example/v1/orgDevices?limit=1"
    assert document["links"]["next"].startswith("https://api-business.example/v1/orgDevices?limit=1&cursor=")


@pytest.mark.parametrize(
    ("url", "parameter"),
    [
        ("/v1/orgDevices?limit=1001", "limit"),
        ("/v1/orgDevices?limit=0", "limit"),
        ("/v1/orgDevices?limit=ten", "limit"),
        ("/v1/orgDevices?cursor=%%%", "cursor"),
        ("/v1/orgDevices?fields[orgDevices]=serialNumber,nope", "fields[orgDevices]"),
        ("/v1/mdmServers?fields[mdmServers]=", "fields[mdmServers]"),
        ("/v1/mdmServers?limit=5000", "limit"),
    ],
)
async def test_bad_parameters_are_400(abm: httpx.AsyncClient, url: str, parameter: str) -> None:
    error = assert_error(await abm.get(url), 400, "PARAMETER_ERROR.INVALID")
    assert error["source"] == {"parameter": parameter}


@pytest.mark.parametrize(
    "path",
    [
        "/v1/orgDevices/NOSUCHSERIAL",
        "/v1/orgDevices/NOSUCHSERIAL/assignedServer",
        "/v1/orgDevices/NOSUCHSERIAL/relationships/assignedServer",
        "/v1/orgDevices/NOSUCHSERIAL/appleCareCoverage",
        "/v1/mdmServers/1F97349736CF4614A94F624E705841AD",
        "/v1/mdmServers/not-an-id/relationships/devices",
        "/v1/orgDeviceActivities/0b1f6a2e-3c4d-4e5f-8a9b-0c1d2e3f4a5b",
        "/v1/orgDeviceActivities/not-a-uuid",
        "/v1/noSuchResource",
    ],
)
async def test_unknown_resources_are_404(abm: httpx.AsyncClient, path: str) -> None:
    error = assert_error(await abm.get(path), 404, "NOT_FOUND")
    assert error["title"] == "The specified resource doesn't exist"


async def test_other_orgs_are_invisible(
    app: FastAPI,
    client: httpx.AsyncClient,
    abm: httpx.AsyncClient,
    org: dict[str, Any],
    server: dict[str, Any],
) -> None:
    """An API account sees its own org only: another org's device and server are 404."""
    other = await create_org(client, name="Other Org")
    await add(client, other["id"], "OTHERORG01")
    async with bearer_client(
        app, await get_token(client, await create_api_account(client, other["id"]))
    ) as them:
        assert_error(await them.get(f"/v1/mdmServers/{server['server_uuid']}"), 404, "NOT_FOUND")
        assert (await them.get("/v1/orgDevices/OTHERORG01")).status_code == 200
    assert_error(await abm.get("/v1/orgDevices/OTHERORG01"), 404, "NOT_FOUND")


async def test_mdm_server_crud(
    client: httpx.AsyncClient, abm: httpx.AsyncClient, org: dict[str, Any], server: dict[str, Any]
) -> None:
    response = await abm.post(
        "/v1/mdmServers", json=certificate_body("Created by API", enableMdmDisownFlag=True)
    )
    assert response.status_code == 201, response.text
    created = response.json()["data"]
    assert len(created["id"]) == 32 and created["id"] == created["id"].upper()
    attributes = created["attributes"]
    assert attributes["serverName"] == "Created by API" and attributes["serverType"] == "MDM"
    assert attributes["enableMdmDisownFlag"] is True and attributes["deviceCount"] == 0
    assert attributes["status"] == "ACTIVE" and attributes["lastConnectedIp"] is None
    assert created["relationships"]["devices"]["links"]["self"].endswith(
        f"/v1/mdmServers/{created['id']}/relationships/devices"
    )

    # It is a DEP server like any other: the control API sees it with its certificate and issues a token.
    control = (await client.get(f"/emulator/v1/mdm-servers/{created['id']}")).json()
    assert control["server_name"] == "Created by API" and control["has_certificate"] is True
    assert (await client.post(f"/emulator/v1/mdm-servers/{created['id']}/token")).status_code == 200

    patch = {
        "data": {
            "type": "mdmServers",
            "id": created["id"],
            "attributes": {"serverName": "Renamed", "defaultProductFamilies": ["IPHONE", "MAC"]},
        }
    }
    response = await abm.patch(f"/v1/mdmServers/{created['id']}", json=patch)
    assert response.status_code == 200, response.text
    assert response.json()["data"]["attributes"]["serverName"] == "Renamed"
    assert response.json()["data"]["attributes"]["defaultProductFamilies"] == ["IPHONE", "MAC"]
    listed = (await abm.get("/v1/mdmServers")).json()
    assert sorted(s["attributes"]["serverName"] for s in listed["data"]) == ["Renamed", "Test MDM"]

    response = await abm.delete(f"/v1/mdmServers/{created['id']}")
    assert response.status_code == 204 and response.content == b""
    assert_error(await abm.get(f"/v1/mdmServers/{created['id']}"), 404, "NOT_FOUND")


async def test_mdm_server_delete_refused_while_devices_are_assigned(
    client: httpx.AsyncClient, abm: httpx.AsyncClient, org: dict[str, Any], server: dict[str, Any], pg: Any
) -> None:
    await add(client, org["id"], "ASSIGNED001")
    await assign(client, org["id"], server["server_uuid"], "ASSIGNED001")
    before = await snapshot(pg)
    # Not 409, which Apple's delete-an-mdmserver page does not list (issue 29 item 9).
    response = await abm.delete(f"/v1/mdmServers/{server['server_uuid']}")
    error = assert_error(response, 403, "FORBIDDEN_ERROR")
    assert "1 device(s)" in error["detail"]
    assert await snapshot(pg) == before


@pytest.mark.parametrize(
    ("body", "status", "code"),
    [
        pytest.param(b"{not json", 400, "ENTITY_UNPARSABLE", id="not-json"),
        pytest.param(
            {"data": {"type": "orgDevices", "attributes": {}}}, 422, "ENTITY_UNPROCESSABLE", id="wrong-type"
        ),
        pytest.param(
            {"data": {"type": "mdmServers", "attributes": {"serverName": "X"}}},
            422,
            "ENTITY_UNPROCESSABLE",
            id="no-certificate",
        ),
        pytest.param(
            {
                "data": {
                    "type": "mdmServers",
                    "attributes": {
                        "serverName": "X",
                        "serverCertificate": {"name": "a", "data": "bm90IGEgY2VydA=="},
                    },
                }
            },
            422,
            "ENTITY_UNPROCESSABLE",
            id="bad-certificate",
        ),
        pytest.param(certificate_body(""), 422, "ENTITY_UNPROCESSABLE", id="empty-name"),
        pytest.param(
            certificate_body("Test MDM"), 409, "ENTITY_ERROR.ATTRIBUTE.INVALID", id="duplicate-name"
        ),
    ],
)
async def test_mdm_server_create_errors(
    abm: httpx.AsyncClient, server: dict[str, Any], pg: Any, body: Any, status: int, code: str
) -> None:
    before = await snapshot(pg)
    if isinstance(body, bytes):
        response = await abm.post("/v1/mdmServers", content=body)
    else:
        response = await abm.post("/v1/mdmServers", json=body)
    assert_error(response, status, code)
    assert await snapshot(pg) == before


async def test_mdm_server_rename_to_taken_name_is_409(
    client: httpx.AsyncClient, abm: httpx.AsyncClient, org: dict[str, Any], server: dict[str, Any]
) -> None:
    created = (await abm.post("/v1/mdmServers", json=certificate_body("Second"))).json()["data"]
    patch = {"data": {"type": "mdmServers", "id": created["id"], "attributes": {"serverName": "Test MDM"}}}
    assert_error(
        await abm.patch(f"/v1/mdmServers/{created['id']}", json=patch), 409, "ENTITY_ERROR.ATTRIBUTE.INVALID"
    )


async def test_wrong_method_is_405_envelope(abm: httpx.AsyncClient) -> None:
    assert_error(await abm.put("/v1/orgDevices"), 405, "METHOD_NOT_ALLOWED")


async def test_server_assigned_via_activity_is_in_assigned_server(
    client: httpx.AsyncClient, abm: httpx.AsyncClient, org: dict[str, Any], server: dict[str, Any]
) -> None:
    await add(client, org["id"], "VIAACT0001")
    await run_activity(abm, activity_body("ASSIGN_DEVICES", ["VIAACT0001"], server["server_uuid"]))
    related = (await abm.get("/v1/orgDevices/VIAACT0001/assignedServer")).json()
    assert related["data"]["id"] == server["server_uuid"]
    assert related["data"]["attributes"]["deviceCount"] == 1
