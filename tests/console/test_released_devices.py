"""Observed F2 in the console (issue 29): a released device is listed as released, Manage Devices
refuses to assign it with a message next to the serial numbers, and its page adds it back."""

from __future__ import annotations

import httpx
from dep_emulator.testing.replicas import Replica
from playwright.async_api import Page, expect

from tests.console.conftest import screenshot


async def test_released_device_is_listed_refused_and_added_back(page: Page, emulator: Replica) -> None:
    base = emulator.url
    async with httpx.AsyncClient(base_url=base, timeout=60) as api:
        org = (await api.post("/emulator/v1/orgs", json={"name": "Release Co"})).json()
        server = await api.post(f"/emulator/v1/orgs/{org['id']}/mdm-servers", json={"server_name": "mdm-rel"})
        assert server.status_code == 201, server.text
        devices = [{"serial_number": s, "model": "iPhone 15"} for s in ("RELPAGE001", "KEPTPAGE01")]
        added = await api.post(f"/emulator/v1/orgs/{org['id']}/devices", json={"devices": devices})
        assert added.status_code == 201, added.text
        assert (await api.delete("/emulator/v1/devices/RELPAGE001")).status_code == 200

    await page.goto(f"{base}/console/orgs/{org['id']}/devices")
    row = page.get_by_role("row").filter(has_text="RELPAGE001")
    await expect(row).to_contain_text("Released")
    await expect(page.get_by_role("row").filter(has_text="KEPTPAGE01")).to_contain_text("Unassigned")

    await page.goto(f"{base}/console/orgs/{org['id']}/manage-devices")
    await page.get_by_role("radio", name="Serial Number").check()
    await (
        page.get_by_label("Serial Number", exact=True)
        .and_(page.locator("textarea"))
        .fill("KEPTPAGE01 RELPAGE001")
    )
    await page.get_by_role("radio", name="Assign to Server").check()
    await page.get_by_label("MDM Server").select_option(label="mdm-rel")
    await page.get_by_role("button", name="OK").click()
    error = page.locator("#serial_numbers-error")
    await expect(error).to_contain_text("released from the organization", timeout=60_000)
    await expect(error).to_contain_text("RELPAGE001")
    async with httpx.AsyncClient(base_url=base, timeout=60) as api:  # nothing was assigned
        assert (await api.get("/emulator/v1/devices/KEPTPAGE01")).json()["server_uuid"] is None

    await page.goto(f"{base}/console/devices/RELPAGE001")
    released = page.locator("#released")
    await expect(released).to_contain_text("Released on")
    await screenshot(page, "device-released")
    await released.get_by_role("button", name="Add Back to Organization").click()
    await expect(page.get_by_text("Added back to the organization")).to_be_visible(timeout=60_000)
    await expect(page.locator("#released")).to_have_count(0)
    async with httpx.AsyncClient(base_url=base, timeout=60) as api:
        device = (await api.get("/emulator/v1/devices/RELPAGE001")).json()
        assert device["org_id"] == org["id"] and device["released_at"] is None

    # The Settings page switches it like the other observed behaviours.
    await page.goto(f"{base}/console/orgs/{org['id']}/settings")
    await expect(page.get_by_role("cell", name="F2", exact=True)).to_be_visible()
    await expect(page.get_by_label("released_devices")).to_have_value("listed")
    await page.get_by_label("released_devices").select_option("removed")
    await page.get_by_role("button", name="Save").click()
    await expect(page.get_by_text("Settings saved.")).to_be_visible()
    async with httpx.AsyncClient(base_url=base, timeout=60) as api:
        settings = (await api.get(f"/emulator/v1/orgs/{org['id']}/settings")).json()
        assert settings["released_devices"] == "removed"
