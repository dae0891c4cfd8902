"""Users, Groups, Apps, Blueprints, Configurations and a device's Blueprint and built-in management
state, through the console's pages (issue 30). State is seeded through the control API and, where
only Apple's API writes (Blueprints, CUSTOM_SETTING configurations), through the Business API with
an API account's token, as an MDM would."""

from __future__ import annotations

import plistlib
from typing import Any

import httpx
from dep_emulator.testing.replicas import Replica
from playwright.async_api import Page, expect

from tests.abm.conftest import create_api_account, get_token
from tests.console.conftest import screenshot
from tests.console.helpers import control

SLOW = 60_000  # the machine is shared: generous waits for page loads


async def nav(page: Page, name: str) -> None:
    """Follow a link of the organization's navigation."""
    await (
        page.get_by_role("navigation", name="Organization").get_by_role("link", name=name, exact=True).click()
    )


async def new_org(base: str, name: str) -> str:
    org = await control("POST", base, "/orgs", json={"name": name, "email": "admin@northwind.example"})
    return str(org["id"])


async def business_api(base: str, org_id: str) -> httpx.AsyncClient:
    """A client of /v1 with a bearer token of a new API account of the org."""
    async with httpx.AsyncClient(base_url=base, timeout=60) as plain:
        token = await get_token(plain, await create_api_account(plain, org_id))
    return httpx.AsyncClient(base_url=base, timeout=120, headers={"Authorization": f"Bearer {token}"})


def linkage(kind: str, ids: list[str]) -> dict[str, Any]:
    return {"data": [{"type": kind, "id": i} for i in ids]}


def profile() -> str:
    """A custom profile of two payloads (Wi-Fi, and a restrictions payload with two settings)."""
    return plistlib.dumps(
        {
            "PayloadContent": [
                {
                    "PayloadType": "com.apple.wifi.managed",
                    "PayloadIdentifier": "com.northwind.wifi",
                    "PayloadDisplayName": "Office Wi-Fi",
                    "PayloadUUID": "A1",
                    "PayloadVersion": 1,
                    "SSID_STR": "Northwind",
                    "AutoJoin": True,
                },
                {
                    "PayloadType": "com.apple.applicationaccess",
                    "PayloadIdentifier": "com.northwind.restrictions",
                    "PayloadDisplayName": "Restrictions",
                    "PayloadUUID": "A2",
                    "PayloadVersion": 1,
                    "allowCamera": False,
                },
            ],
            "PayloadDisplayName": "Northwind baseline",
            "PayloadIdentifier": "com.northwind.baseline",
            "PayloadType": "Configuration",
            "PayloadVersion": 1,
        }
    ).decode()


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


async def test_apps_blueprints_and_configurations(page: Page, emulator: Replica) -> None:
    base = emulator.url
    org_id = await new_org(base, "Northwind Content")
    pages_app = {"adam_id": "361309726", "name": "Pages", "bundle_id": "com.apple.Pages", "license_count": 2}
    await control("POST", base, f"/orgs/{org_id}/apps", json=pages_app)
    await control(
        "POST",
        base,
        f"/orgs/{org_id}/apps",
        json={
            "adam_id": "618783545",
            "name": "Slack",
            "bundle_id": "com.tinyspeck.chatlyio",
            "license_count": 500,
        },
    )
    package = await control(
        "POST",
        base,
        f"/orgs/{org_id}/packages",
        json={"name": "Company Tools", "version": "2.1", "bundle_ids": ["com.northwind.tools"]},
    )
    added = await control(
        "POST", base, f"/orgs/{org_id}/devices", json={"generate": {"count": 60, "families": ["iPad"]}}
    )
    serials = sorted(added["serials"])
    ada = await control(
        "POST", base, f"/orgs/{org_id}/users", json={"first_name": "Ada", "last_name": "Lovelace"}
    )
    portal = await control(
        "POST",
        base,
        f"/orgs/{org_id}/configurations",
        json={"type": "FILE_VAULT", "name": "FileVault", "platforms": ["PLATFORM_MACOS"]},
    )
    business = await business_api(base, org_id)
    async with business:
        custom = await business.post(
            "/v1/configurations",
            json={
                "data": {
                    "type": "configurations",
                    "attributes": {
                        "type": "CUSTOM_SETTING",
                        "name": "Baseline",
                        "customSettingsValues": {
                            "configurationProfile": profile(),
                            "filename": "baseline.mobileconfig",
                        },
                    },
                }
            },
        )
        assert custom.status_code == 201, custom.text
        config_id = custom.json()["data"]["id"]
        created = await business.post(
            "/v1/blueprints",
            json={
                "data": {
                    "type": "blueprints",
                    "attributes": {"name": "iPad Fleet", "description": "Every shared iPad"},
                    "relationships": {
                        "apps": linkage("apps", ["361309726", "618783545"]),
                        "packages": linkage("packages", [package["id"]]),
                        "configurations": linkage("configurations", [config_id, portal["id"]]),
                        "orgDevices": linkage("orgDevices", serials),
                        "users": linkage("users", [ada["id"]]),
                    },
                }
            },
        )
        assert created.status_code == 201, created.text
        blueprint_id = created.json()["data"]["id"]
        assert created.json()["data"]["attributes"]["appLicenseDeficient"] is True

    # Apps: Pages has 2 licences for 61 targets (60 devices, 1 user): short by 59; Slack is not.
    await page.goto(f"{base}/console/orgs/{org_id}", timeout=SLOW)
    await nav(page, "Apps")
    apps = page.locator("#apps-table tbody tr")
    await expect(apps).to_have_count(2, timeout=SLOW)
    pages_row = apps.filter(has_text="Pages")
    cells = pages_row.get_by_role("cell")
    await expect(cells.nth(1)).to_have_text("361309726")
    await expect(cells.nth(4)).to_have_text("2")
    await expect(cells.nth(5)).to_have_text("61")
    await expect(cells.nth(6)).to_have_text("0")
    await expect(cells.nth(7)).to_have_text("Short by 59")
    slack = apps.filter(has_text="Slack").get_by_role("cell")
    await expect(slack.nth(4)).to_have_text("500")
    await expect(slack.nth(6)).to_have_text("439")
    await expect(slack.nth(7)).to_have_text("No")
    await expect(page.locator("#packages-table tbody tr")).to_contain_text("Company Tools")
    await screenshot(page, "apps")

    # Blueprints: the list with counts, then the Blueprint's page.
    await nav(page, "Blueprints")
    row = page.locator("tbody tr")
    await expect(row).to_have_count(1, timeout=SLOW)
    await expect(row.get_by_role("cell")).to_have_text(
        ["iPad Fleet", "ACTIVE", "2", "1", "2", "60", "1", "0", "Yes"]
    )
    await row.get_by_role("link", name="iPad Fleet").click()
    await expect(page.get_by_role("heading", name="iPad Fleet", level=1)).to_be_visible(timeout=SLOW)
    await expect(page.locator("dl.facts")).to_contain_text("Every shared iPad")
    await expect(page.get_by_role("list", name="Apps")).to_contain_text("Pages")
    await expect(page.get_by_role("list", name="Packages")).to_contain_text("Company Tools 2.1")
    await expect(page.get_by_role("list", name="Configurations")).to_contain_text("Baseline")
    await expect(page.get_by_role("list", name="Configurations")).to_contain_text("FILE_VAULT")
    await expect(page.get_by_role("list", name="Users")).to_contain_text("Ada Lovelace")
    await expect(page.get_by_role("list", name="Devices").get_by_role("listitem")).to_have_count(50)
    await screenshot(page, "blueprint")
    # All 60 devices: the linkage in two pages.
    await page.get_by_role("link", name="All 60 devices").click()
    items = page.get_by_role("list", name="Devices").get_by_role("listitem")
    await expect(items).to_have_count(50, timeout=SLOW)
    await expect(items.first).to_have_text(serials[0])
    await page.get_by_role("link", name="Next page").click()
    await expect(items).to_have_count(10, timeout=SLOW)
    await expect(items.last).to_have_text(serials[-1])

    # Configurations: the list, then the custom one's payloads.
    await nav(page, "Configurations")
    rows = page.locator("tbody tr")
    await expect(rows).to_have_count(2, timeout=SLOW)
    await expect(rows.filter(has_text="FileVault")).to_contain_text("PLATFORM_MACOS")
    await page.get_by_role("link", name="Baseline").click()
    facts = page.locator("dl.facts").first
    await expect(facts).to_contain_text("CUSTOM_SETTING")
    await expect(facts).to_contain_text("baseline.mobileconfig")
    payloads = page.locator("#payloads-table tbody tr")
    await expect(payloads).to_have_count(2)
    await expect(payloads.first).to_contain_text("com.apple.wifi.managed")
    await expect(payloads.first).to_contain_text("Office Wi-Fi")
    await expect(payloads.first).to_contain_text("AutoJoin, SSID_STR")
    await expect(payloads.nth(1)).to_contain_text("allowCamera")
    await expect(page.get_by_text("Northwind baseline")).to_be_visible()
    await expect(page.get_by_role("list", name="Blueprints")).to_contain_text("iPad Fleet")
    await screenshot(page, "configuration")
    await page.goto(f"{base}/console/orgs/{org_id}/configurations/{portal['id']}")
    await expect(page.get_by_text("is made in Apple's portal and has no profile to show")).to_be_visible()

    # Delete Blueprint: gone from the list and from the Business API.
    await page.goto(f"{base}/console/orgs/{org_id}/blueprints/{blueprint_id}")
    await page.get_by_role("button", name="Delete Blueprint").click()
    await expect(page.get_by_text("The Blueprint was deleted.")).to_be_visible(timeout=SLOW)
    await expect(page.get_by_text("No Blueprints")).to_be_visible()
    business = await business_api(base, org_id)
    async with business:
        assert (await business.get(f"/v1/blueprints/{blueprint_id}")).status_code == 404


async def test_a_devices_blueprints_and_built_in_management(page: Page, emulator: Replica) -> None:
    base = emulator.url
    org_id = await new_org(base, "Northwind Devices")
    service = await control("POST", base, f"/orgs/{org_id}/builtin-service")
    serials = ["NWIPAD00001", "NWIPAD00002"]
    await control(
        "POST",
        base,
        f"/orgs/{org_id}/devices",
        json={
            "devices": [{"serial_number": s, "model": "iPad Air", "device_family": "iPad"} for s in serials]
        },
    )
    await control(
        "POST",
        base,
        f"/orgs/{org_id}/assignments",
        json={"server_uuid": service["server_uuid"], "serials": serials[:1]},
    )
    enrolled = await control(
        "POST",
        base,
        f"/orgs/{org_id}/builtin-enrollments",
        json={
            "serial_number": serials[0],
            "device_name": "Front Desk iPad",
            "locked": True,
            "os_version": "26.1",
        },
    )
    await control(
        "PUT", base, f"/orgs/{org_id}/devices/{serials[0]}/activation-lock-status", json={"lock_type": "USER"}
    )
    await control(
        "POST",
        base,
        f"/orgs/{org_id}/apps",
        json={"adam_id": "361309726", "name": "Pages", "bundle_id": "com.apple.Pages"},
    )
    business = await business_api(base, org_id)
    async with business:
        created = await business.post(
            "/v1/blueprints",
            json={
                "data": {
                    "type": "blueprints",
                    "attributes": {"name": "Front Desk"},
                    "relationships": {
                        "apps": linkage("apps", ["361309726"]),
                        "orgDevices": linkage("orgDevices", serials[:1]),
                    },
                }
            },
        )
        assert created.status_code == 201, created.text
        mdm_devices = (await business.get("/v1/mdmDevices")).json()["data"]
        assert [d["id"] for d in mdm_devices] == [enrolled["id"]]

    await page.goto(f"{base}/console/devices/{serials[0]}", timeout=SLOW)
    block = page.locator("#builtin")
    await expect(block.get_by_role("list", name="Blueprints")).to_have_text("Front Desk")
    facts = block.locator("dl.facts")
    await expect(facts).to_contain_text("Assigned to Apple's built-in service")
    await expect(facts).to_contain_text("Yes (Apple Business device management)")
    await expect(facts).to_contain_text(enrolled["id"])
    await expect(facts).to_contain_text("Front Desk iPad")
    await expect(facts).to_contain_text("iPadOS 26.1")
    await expect(facts).to_contain_text("LOCKED")
    await expect(facts).to_contain_text("Locked (USER)")
    await block.scroll_into_view_if_needed()
    await screenshot(page, "device-builtin")
    await block.get_by_role("link", name="Front Desk").click()
    await expect(page.get_by_role("heading", name="Front Desk", level=1)).to_be_visible(timeout=SLOW)

    # The other device: in no Blueprint, not enrolled, not locked.
    await page.goto(f"{base}/console/devices/{serials[1]}", timeout=SLOW)
    block = page.locator("#builtin")
    await expect(block).to_contain_text("In no Blueprint.")
    await expect(block.locator("dl.facts")).to_contain_text("Enrolled in the built-in serviceNo")
    await expect(block.locator("dl.facts")).to_contain_text("Not locked")

    # Migrated to another server, the enrollment leaves mdmDevices (§4.1) and the page says so.
    other = await control(
        "POST", base, f"/orgs/{org_id}/mdm-servers", json={"server_name": "Third-party MDM"}
    )
    await control(
        "POST",
        base,
        f"/orgs/{org_id}/assignments",
        json={"server_uuid": other["server_uuid"], "serials": serials[:1]},
    )
    await page.goto(f"{base}/console/devices/{serials[0]}", timeout=SLOW)
    facts = page.locator("#builtin dl.facts")
    await expect(facts).to_contain_text("No longer")
    await expect(facts).to_contain_text("not in mdmDevices")
    await expect(facts).not_to_contain_text("Front Desk iPad")


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
