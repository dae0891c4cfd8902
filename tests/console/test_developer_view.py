"""Faults, Request Journal and Clock: what the developer sets up and sees, through the pages."""

from __future__ import annotations

from pathlib import Path

from dep_emulator.testing.replicas import Replica
from playwright.async_api import Page, expect

from tests.console.conftest import screenshot
from tests.console.helpers import Mdm, add_server, create_org


async def test_a_fault_added_on_the_faults_page_fires_and_shows_in_the_journal(
    page: Page, emulator: Replica, tmp_path: Path
) -> None:
    base = emulator.url
    org_id = await create_org(page, base, "Fault Lines")
    added = await add_server(page, base, org_id, tmp_path, name="flaky-mdm")
    mdm = Mdm(base, added["credentials"])
    _, cursor = mdm.sync_all()

    await page.get_by_role("link", name="Faults").click()
    await page.get_by_label("Endpoint").fill("POST /devices/sync")
    await page.get_by_label("MDM Server (optional)").select_option(label="flaky-mdm")
    step = page.get_by_role("group", name="Step 1")
    await step.get_by_label("Kind").select_option(label="Status")
    await step.get_by_label("Value").fill("503")
    await step.get_by_label("Retry-After (optional)").fill("120")
    await page.get_by_role("button", name="Add Fault").click()
    await expect(page.get_by_role("cell", name="POST /devices/sync", exact=True)).to_be_visible()
    await expect(page.get_by_text("(1 left)")).to_be_visible()
    await screenshot(page, "faults")

    refused = mdm.call("POST", "/devices/sync", {"cursor": cursor})
    assert refused.status_code == 503
    assert refused.headers["Retry-After"] == "120"
    assert mdm.call("POST", "/devices/sync", {"cursor": cursor}).status_code == 200

    await page.get_by_role("link", name="Request Journal").click()
    table = page.locator("#journal-table")
    row = table.get_by_role("row").filter(has_text="503")
    await expect(row).to_have_count(1)
    await expect(row).to_contain_text("flaky-mdm")
    await expect(row).to_contain_text("POST /devices/sync")
    await expect(row.get_by_role("cell").nth(8)).not_to_have_text("")  # the fault that shaped it
    # The page refreshes itself: a request made while it is open appears without a reload.
    assert mdm.call("GET", "/account").status_code == 200
    await expect(table.get_by_role("row").filter(has_text="GET /account")).to_have_count(1, timeout=10_000)
    await screenshot(page, "journal")
    await row.get_by_role("link").click()
    await expect(page.get_by_text('"status": 503')).to_be_visible()

    # Delete, then Clear All.
    await page.goto(f"{base}/console/orgs/{org_id}/faults")
    await page.get_by_role("button", name="Delete fault on POST /devices/sync").click()
    await expect(page.get_by_text("No active fault scripts.")).to_be_visible()


async def test_advance_8_days_expires_an_old_cursor(page: Page, emulator: Replica, tmp_path: Path) -> None:
    base = emulator.url
    org_id = await create_org(page, base, "Timekeepers")
    added = await add_server(page, base, org_id, tmp_path, name="slow-mdm")
    mdm = Mdm(base, added["credentials"])
    _, cursor = mdm.sync_all()
    assert mdm.call("POST", "/devices/sync", {"cursor": cursor}).status_code == 200

    await page.get_by_role("link", name="Clock").click()
    before = await page.locator(".clock-now strong").text_content()
    await page.get_by_role("button", name="Advance 8 days").click()
    await expect(page.locator(".clock-now strong")).not_to_have_text(before or "")
    await screenshot(page, "clock")

    expired = mdm.call("POST", "/devices/sync", {"cursor": cursor})
    assert (expired.status_code, expired.text.strip('"')) == (400, "EXPIRED_CURSOR")

    await page.get_by_label("Hours").fill("not a number")
    await page.get_by_role("button", name="Advance", exact=True).click()
    await expect(page.get_by_role("heading", name="There is a problem")).to_be_visible()


async def test_settings_terms_toggle_refuses_sessions(page: Page, emulator: Replica, tmp_path: Path) -> None:
    base = emulator.url
    org_id = await create_org(page, base, "Terms Co")
    added = await add_server(page, base, org_id, tmp_path, name="terms-mdm")
    await page.get_by_role("link", name="Settings").click()
    await page.get_by_label("Terms and Conditions accepted").uncheck()
    await page.get_by_label("feed_style").select_option("clean")
    await page.get_by_label("Traffic preset").select_option("strict")
    await page.get_by_role("button", name="Save").click()
    await expect(page.get_by_text("Settings saved.")).to_be_visible()
    await screenshot(page, "settings")
    refused = Mdm(base, added["credentials"]).session()
    assert (refused.status_code, refused.text.strip('"')) == (403, "T_C_NOT_SIGNED")
    await expect(page.get_by_label("feed_style")).to_have_value("clean")
    await expect(page.get_by_label("Traffic preset")).to_have_value("strict")
