"""The console's writes on the Business API 2.x state (issue 30): Add Configuration and Delete
Configuration, the service calls of `POST`/`DELETE /v1/configurations`, read back through the
Business API."""

from __future__ import annotations

from pathlib import Path

from dep_emulator.testing.replicas import Replica
from playwright.async_api import Page, expect

from tests.console.business import SLOW, business_api, nav, new_org, profile


async def test_add_and_delete_a_custom_configuration(page: Page, emulator: Replica, tmp_path: Path) -> None:
    base = emulator.url
    org_id = await new_org(base, "Northwind Forms")
    good = tmp_path / "baseline.mobileconfig"
    good.write_text(profile())
    garbage = tmp_path / "notes.mobileconfig"
    garbage.write_text("this is not a property list")

    await page.goto(f"{base}/console/orgs/{org_id}", timeout=SLOW)
    await nav(page, "Configurations")
    await expect(page.get_by_text("No configurations")).to_be_visible()

    # Refused: no name and no file; then a file that is not a profile. Nothing is created.
    await page.get_by_role("button", name="Add Configuration").click()
    summary = page.get_by_role("alert")
    await expect(summary).to_contain_text("Enter the configuration's name")
    await expect(summary).to_contain_text("Choose the configuration profile")
    await page.get_by_label("Configuration name").fill("Notes")
    await page.get_by_label("Configuration profile").set_input_files(str(garbage))
    await page.get_by_role("button", name="Add Configuration").click()
    await expect(summary).to_contain_text("plist XML text")
    await expect(page.get_by_label("Configuration name")).to_have_value("Notes")
    await expect(page.get_by_text("No configurations")).to_be_visible()

    await page.get_by_label("Configuration name").fill("Baseline")
    await page.get_by_label("Configuration profile").set_input_files(str(good))
    await page.get_by_role("button", name="Add Configuration").click()
    await expect(page.get_by_text("The configuration was added.")).to_be_visible(timeout=SLOW)
    row = page.locator("tbody tr")
    await expect(row).to_have_count(1)
    await expect(row).to_contain_text("CUSTOM_SETTING")
    await expect(row).to_contain_text("PLATFORM_MACOS, PLATFORM_IOS")  # derived from the payloads
    await row.get_by_role("link", name="Baseline").click()
    await expect(page.locator("#payloads-table tbody tr")).to_have_count(2)
    config_id = page.url.rsplit("/", 1)[1]

    business = await business_api(base, org_id)
    async with business:
        data = (await business.get(f"/v1/configurations/{config_id}")).json()["data"]
        assert data["attributes"]["name"] == "Baseline"
        assert data["attributes"]["customSettingsValues"]["filename"] == "baseline.mobileconfig"
        await page.get_by_role("button", name="Delete Configuration").click()
        await expect(page.get_by_text("The configuration was deleted.")).to_be_visible(timeout=SLOW)
        await expect(page.get_by_text("No configurations")).to_be_visible()
        assert (await business.get(f"/v1/configurations/{config_id}")).status_code == 404
