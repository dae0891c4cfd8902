"""Blueprints (abm-api-2.md §2.7, §3.1–§3.3) through the Business API: Apple's write rules, the
linkages, include, the refused REPLACE and related URLs, and the COLLECTION_* audit events."""

from __future__ import annotations

from typing import Any

import httpx
from fastapi import FastAPI

from tests.abm.conftest import assert_error, bearer_client, create_api_account, get_token
from tests.devices.helpers import add, generate

SIX = ("apps", "configurations", "packages", "orgDevices", "users", "userGroups")

# Both ends of the audit trail's range are required (issue 29 item 6).
ALL_TIME = "filter[startTimestamp]=2000-01-01T00:00:00Z&filter[endTimestamp]=2100-01-01T00:00:00Z"


def linkage(kind: str, *ids: str) -> dict[str, Any]:
    return {"data": [{"type": kind, "id": i} for i in ids]}


def blueprint_body(name: str = "Marketing", **relationships: list[str]) -> dict[str, Any]:
    return {
        "data": {
            "type": "blueprints",
            "attributes": {"name": name, "description": "For the marketing team"},
            "relationships": {kind: linkage(kind, *ids) for kind, ids in relationships.items()},
        }
    }


async def world(client: httpx.AsyncClient, org_id: str) -> dict[str, Any]:
    """Two licensed apps (Pages: 2 licences), a package, two devices, a user and a group of one."""
    base = f"/emulator/v1/orgs/{org_id}"
    pages = await client.post(
        f"{base}/apps",
        json={"adam_id": "361309726", "name": "Pages", "bundle_id": "com.apple.Pages", "license_count": 2},
    )
    assert pages.status_code == 201, pages.text
    await client.post(
        f"{base}/apps", json={"adam_id": "618783545", "name": "Slack", "bundle_id": "com.tinyspeck.chatlyio"}
    )
    package = (
        await client.post(f"{base}/packages", json={"name": "Tools", "bundle_ids": ["com.example.tools"]})
    ).json()
    serials = await add(client, org_id, "BPDEV00001", "BPDEV00002")
    user = (await client.post(f"{base}/users", json={"first_name": "Ada", "last_name": "Lovelace"})).json()
    other = (await client.post(f"{base}/users", json={"first_name": "Bob", "last_name": "Byte"})).json()
    group = (
        await client.post(f"{base}/user-groups", json={"name": "Design", "members": [other["id"]]})
    ).json()
    return {
        "package": package["id"],
        "serials": serials,
        "user": user["id"],
        "other": other["id"],
        "group": group["id"],
    }


async def ids_of(abm: httpx.AsyncClient, blueprint_id: str, kind: str) -> set[str]:
    response = await abm.get(f"/v1/blueprints/{blueprint_id}/relationships/{kind}")
    assert response.status_code == 200, response.text
    assert all(item["type"] == kind for item in response.json()["data"])
    return {item["id"] for item in response.json()["data"]}


async def test_create_drops_unknown_ids_and_reads_back(
    client: httpx.AsyncClient, abm: httpx.AsyncClient, org: dict[str, Any]
) -> None:
    w = await world(client, org["id"])
    body = blueprint_body(
        apps=["361309726", "999999999"],
        packages=[w["package"]],
        orgDevices=[w["serials"][0], "NOSUCHSERIAL"],
        users=[w["user"], "1"],
        userGroups=["NOPE"],
    )
    response = await abm.post("/v1/blueprints", json=body)
    assert response.status_code == 201, response.text
    data = response.json()["data"]
    assert data["type"] == "blueprints" and data["attributes"]["status"] == "ACTIVE"
    assert set(data["attributes"]) == {
        "name",
        "description",
        "status",
        "appLicenseDeficient",
        "createdDateTime",
        "updatedDateTime",
    }
    assert set(data["relationships"]) == set(SIX)
    for kind in SIX:
        links = data["relationships"][kind]["links"]
        assert links["self"].endswith(f"/v1/blueprints/{data['id']}/relationships/{kind}")
        assert links["related"].endswith(f"/v1/blueprints/{data['id']}/{kind}")
    assert data["attributes"]["appLicenseDeficient"] is False  # 1 device + 1 user, 2 licences
    assert await ids_of(abm, data["id"], "apps") == {"361309726"}
    assert await ids_of(abm, data["id"], "orgDevices") == {w["serials"][0]}
    assert await ids_of(abm, data["id"], "users") == {w["user"]}
    assert await ids_of(abm, data["id"], "userGroups") == set()
    # A third target (the group's member) goes past Pages' two licences.
    assert (
        await abm.post(
            f"/v1/blueprints/{data['id']}/relationships/userGroups", json=linkage("userGroups", w["group"])
        )
    ).status_code == 204
    again = (await abm.get(f"/v1/blueprints/{data['id']}")).json()["data"]
    assert again["attributes"]["appLicenseDeficient"] is True
    listed = (await abm.get("/v1/blueprints")).json()["data"]
    assert [b["id"] for b in listed] == [data["id"]]


async def test_both_sides_are_required_after_dropping(
    client: httpx.AsyncClient, abm: httpx.AsyncClient, org: dict[str, Any]
) -> None:
    w = await world(client, org["id"])
    no_targets = await abm.post(
        "/v1/blueprints", json=blueprint_body(apps=["361309726"], orgDevices=["GHOST"])
    )
    error = assert_error(no_targets, 409, "ENTITY_ERROR.RELATIONSHIP.MISSING_MEMBERS")
    assert "MISSING_MEMBERS" in error["code"]
    no_content = await abm.post("/v1/blueprints", json=blueprint_body(apps=["1"], users=[w["user"]]))
    assert_error(no_content, 409, "ENTITY_ERROR.RELATIONSHIP.MISSING_RESOURCES")
    assert (await abm.get("/v1/blueprints")).json()["data"] == []  # nothing half-made
    nameless = blueprint_body(apps=["361309726"], users=[w["user"]])
    del nameless["data"]["attributes"]["name"]
    assert_error(await abm.post("/v1/blueprints", json=nameless), 409, "ENTITY_ERROR.ATTRIBUTE.INVALID")
    wrong_type = blueprint_body(apps=["361309726"], users=[w["user"]])
    wrong_type["data"]["relationships"]["apps"]["data"][0]["type"] = "packages"
    assert_error(await abm.post("/v1/blueprints", json=wrong_type), 409, "ENTITY_ERROR.RELATIONSHIP.INVALID")
    assert_error(
        await abm.post("/v1/blueprints", json={"data": {"type": "apps"}}), 422, "ENTITY_UNPROCESSABLE"
    )
    nul = blueprint_body("Mar\x00keting", apps=["361309726\x00"], users=[w["user"]])
    assert_error(await abm.post("/v1/blueprints", json=nul), 409, "ENTITY_ERROR.ATTRIBUTE.INVALID")
    assert_error(await abm.get("/v1/blueprints/%00"), 404, "NOT_FOUND")
    bad = await abm.post("/v1/blueprints", content=b"{not json")
    assert_error(bad, 400, "ENTITY_UNPARSABLE")


async def test_relationships_add_remove_and_refuse_replace(
    client: httpx.AsyncClient, abm: httpx.AsyncClient, org: dict[str, Any]
) -> None:
    w = await world(client, org["id"])
    created = await abm.post("/v1/blueprints", json=blueprint_body(apps=["361309726"], users=[w["user"]]))
    bp = created.json()["data"]["id"]
    path = f"/v1/blueprints/{bp}/relationships"
    added = await abm.post(f"{path}/orgDevices", json=linkage("orgDevices", *w["serials"], "GHOST"))
    assert added.status_code == 204 and added.content == b""
    assert await ids_of(abm, bp, "orgDevices") == set(w["serials"])
    # Re-adding is a no-op; removing a non-member too.
    assert (
        await abm.post(f"{path}/orgDevices", json=linkage("orgDevices", w["serials"][0]))
    ).status_code == 204
    assert (await abm.request("DELETE", f"{path}/apps", json=linkage("apps", "618783545"))).status_code == 204
    removed = await abm.request("DELETE", f"{path}/orgDevices", json=linkage("orgDevices", w["serials"][0]))
    assert removed.status_code == 204
    assert await ids_of(abm, bp, "orgDevices") == {w["serials"][1]}
    # Removing the last content is refused, and nothing changes.
    last = await abm.request("DELETE", f"{path}/apps", json=linkage("apps", "361309726"))
    assert_error(last, 409, "ENTITY_ERROR.RELATIONSHIP.MISSING_RESOURCES")
    assert await ids_of(abm, bp, "apps") == {"361309726"}
    for kind in ("apps", "configurations"):
        refused = await abm.patch(f"{path}/{kind}", json={"data": []})
        error = assert_error(refused, 403, "FORBIDDEN_ERROR")
        assert "REPLACE" in error["detail"] and "GET_RELATIONSHIP" in error["detail"]
    related = assert_error(await abm.get(f"/v1/blueprints/{bp}/apps"), 403, "FORBIDDEN_ERROR")
    assert "GET_RELATED" in related["detail"]
    assert_error(await abm.get(f"{path}/shoes"), 404, "NOT_FOUND")
    assert_error(await abm.get("/v1/blueprints/NOPE/relationships/apps"), 404, "NOT_FOUND")
    first = (await abm.get(f"{path}/users?limit=1")).json()
    assert first["meta"]["paging"]["limit"] == 1 and len(first["data"]) == 1


async def test_patch_replaces_sent_relationships_and_delete_removes(
    client: httpx.AsyncClient, abm: httpx.AsyncClient, org: dict[str, Any]
) -> None:
    w = await world(client, org["id"])
    bp = (
        await abm.post("/v1/blueprints", json=blueprint_body(apps=["361309726"], users=[w["user"]]))
    ).json()["data"]
    patch = {
        "data": {
            "type": "blueprints",
            "id": bp["id"],
            "attributes": {"name": "Sales"},
            "relationships": {"apps": linkage("apps", "618783545")},
        }
    }
    response = await abm.patch(f"/v1/blueprints/{bp['id']}", json=patch)
    assert response.status_code == 200, response.text
    data = response.json()["data"]
    assert (
        data["attributes"]["name"] == "Sales"
        and data["attributes"]["description"] == "For the marketing team"
    )
    assert data["attributes"]["updatedDateTime"] >= bp["attributes"]["updatedDateTime"]
    assert await ids_of(abm, bp["id"], "apps") == {"618783545"}
    assert await ids_of(abm, bp["id"], "users") == {w["user"]}
    emptied = dict(patch, data=dict(patch["data"], relationships={"users": linkage("users", "42")}))
    assert_error(
        await abm.patch(f"/v1/blueprints/{bp['id']}", json=emptied),
        409,
        "ENTITY_ERROR.RELATIONSHIP.MISSING_MEMBERS",
    )
    mismatch = {"data": {"type": "blueprints", "id": "OTHER", "attributes": {"name": "X"}}}
    assert_error(
        await abm.patch(f"/v1/blueprints/{bp['id']}", json=mismatch), 409, "ENTITY_ERROR.ATTRIBUTE.INVALID"
    )
    deleted = await abm.delete(f"/v1/blueprints/{bp['id']}")
    assert deleted.status_code == 204
    assert_error(await abm.get(f"/v1/blueprints/{bp['id']}"), 404, "NOT_FOUND")
    assert_error(await abm.delete(f"/v1/blueprints/{bp['id']}"), 404, "NOT_FOUND")


async def test_include_returns_the_related_resources(
    client: httpx.AsyncClient, abm: httpx.AsyncClient, org: dict[str, Any]
) -> None:
    w = await world(client, org["id"])
    body = blueprint_body(
        apps=["361309726", "618783545"],
        packages=[w["package"]],
        orgDevices=w["serials"],
        userGroups=[w["group"]],
    )
    bp = (await abm.post("/v1/blueprints", json=body)).json()["data"]["id"]
    response = await abm.get(f"/v1/blueprints/{bp}?include=apps,orgDevices,userGroups,packages&limit[apps]=1")
    assert response.status_code == 200, response.text
    document = response.json()
    apps = document["data"]["relationships"]["apps"]
    assert (
        len(apps["data"]) == 1
        and apps["meta"]["paging"]["limit"] == 1
        and apps["meta"]["paging"]["nextCursor"]
    )
    included = {(r["type"], r["id"]) for r in document["included"]}
    assert included == {
        ("apps", apps["data"][0]["id"]),
        ("orgDevices", w["serials"][0]),
        ("orgDevices", w["serials"][1]),
        ("userGroups", w["group"]),
        ("packages", w["package"]),
    }
    group = next(r for r in document["included"] if r["type"] == "userGroups")
    assert group["attributes"]["totalMemberCount"] == 1
    assert_error(await abm.get(f"/v1/blueprints/{bp}?include=shoes"), 400, "PARAMETER_ERROR.INVALID")
    assert_error(
        await abm.get(f"/v1/blueprints/{bp}?include=apps&limit[apps]=1001"), 400, "PARAMETER_ERROR.INVALID"
    )
    sparse = (await abm.get(f"/v1/blueprints/{bp}?fields[blueprints]=name,apps")).json()["data"]
    assert sparse["attributes"] == {"name": "Marketing"} and set(sparse["relationships"]) == {"apps"}


async def test_a_blueprint_over_10000_devices_in_one_request(
    client: httpx.AsyncClient, abm: httpx.AsyncClient, org: dict[str, Any]
) -> None:
    await client.post(
        f"/emulator/v1/orgs/{org['id']}/apps",
        json={"adam_id": "361309726", "name": "Pages", "bundle_id": "com.apple.Pages"},
    )
    await generate(client, org["id"], 10_000, seed=3)
    serials: list[str] = []
    url: str | None = "/v1/orgDevices?limit=1000&fields[orgDevices]=serialNumber"
    while url:
        page = (await abm.get(url)).json()
        serials.extend(d["id"] for d in page["data"])
        url = page["links"].get("next")
    assert len(serials) == 10_000
    response = await abm.post("/v1/blueprints", json=blueprint_body(apps=["361309726"], orgDevices=serials))
    assert response.status_code == 201, response.text
    data = response.json()["data"]
    assert data["attributes"]["appLicenseDeficient"] is True  # 10,000 devices, 100 licences
    read = await abm.get(f"/v1/blueprints/{data['id']}?include=orgDevices&limit[orgDevices]=1000")
    assert read.status_code == 200 and len(read.json()["included"]) == 1000
    too_many = blueprint_body(apps=["361309726"], orgDevices=[*serials, "X"])
    assert_error(await abm.post("/v1/blueprints", json=too_many), 409, "ENTITY_ERROR.RELATIONSHIP.INVALID")


async def test_writes_leave_collection_audit_events_and_school_gets_404(
    app: FastAPI, client: httpx.AsyncClient, abm: httpx.AsyncClient, org: dict[str, Any], api_account: Any
) -> None:
    w = await world(client, org["id"])
    bp = (
        await abm.post("/v1/blueprints", json=blueprint_body(apps=["361309726"], users=[w["user"]]))
    ).json()["data"]
    await abm.post(
        f"/v1/blueprints/{bp['id']}/relationships/orgDevices", json=linkage("orgDevices", w["serials"][0])
    )
    await abm.delete(f"/v1/blueprints/{bp['id']}")
    events = (await abm.get(f"/v1/auditEvents?{ALL_TIME}&limit=1000")).json()[
        "data"
    ]
    mine = [e["attributes"] for e in events if e["attributes"]["subjectId"] == bp["id"]]
    assert [e["type"] for e in mine] == ["COLLECTION_CREATED", "COLLECTION_UPDATED", "COLLECTION_DELETED"]
    for e in mine:
        assert e["category"] == "DEVICE_MANAGEMENT" and e["subjectType"] == "COLLECTION"
        assert e["actorType"] == "API_USER" and e["actorId"] == api_account.client_id
        assert e[e["eventDataPropertyKey"]] == {"name": "Marketing", "description": "For the marketing team"}
    assert mine[0]["eventDataPropertyKey"] == "eventDataCollectionCreated"
    filtered = (
        await abm.get(
            f"/v1/auditEvents?{ALL_TIME}&filter[type]=COLLECTION_DELETED"
        )
    ).json()
    assert [e["attributes"]["subjectId"] for e in filtered["data"]] == [bp["id"]]
    school = await create_api_account(client, org["id"], scope="school.api")
    async with bearer_client(app, await get_token(client, school)) as asm:
        for path in ("/v1/blueprints", "/v1/apps", "/v1/packages", "/v1/configurations"):
            assert_error(await asm.get(path), 404, "NOT_FOUND")
        assert_error(
            await asm.post("/v1/blueprints", json=blueprint_body(apps=["361309726"])), 404, "NOT_FOUND"
        )
