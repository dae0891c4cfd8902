"""A device's AppleCare coverage on its console page (issue 29 item 11): the Limited Warranty and its
AppleCare+ contracts, added and removed there through the service the control API uses."""

from __future__ import annotations

import httpx
from dep_emulator.testing.replicas import Replica
from playwright.async_api import Page, expect

from tests.console.conftest import screenshot


async def test_add_and_remove_apple_care_on_the_device_page(page: Page, emulator: Replica) -> None:
    base = emulator.url
    async with httpx.AsyncClient(base_url=base, timeout=60) as api:
        org = (await api.post("/emulator/v1/orgs", json={"name": "Care Co"})).json()
        devices = [{"serial_number": "CAREPAGE01", "model": "MacBook Air"}]
        added = await api.post(f"/emulator/v1/orgs/{org['id']}/devices", json={"devices": devices})
        assert added.status_code == 201, added.text

    await page.goto(f"{base}/console/devices/CAREPAGE01")
    coverage = page.locator("#coverage")
    await expect(coverage.get_by_role("row").filter(has_text="Limited Warranty")).to_have_count(1)
    form = page.get_by_role("form", name="Add AppleCare+")
    await form.get_by_label("Agreement number").fill("AC-77")
    await form.get_by_label("Payment type").select_option("SUBSCRIPTION")
    await form.get_by_label("End date (blank: none)").fill("2030-01-31")
    await form.get_by_label("Renewable").check()
    await form.get_by_role("button", name="Add AppleCare+").click()
    await expect(page.get_by_text("AppleCare coverage added")).to_be_visible(timeout=60_000)
    row = page.locator("#coverage").get_by_role("row").filter(has_text="AC-77")
    await expect(row).to_contain_text("SUBSCRIPTION")
    await screenshot(page, "device-apple-care")
    async with httpx.AsyncClient(base_url=base, timeout=60) as api:
        (contract,) = (await api.get("/emulator/v1/devices/CAREPAGE01/apple-care")).json()["contracts"]
        assert (contract["agreementNumber"], contract["isRenewable"]) == ("AC-77", True)
        assert contract["endDateTime"].startswith("2030-01-31")

    # The same number again: the message next to the field, nothing added.
    form = page.get_by_role("form", name="Add AppleCare+")
    await form.get_by_label("Agreement number").fill("AC-77")
    await form.get_by_role("button", name="Add AppleCare+").click()
    await expect(page.locator("#agreementNumber-error")).to_contain_text("already has", timeout=60_000)

    await page.get_by_role("button", name="Remove AC-77").click()
    await expect(page.get_by_text("AppleCare coverage removed")).to_be_visible(timeout=60_000)
    await expect(page.locator("#coverage").get_by_role("row").filter(has_text="AC-77")).to_have_count(0)
