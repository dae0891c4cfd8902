"""The Settings page names the observed behaviours and switches the new ones (issue 29)."""

from __future__ import annotations

import asyncio

import httpx
from dep_emulator.testing.replicas import Replica
from playwright.async_api import Page, expect

from tests.console.helpers import Mdm, create_org


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


async def test_a_device_whose_events_are_withheld_says_so(page: Page, emulator: Replica) -> None:
    """F4: the device's page shows its events as withheld while the lost-events fault names it."""
    base = emulator.url
    async with httpx.AsyncClient(base_url=base) as api:
        org = (await api.post("/emulator/v1/orgs", json={"name": "Lost Co"})).json()
        devices = [{"serial_number": s, "model": "iPhone 15"} for s in ("LOSTPAGE01", "KEPTPAGE01")]
        assert (
            await api.post(f"/emulator/v1/orgs/{org['id']}/devices", json={"devices": devices})
        ).status_code == 201
        fault = {"lost_events": {"serials": ["LOSTPAGE01"]}}
        assert (await api.patch(f"/emulator/v1/orgs/{org['id']}/settings", json=fault)).status_code == 200
    await page.goto(f"{base}/console/devices/LOSTPAGE01")
    await expect(page.get_by_text("withholds this device's events from sync")).to_be_visible()
    await page.goto(f"{base}/console/devices/KEPTPAGE01")
    await expect(page.get_by_role("heading", name="KEPTPAGE01")).to_be_visible()
    await expect(page.get_by_text("withholds this device's events from sync")).to_have_count(0)
    await page.goto(f"{base}/console/orgs/{org['id']}/settings")
    await expect(page.get_by_role("cell", name="F4", exact=True)).to_be_visible()


async def test_the_journal_entry_of_a_sync_names_the_withheld_events(page: Page, emulator: Replica) -> None:
    """F4: the sync request's journal entry shows which events of which serial the fault withheld."""
    base = emulator.url
    async with httpx.AsyncClient(base_url=base, timeout=60) as api:
        org = (await api.post("/emulator/v1/orgs", json={"name": "Journal Co"})).json()
        server = (
            await api.post(f"/emulator/v1/orgs/{org['id']}/mdm-servers", json={"server_name": "mdm-j"})
        ).json()
        credentials = (
            await api.post(f"/emulator/v1/mdm-servers/{server['server_uuid']}/oauth-credentials")
        ).json()
        devices = [{"serial_number": s, "model": "iPhone 15"} for s in ("LOSTJRNL01", "KEPTJRNL01")]
        assert (
            await api.post(f"/emulator/v1/orgs/{org['id']}/devices", json={"devices": devices})
        ).status_code == 201
        mdm = Mdm(base, credentials)
        _, cursor = await asyncio.to_thread(mdm.sync_all)
        fault = {"lost_events": {"serials": ["LOSTJRNL01"]}}
        assert (await api.patch(f"/emulator/v1/orgs/{org['id']}/settings", json=fault)).status_code == 200
        assigned = await api.post(
            f"/emulator/v1/orgs/{org['id']}/assignments",
            json={"server_uuid": server["server_uuid"], "serials": ["LOSTJRNL01", "KEPTJRNL01"]},
        )
        assert assigned.status_code == 200
        events, _ = await asyncio.to_thread(mdm.sync_all, cursor)
        assert [e["serial_number"] for e in events] == ["KEPTJRNL01"]
    await page.goto(f"{base}/console/orgs/{org['id']}/journal")
    row = page.locator("#journal-table").get_by_role("row").filter(has_text="lost_events")
    await expect(row).to_have_count(1)
    await row.get_by_role("link").click()
    withheld = page.locator("#withheld")
    await expect(withheld).to_contain_text("LOSTJRNL01 (added, event")
    await expect(withheld).not_to_contain_text("KEPTJRNL01")
    entry_url = page.url

    # The device's page marks that event, linked to the entry; the device sent in sync has no mark.
    await withheld.get_by_role("link", name="LOSTJRNL01").click()
    events = page.get_by_role("table").filter(has_text="op_type")
    mark = events.get_by_role("row").filter(has_text="added").get_by_role("link", name="journal entry")
    await expect(mark).to_have_count(1)
    await mark.click()
    await expect(page).to_have_url(entry_url)
    await page.goto(f"{base}/console/devices/KEPTJRNL01")
    await expect(page.get_by_role("heading", name="KEPTJRNL01")).to_be_visible()
    await expect(page.get_by_text("withheld from sync")).to_have_count(0)
