"""Users and Groups through the console's pages (issue 30), and the message pages for unknown ids
and cursors that are not the console's. State is seeded through the control API."""

from __future__ import annotations

import httpx
from dep_emulator.testing.replicas import Replica
from playwright.async_api import Page, expect

from tests.console.business import SLOW, business_api, nav, new_org
from tests.console.conftest import screenshot
from tests.console.helpers import control


async def test_users_and_groups_page_by_keyset_and_link_to_each_other(page: Page, emulator: Replica) -> None:
    base = emulator.url
    org_id = await new_org(base, "Northwind People")
    unit = await control("POST", base, f"/orgs/{org_id}/organizational-units", json={"name": "Sales"})
    ada = await control(
        "POST",
        base,
        f"/orgs/{org_id}/users",
        json={
            "first_name": "Ada",
            "last_name": "Lovelace",
            "roles": [{"role_name": "Administrator", "ou": unit["id"]}],
            "department": "Engineering",
        },
    )
    made = await control(
        "POST", base, f"/orgs/{org_id}/people/generate", json={"users": 59, "groups": 0, "seed": 7}
    )
    assert made["users"] == 59
    accounts = [ada["managed_apple_account"]]
    # A group of 55 (Ada first): its members page in two.
    async with httpx.AsyncClient(base_url=base, timeout=60) as plain:
        business = await business_api(base, org_id)
        async with business:
            users = (await business.get("/v1/users?limit=100")).json()["data"]
        assert len(users) == 60
        member_ids = [u["id"] for u in users[:55]]
        response = await plain.post(
            f"/emulator/v1/orgs/{org_id}/user-groups",
            json={"name": "Field Sales", "ou": "Sales", "members": member_ids},
        )
        assert response.status_code == 201, response.text
        group = response.json()

    await page.goto(f"{base}/console/orgs/{org_id}", timeout=SLOW)
    await nav(page, "Users")
    await expect(page.get_by_role("heading", name="Users", level=1)).to_be_visible()
    rows = page.locator("tbody tr")
    await expect(rows).to_have_count(50, timeout=SLOW)
    first = rows.first  # ids ascend: Ada was made first
    await expect(first).to_contain_text("Ada Lovelace")
    await expect(first).to_contain_text(accounts[0])
    await expect(first).to_contain_text("Administrator in Sales")
    await expect(first).to_contain_text("ACTIVE")
    await expect(rows.nth(1)).to_contain_text("@northwind.example")  # generated, in the org's domain
    await expect(page.get_by_role("link", name="First page")).to_have_count(0)
    await screenshot(page, "users")
    shown_first = set(await page.locator("tbody tr td:nth-child(2)").all_text_contents())

    await page.get_by_role("link", name="Next page").click()
    await expect(rows).to_have_count(10, timeout=SLOW)
    shown_second = set(await page.locator("tbody tr td:nth-child(2)").all_text_contents())
    assert len(shown_first | shown_second) == 60  # the two pages hold every user once
    await expect(page.get_by_role("link", name="Next page")).to_have_count(0)
    await page.get_by_role("link", name="First page").click()
    await expect(rows).to_have_count(50, timeout=SLOW)

    # A user's page: roles and its group, which links to the group's page.
    await rows.first.get_by_role("link").click()
    await expect(page.get_by_role("heading", name="Ada Lovelace", level=1)).to_be_visible()
    await expect(page.locator("dl.facts")).to_contain_text("Engineering")
    await expect(page.get_by_role("list", name="Groups")).to_contain_text("Field Sales")
    await page.get_by_role("link", name="Field Sales").click()
    await expect(page.get_by_role("heading", name="Field Sales", level=1)).to_be_visible()
    facts = page.locator("dl.facts")
    await expect(facts).to_contain_text("STANDARD")
    await expect(facts).to_contain_text("Sales")
    await expect(facts).to_contain_text("55")
    await expect(rows).to_have_count(50, timeout=SLOW)
    await expect(rows.first).to_contain_text("Ada Lovelace")
    await screenshot(page, "group")
    await page.get_by_role("link", name="Next members").click()
    await expect(rows).to_have_count(5, timeout=SLOW)

    # Groups: the list links to the group.
    await nav(page, "Groups")
    row = page.locator("tbody tr")
    await expect(row).to_have_count(1)
    await expect(row).to_contain_text("Field Sales")
    await expect(row).to_contain_text("55")
    await row.get_by_role("link").click()
    assert page.url.endswith(f"/groups/{group['id']}")


async def test_unknown_ids_and_bad_cursors_get_a_message_page(page: Page, emulator: Replica) -> None:
    base = emulator.url
    org_id = await new_org(base, "Northwind Errors")
    await control(
        "POST",
        base,
        f"/orgs/{org_id}/people/generate",
        json={"users": 3, "groups": 1, "members_per_group": 2},
    )
    cases = {
        f"/orgs/{org_id}/users/123456": (404, "no user '123456'"),
        f"/orgs/{org_id}/users/nobody@example.com": (404, "no user"),
        f"/orgs/{org_id}/groups/NO-SUCH-GROUP": (404, "no user group"),
        f"/orgs/{org_id}/blueprints/NO-SUCH-BLUEPRINT": (404, "no resource of type 'blueprints'"),
        f"/orgs/{org_id}/blueprints/NO-SUCH-BLUEPRINT/orgDevices": (404, "no resource of type 'blueprints'"),
        f"/orgs/{org_id}/configurations/NOPE": (404, "no resource of type 'configurations'"),
        f"/orgs/{org_id}/users?cursor=%21%21%21": (400, "start again from the first page"),
        f"/orgs/{org_id}/users?cursor=YWJj": (400, "start again from the first page"),  # "abc": not a user id
        f"/orgs/{org_id}/groups?cursor=": (200, "Groups"),  # an empty cursor is the first page
        f"/orgs/{org_id}/apps?packages_cursor=%00": (400, "start again from the first page"),
        f"/orgs/{org_id}/blueprints?cursor=not-base64%FF": (400, "start again from the first page"),
        f"/orgs/{org_id}/configurations?cursor=" + "QUFB" * 30: (400, "start again from the first page"),
        "/orgs/999999/users": (404, "999999"),
    }
    for path, (status, text) in cases.items():
        response = await page.goto(f"{base}/console{path}", timeout=SLOW)
        assert response is not None
        assert response.status == status, path
        await expect(page.locator("main")).to_contain_text(text)
