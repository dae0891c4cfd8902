"""users, userGroups and organizationalUnits (abm-api-2.md §2.2–§2.4): set up through the control
API, read through /v1 with a Business token; a School token gets 404 (§1.2)."""

from __future__ import annotations

from typing import Any

import httpx
from fastapi import FastAPI

from tests.abm.conftest import assert_error, bearer_client, create_api_account, get_token

USER_ATTRIBUTES = {
    "firstName", "middleName", "lastName", "status", "managedAppleAccount", "isExternalUser",
    "roleOuList", "email", "employeeNumber", "costCenter", "division", "department", "jobTitle",
    "phoneNumbers", "startDateTime", "createdDateTime", "updatedDateTime",
}  # fmt: skip
GROUP_ATTRIBUTES = {
    "ouId",
    "name",
    "type",
    "totalMemberCount",
    "status",
    "createdDateTime",
    "updatedDateTime",
}


async def post(
    client: httpx.AsyncClient, path: str, body: dict[str, Any], status: int = 201
) -> dict[str, Any]:
    response = await client.post(path, json=body)
    assert response.status_code == status, response.text
    data: dict[str, Any] = response.json()
    return data


async def directory(client: httpx.AsyncClient, org_id: str) -> dict[str, Any]:
    """Two units, three users (one with two roles), one group of two."""
    base = f"/emulator/v1/orgs/{org_id}"
    hq = await post(
        client, f"{base}/organizational-units", {"name": "Headquarters", "description": "Main office"}
    )
    lab = await post(client, f"{base}/organizational-units", {"name": "Lab"})
    ada = await post(
        client,
        f"{base}/users",
        {
            "first_name": "Ada",
            "last_name": "Lovelace",
            "managed_apple_account": "ada@corp.example",
            "job_title": "Engineer",
            "phone_numbers": [{"phone_number": "+1 555 0100", "type": "MOBILE"}],
            "roles": [
                {"role_name": "Staff", "ou": "Headquarters"},
                {"role_name": "Administrator", "ou": lab["id"]},
            ],
        },
    )
    bob = await post(
        client,
        f"{base}/users",
        {"first_name": "Bob", "last_name": "Byte", "roles": [{"role_name": "Staff", "ou": "Lab"}]},
    )
    cy = await post(
        client, f"{base}/users", {"first_name": "Cy", "last_name": "Cell", "status": "DEACTIVATED"}
    )
    group = await post(
        client,
        f"{base}/user-groups",
        {
            "name": "Engineering",
            "ou": "Headquarters",
            "members": [ada["id"], "bob.byte@" + bob["managed_apple_account"].split("@")[1]],
        },
    )
    return {"hq": hq, "lab": lab, "ada": ada, "bob": bob, "cy": cy, "group": group}


async def test_a_user_has_every_documented_attribute_and_its_roles_per_unit(
    client: httpx.AsyncClient, abm: httpx.AsyncClient, org: dict[str, Any]
) -> None:
    people = await directory(client, org["id"])
    response = await abm.get(f"/v1/users/{people['ada']['id']}")
    assert response.status_code == 200, response.text
    data = response.json()["data"]
    assert data["type"] == "users" and data["id"] == people["ada"]["id"] and data["id"].isdigit()
    assert set(data["attributes"]) == USER_ATTRIBUTES
    attributes = data["attributes"]
    assert attributes["managedAppleAccount"] == "ada@corp.example" == attributes["email"]
    assert attributes["middleName"] == "" and attributes["isExternalUser"] is False
    assert attributes["phoneNumbers"] == [{"phoneNumber": "+1 555 0100", "type": "MOBILE"}]
    assert sorted(attributes["roleOuList"], key=lambda r: r["roleName"]) == [
        {"roleName": "Administrator", "ouId": people["lab"]["id"]},
        {"roleName": "Staff", "ouId": people["hq"]["id"]},
    ]
    assert "relationships" not in data
    assert data["links"]["self"].endswith(f"/v1/users/{people['ada']['id']}")
    # A user made without roles is Staff in the org's first unit; the account is in the org's domain.
    cy = (await abm.get(f"/v1/users/{people['cy']['id']}")).json()["data"]["attributes"]
    assert cy["roleOuList"] == [{"roleName": "Staff", "ouId": people["hq"]["id"]}]
    assert cy["status"] == "DEACTIVATED" and cy["managedAppleAccount"].startswith("cy.cell@")


async def test_users_are_paged_with_cursors_and_sparse_fieldsets(
    client: httpx.AsyncClient, abm: httpx.AsyncClient, org: dict[str, Any]
) -> None:
    response = await client.post(
        f"/emulator/v1/orgs/{org['id']}/people/generate", json={"users": 250, "seed": 7}
    )
    assert response.status_code == 200, response.text
    assert response.json()["users"] == 250
    seen: list[str] = []
    url: str | None = "/v1/users?limit=100&fields[users]=managedAppleAccount,status"
    while url:
        page = (await abm.get(url)).json()
        assert page["meta"]["paging"]["limit"] == 100
        for user in page["data"]:
            assert set(user["attributes"]) == {"managedAppleAccount", "status"}
        seen.extend(u["id"] for u in page["data"])
        url = page["links"].get("next")
        if url:
            assert "fields%5Busers%5D" in url or "fields[users]" in url
            assert page["meta"]["paging"]["nextCursor"]
    assert len(seen) == 250 == len(set(seen)) and seen == sorted(seen, key=int)
    assert_error(await abm.get("/v1/users?fields[users]=shoeSize"), 400, "PARAMETER_ERROR.INVALID")
    assert_error(await abm.get("/v1/users?limit=1001"), 400, "PARAMETER_ERROR.INVALID")
    assert_error(await abm.get("/v1/users?cursor=bm90LWEtbnVtYmVy"), 400, "PARAMETER_ERROR.INVALID")
    assert_error(await abm.get("/v1/users/999"), 404, "NOT_FOUND")
    assert_error(await abm.get("/v1/users/not-a-user"), 404, "NOT_FOUND")
    assert_error(await abm.get("/v1/users/%C2%B2"), 404, "NOT_FOUND")
    assert_error(await abm.get("/v1/users?limit=%C2%B2"), 400, "PARAMETER_ERROR.INVALID")


async def test_generated_people_are_realistic(
    client: httpx.AsyncClient, abm: httpx.AsyncClient, org: dict[str, Any]
) -> None:
    response = await client.post(
        f"/emulator/v1/orgs/{org['id']}/people/generate",
        json={"users": 300, "groups": 20, "units": 3, "seed": 1},
    )
    assert response.json()["units"] == 4  # the first unit, then three more
    users = (await abm.get("/v1/users?limit=1000")).json()["data"]
    accounts = [u["attributes"]["managedAppleAccount"] for u in users]
    assert len(set(accounts)) == 300
    domain = accounts[0].split("@")[1]
    assert all(a.split("@")[1] == domain for a in accounts)
    assert all(
        u["attributes"]["firstName"] and u["attributes"]["lastName"] and u["attributes"]["department"]
        for u in users
    )
    assert sum(u["attributes"]["status"] == "ACTIVE" for u in users) > 200
    units = {u["id"] for u in (await abm.get("/v1/organizationalUnits")).json()["data"]}
    assert len(units) == 4
    assert all(r["ouId"] in units for u in users for r in u["attributes"]["roleOuList"])
    assert all(any(r["roleName"] == "Staff" for r in u["attributes"]["roleOuList"]) for u in users)
    # The same request again adds as many more (same seed, new ids and accounts).
    again = await client.post(
        f"/emulator/v1/orgs/{org['id']}/people/generate", json={"users": 10, "groups": 5, "seed": 1}
    )
    assert again.status_code == 200, again.text
    groups = (await abm.get("/v1/userGroups?limit=1000")).json()["data"]
    assert len(groups) == 25 and {g["attributes"]["type"] for g in groups} <= {"STANDARD", "SMART"}


async def test_a_group_counts_its_members_and_pages_its_linkage(
    client: httpx.AsyncClient, abm: httpx.AsyncClient, org: dict[str, Any]
) -> None:
    people = await directory(client, org["id"])
    group_id = people["group"]["id"]
    data = (await abm.get(f"/v1/userGroups/{group_id}")).json()["data"]
    assert data["type"] == "userGroups" and set(data["attributes"]) == GROUP_ATTRIBUTES
    assert data["attributes"]["type"] == "STANDARD" and data["attributes"]["status"] == "ACTIVE"
    assert data["attributes"]["ouId"] == people["hq"]["id"] and data["attributes"]["totalMemberCount"] == 2
    assert data["relationships"]["users"]["links"]["self"].endswith(
        f"/v1/userGroups/{group_id}/relationships/users"
    )
    first = (await abm.get(f"/v1/userGroups/{group_id}/relationships/users?limit=1")).json()
    assert len(first["data"]) == 1 and first["data"][0]["type"] == "users"
    second = (await abm.get(first["links"]["next"])).json()
    ids = {first["data"][0]["id"], second["data"][0]["id"]}
    assert ids == {people["ada"]["id"], people["bob"]["id"]} and "next" not in second["links"]
    # Membership changes show in the count and the linkage; updatedDateTime moves.
    await client.post(
        f"/emulator/v1/orgs/{org['id']}/user-groups/{group_id}/members",
        json={"members": [people["cy"]["id"]]},
    )
    removed = await client.delete(
        f"/emulator/v1/orgs/{org['id']}/user-groups/{group_id}/members/{people['ada']['id']}"
    )
    assert removed.status_code == 204
    data = (await abm.get(f"/v1/userGroups/{group_id}?fields[userGroups]=totalMemberCount,users")).json()[
        "data"
    ]
    assert data["attributes"] == {"totalMemberCount": 2} and "users" in data["relationships"]
    linked = (await abm.get(f"/v1/userGroups/{group_id}/relationships/users")).json()["data"]
    assert {u["id"] for u in linked} == {people["bob"]["id"], people["cy"]["id"]}
    assert_error(await abm.get("/v1/userGroups/UNKNOWN"), 404, "NOT_FOUND")
    assert_error(await abm.get("/v1/userGroups/UNKNOWN/relationships/users"), 404, "NOT_FOUND")


async def test_units_list_their_users_by_role(
    client: httpx.AsyncClient, abm: httpx.AsyncClient, org: dict[str, Any]
) -> None:
    people = await directory(client, org["id"])
    listed = (await abm.get("/v1/organizationalUnits")).json()["data"]
    assert {u["attributes"]["name"] for u in listed} == {"Headquarters", "Lab"}
    hq = (await abm.get(f"/v1/organizationalUnits/{people['hq']['id']}")).json()["data"]
    assert hq["type"] == "organizationalUnits" and hq["attributes"]["description"] == "Main office"
    assert set(hq["attributes"]) == {"name", "description", "createdDateTime", "updatedDateTime"}
    lab_users = (await abm.get(f"/v1/organizationalUnits/{people['lab']['id']}/relationships/users")).json()
    assert {u["id"] for u in lab_users["data"]} == {people["ada"]["id"], people["bob"]["id"]}
    assert_error(await abm.get("/v1/organizationalUnits/nope"), 404, "NOT_FOUND")


async def test_control_api_refuses_bad_people(client: httpx.AsyncClient, org: dict[str, Any]) -> None:
    base = f"/emulator/v1/orgs/{org['id']}"
    await post(
        client, f"{base}/users", {"first_name": "A", "last_name": "B", "managed_apple_account": "a@b.example"}
    )
    taken = await client.post(
        f"{base}/users", json={"first_name": "A", "last_name": "C", "managed_apple_account": "A@b.example"}
    )
    assert taken.status_code == 409 and taken.json()["error"]["code"] == "account_taken"
    unit = await client.post(
        f"{base}/users",
        json={"first_name": "A", "last_name": "D", "roles": [{"role_name": "Staff", "ou": "Mars"}]},
    )
    assert unit.status_code == 422 and unit.json()["error"]["code"] == "unknown_unit"
    member = await client.post(f"{base}/user-groups", json={"name": "G", "members": ["12345"]})
    assert member.status_code == 422 and member.json()["error"]["code"] == "unknown_user"
    # PostgreSQL text holds no NUL: refused as bad input, never a 500.
    nul_member = await client.post(f"{base}/user-groups", json={"name": "G", "members": ["a\x00b"]})
    assert nul_member.status_code == 422
    nul_name = await client.post(f"{base}/users", json={"first_name": "A\x00", "last_name": "B"})
    assert nul_name.status_code == 422
    assert (await client.post(f"{base}/user-groups/%00/members", json={"members": ["1"]})).status_code == 404
    # "²" is a digit to str.isdigit() but not to int(): no 500 either.
    assert (
        await client.post("/emulator/v1/orgs/%C2%B2/users", json={"first_name": "A", "last_name": "B"})
    ).status_code == 404


async def test_a_school_token_gets_404_on_people_and_a_business_token_only_its_own_org(
    app: FastAPI, client: httpx.AsyncClient, abm: httpx.AsyncClient, org: dict[str, Any]
) -> None:
    people = await directory(client, org["id"])
    school = await create_api_account(client, org["id"], scope="school.api")
    async with bearer_client(app, await get_token(client, school)) as asm:
        for path in (
            "/v1/users",
            f"/v1/users/{people['ada']['id']}",
            "/v1/userGroups",
            "/v1/organizationalUnits",
        ):
            assert_error(await asm.get(path), 404, "NOT_FOUND")
        assert (await asm.get("/v1/orgDevices")).status_code == 200
    other = await client.post("/emulator/v1/orgs", json={"name": "Other Org"})
    stranger = await create_api_account(client, other.json()["id"])
    async with bearer_client(app, await get_token(client, stranger)) as them:
        assert (await them.get("/v1/users")).json()["data"] == []
        assert_error(await them.get(f"/v1/users/{people['ada']['id']}"), 404, "NOT_FOUND")
        assert_error(await them.get(f"/v1/userGroups/{people['group']['id']}"), 404, "NOT_FOUND")
