"""Apps, Blueprints and Configurations through the console's pages (issue 30). Apps, packages,
devices, users and the portal's configurations are seeded through the control API; the Blueprint
and the CUSTOM_SETTING configuration through the Business API, as an MDM makes them."""

from __future__ import annotations

from dep_emulator.testing.replicas import Replica
from playwright.async_api import Page, expect

from tests.console.business import SLOW, business_api, linkage, nav, new_org, profile
from tests.console.conftest import screenshot
from tests.console.helpers import control


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
    bob = await control(
        "POST", base, f"/orgs/{org_id}/users", json={"first_name": "Bob", "last_name": "Byte"}
    )
    design = await control(
        "POST", base, f"/orgs/{org_id}/user-groups", json={"name": "Design", "members": [bob["id"]]}
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
                        "userGroups": linkage("userGroups", [design["id"]]),
                    },
                }
            },
        )
        assert created.status_code == 201, created.text
        blueprint_id = created.json()["data"]["id"]
        assert created.json()["data"]["attributes"]["appLicenseDeficient"] is True

    # Apps: Pages has 2 licences for 62 targets (60 devices, Ada, Bob through Design): short by 60.
    await page.goto(f"{base}/console/orgs/{org_id}", timeout=SLOW)
    await nav(page, "Apps")
    apps = page.locator("#apps-table tbody tr")
    await expect(apps).to_have_count(2, timeout=SLOW)
    pages_row = apps.filter(has_text="Pages")
    cells = pages_row.get_by_role("cell")
    await expect(cells.nth(1)).to_have_text("361309726")
    await expect(cells.nth(4)).to_have_text("2")
    await expect(cells.nth(5)).to_have_text("62")
    await expect(cells.nth(6)).to_have_text("0")
    await expect(cells.nth(7)).to_have_text("Short by 60")
    slack = apps.filter(has_text="Slack").get_by_role("cell")
    await expect(slack.nth(4)).to_have_text("500")
    await expect(slack.nth(6)).to_have_text("438")
    await expect(slack.nth(7)).to_have_text("No")
    await expect(page.locator("#packages-table tbody tr")).to_contain_text("Company Tools")
    await screenshot(page, "apps")

    # Blueprints: the list with counts, then the Blueprint's page.
    await nav(page, "Blueprints")
    row = page.locator("tbody tr")
    await expect(row).to_have_count(1, timeout=SLOW)
    await expect(row.get_by_role("cell")).to_have_text(
        ["iPad Fleet", "ACTIVE", "2", "1", "2", "60", "1", "1", "Yes"]
    )
    await row.get_by_role("link", name="iPad Fleet").click()
    await expect(page.get_by_role("heading", name="iPad Fleet", level=1)).to_be_visible(timeout=SLOW)
    await expect(page.locator("dl.facts")).to_contain_text("Every shared iPad")
    await expect(page.get_by_role("list", name="Apps")).to_contain_text("Pages")
    await expect(page.get_by_role("list", name="Packages")).to_contain_text("Company Tools 2.1")
    await expect(page.get_by_role("list", name="Configurations")).to_contain_text("Baseline")
    await expect(page.get_by_role("list", name="Configurations")).to_contain_text("FILE_VAULT")
    await expect(page.get_by_role("list", name="Users")).to_contain_text("Ada Lovelace")
    await expect(page.get_by_role("list", name="Groups")).to_contain_text("Design (1 members)")
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

    # A user's page lists the Blueprints that target it, directly (Ada) or through a group (Bob).
    for user, groups in ((ada, "Not in any group."), (bob, "Design")):
        await page.goto(f"{base}/console/orgs/{org_id}/users/{user['id']}", timeout=SLOW)
        await expect(page.get_by_role("list", name="Blueprints")).to_have_text("iPad Fleet")
        await expect(page.locator("main")).to_contain_text(groups)

    # Delete Blueprint: gone from the list and from the Business API.
    await page.goto(f"{base}/console/orgs/{org_id}/blueprints/{blueprint_id}")
    await page.get_by_role("button", name="Delete Blueprint").click()
    await expect(page.get_by_text("The Blueprint was deleted.")).to_be_visible(timeout=SLOW)
    await expect(page.get_by_text("No Blueprints")).to_be_visible()
    business = await business_api(base, org_id)
    async with business:
        assert (await business.get(f"/v1/blueprints/{blueprint_id}")).status_code == 404
