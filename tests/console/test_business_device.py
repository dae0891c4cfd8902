"""A device's page: the Blueprints holding it, its state in Apple's built-in device management and
its Activation Lock status as the Business API reports it (issue 30)."""

from __future__ import annotations

from dep_emulator.testing.replicas import Replica
from playwright.async_api import Page, expect

from tests.console.business import SLOW, business_api, linkage, new_org
from tests.console.conftest import screenshot
from tests.console.helpers import control


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
