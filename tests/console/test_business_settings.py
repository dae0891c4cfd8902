"""The Settings page switches the Business API 2.x settings (issue 30, §5 item 10): a checkbox, a
group of checkboxes, a choice and two numbers, through the control API's own service."""

from __future__ import annotations

import httpx
from dep_emulator.testing.replicas import Replica
from playwright.async_api import Page, expect

from tests.console.helpers import create_org


async def test_business_api_settings(page: Page, emulator: Replica) -> None:
    base = emulator.url
    org_id = await create_org(page, base, "Switches Co")
    await page.goto(f"{base}/console/orgs/{org_id}/settings")
    await expect(page.get_by_label("builtin_device_management")).to_be_checked()
    await expect(page.get_by_label("blueprint_name_rules")).to_have_value("lenient")
    permissions = page.get_by_role("group", name="api_missing_permissions")
    await expect(permissions.get_by_role("checkbox")).to_have_count(8)

    await page.get_by_label("builtin_device_management").uncheck()
    await permissions.get_by_label("users", exact=True).check()
    await permissions.get_by_label("blueprints", exact=True).check()
    await page.get_by_label("blueprint_name_rules").select_option("strict")
    await page.get_by_label("blueprint_delete_grace_seconds").fill("300")
    await page.get_by_label("blueprint_linkage_delay_seconds").fill("20")
    await page.get_by_role("button", name="Save").click()
    await expect(page.get_by_text("Settings saved.")).to_be_visible()
    async with httpx.AsyncClient(base_url=base) as api:
        settings = (await api.get(f"/emulator/v1/orgs/{org_id}/settings")).json()
    assert settings["builtin_device_management"] is False
    assert settings["api_missing_permissions"] == ["users", "blueprints"]
    assert settings["blueprint_name_rules"] == "strict"
    assert (settings["blueprint_delete_grace_seconds"], settings["blueprint_linkage_delay_seconds"]) == (
        300,
        20,
    )
    await expect(permissions.get_by_label("users", exact=True)).to_be_checked()
    await expect(permissions.get_by_label("apps", exact=True)).not_to_be_checked()
