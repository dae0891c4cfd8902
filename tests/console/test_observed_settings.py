"""The Settings page names the observed behaviours and switches the new ones (issue 29)."""

from __future__ import annotations

import httpx
from dep_emulator.testing.replicas import Replica
from playwright.async_api import Page, expect

from tests.console.helpers import create_org


async def test_observed_behaviour_settings(page: Page, emulator: Replica) -> None:
    base = emulator.url
    org_id = await create_org(page, base, "Observed Co")
    await page.goto(f"{base}/console/orgs/{org_id}/settings")
    table = page.get_by_role("table")
    for name in ("F1", "F3", "F5", "F6"):
        await expect(table.get_by_role("cell", name=name, exact=True)).to_be_visible()
    await expect(page.get_by_label("release_feed_event")).to_have_value("none")
    await expect(page.get_by_label("feed_delay_seconds")).to_have_value("0")

    await page.get_by_label("release_feed_event").select_option("deleted")
    await page.get_by_label("feed_delay_seconds").fill("90")
    await page.get_by_role("button", name="Save").click()
    await expect(page.get_by_text("Settings saved.")).to_be_visible()
    async with httpx.AsyncClient(base_url=base) as api:
        settings = (await api.get(f"/emulator/v1/orgs/{org_id}/settings")).json()
        assert (settings["release_feed_event"], settings["feed_delay_seconds"]) == ("deleted", 90)

    # Out of range: the message next to the field, nothing saved.
    await page.get_by_label("feed_delay_seconds").fill("100000")
    await page.get_by_role("button", name="Save").click()
    await expect(page.locator("#feed_delay_seconds-error")).to_contain_text("feed_delay_seconds")
    async with httpx.AsyncClient(base_url=base) as api:
        assert (await api.get(f"/emulator/v1/orgs/{org_id}/settings")).json()["feed_delay_seconds"] == 90
