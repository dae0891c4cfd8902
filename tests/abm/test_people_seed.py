"""The seed file's `people` section (issue 30): units, users, groups and generated people, loaded
through the people service, visible through /v1, and idempotent."""

from __future__ import annotations

from typing import Any

import httpx
from fastapi import FastAPI

from tests.abm.conftest import bearer_client, create_api_account, get_token

SEED = """
orgs:
  - name: People Org
    email: it@people.example
    people:
      units:
        - {name: Headquarters, description: Main office}
        - {name: Lab}
      users:
        - first_name: Ada
          last_name: Lovelace
          job_title: Engineer
          roles: [{role_name: Staff, ou: Headquarters}, {role_name: Administrator, ou: Lab}]
        - {first_name: Bob, last_name: Byte, managed_apple_account: bob@people.example, status: NEW}
      groups:
        - {name: Engineering, ou: Lab, members: [ada.lovelace@people.example, bob@people.example]}
      generate: {users: 40, groups: 3, seed: 5}
    content:
      apps:
        - {adam_id: "361309726", name: Pages, bundle_id: com.apple.Pages, license_count: 5}
      packages:
        - {name: Tools, bundle_ids: [com.example.tools]}
      catalogue: {apps: 3, packages: 1}
"""


async def test_a_seeded_directory_is_read_through_the_business_api_and_loads_once(
    app: FastAPI, client: httpx.AsyncClient
) -> None:
    headers = {"Content-Type": "application/yaml"}
    first = await client.post("/emulator/v1/seed", content=SEED.encode(), headers=headers)
    assert first.status_code == 200, first.text
    org = first.json()["orgs"][0]
    assert org["people_created"] == 2 + 2 + 1 + 40 + 3
    assert org["content_added"] == 2  # the catalogue only fills an org without apps
    again = await client.post("/emulator/v1/seed", content=SEED.encode(), headers=headers)
    assert again.json()["changed"] is False and again.json()["orgs"][0]["people_created"] == 0
    account = await create_api_account(client, org["id"])
    async with bearer_client(app, await get_token(client, account)) as abm:
        users = (await abm.get("/v1/users?limit=1000")).json()["data"]
        assert len(users) == 42
        by_account = {u["attributes"]["managedAppleAccount"]: u for u in users}
        ada = by_account["ada.lovelace@people.example"]["attributes"]
        assert ada["jobTitle"] == "Engineer" and {r["roleName"] for r in ada["roleOuList"]} == {
            "Staff",
            "Administrator",
        }
        assert by_account["bob@people.example"]["attributes"]["status"] == "NEW"
        assert all(a.endswith("@people.example") for a in by_account)
        groups = (await abm.get("/v1/userGroups")).json()["data"]
        engineering = next(g for g in groups if g["attributes"]["name"] == "Engineering")
        assert engineering["attributes"]["totalMemberCount"] == 2 and len(groups) == 4
        apps = (await abm.get("/v1/apps")).json()["data"]
        assert [a["id"] for a in apps] == ["361309726"]
        packages = (await abm.get("/v1/packages")).json()["data"]
        assert [p["attributes"]["name"] for p in packages] == ["Tools"]


async def test_a_seeded_group_naming_an_unknown_user_is_refused_at_its_key(client: httpx.AsyncClient) -> None:
    body: dict[str, Any] = {
        "orgs": [{"name": "O", "people": {"groups": [{"name": "G", "members": ["ghost@nowhere.example"]}]}}]
    }
    response = await client.post("/emulator/v1/seed", json=body)
    assert response.status_code == 422, response.text
    error = response.json()["error"]
    assert error["code"] == "invalid_seed" and error["details"]["path"] == "orgs[0].people.groups[0]"
    assert "ghost@nowhere.example" in error["message"]
