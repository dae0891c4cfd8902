"""A Mac awaiting configuration gets AccountConfiguration from its MDM: the device's console page
lists the accounts Setup Assistant would create, and where Setup Assistant is (issue 31 §5)."""

from __future__ import annotations

from pathlib import Path

from dep_emulator.testing.replicas import Replica
from playwright.async_api import Page, expect

from tests.console.conftest import screenshot
from tests.console.helpers import control, device_for_small_mdm
from tests.device_setup.small_mdm import SmallMdm


async def test_the_device_page_lists_the_accounts_setup_assistant_would_create(
    page: Page, emulator: Replica, tmp_path: Path, small: SmallMdm
) -> None:
    page.set_default_timeout(60_000)
    base = emulator.url
    serial, mdm = await device_for_small_mdm(
        page, base, tmp_path, small, org="Capital City Labs", server="mac-mdm", family="Mac", seed=31
    )
    profile = {
        "profile_name": "Lab Macs",
        "url": small.base_url + "/enroll",
        "await_device_configured": True,
        "devices": [serial],
    }
    defined = mdm.call("POST", "/profile", profile)
    assert defined.status_code == 200 and defined.json()["devices"] == {serial: "SUCCESS"}, defined.text
    # The Mac stops between Authenticate and TokenUpdate (fleet#32009's window).
    enrolled = await control(
        "POST", base, f"/devices/{serial}/activate", json={"enroll": True, "hold_token_update": True}
    )
    assert enrolled["enrollment"]["outcome"] == "authenticated", enrolled["enrollment"]
    await page.goto(f"{base}/console/devices/{serial}")
    await expect(page.locator("dd.setup-state")).to_contain_text("token update pending")
    await expect(page.get_by_role("list", name="Accounts Setup Assistant will create")).to_have_count(0)

    # The MDM sends AccountConfiguration on Authenticate, before it can push; the Mac gets it at its
    # first connection, after TokenUpdate.
    small.commands.append(
        {
            "CommandUUID": "ACCOUNTS-1",
            "Command": {
                "RequestType": "AccountConfiguration",
                "AutoSetupAdminAccounts": [
                    {
                        "shortName": "labadmin",
                        "fullName": "Lab Admin",
                        "passwordHash": b"h" * 64,
                        "hidden": True,
                    }
                ],
                "PrimaryAccountFullName": "Marge Bouvier",
                "PrimaryAccountUserName": "marge",
                "SetPrimarySetupAccountAsRegularUser": True,
                "LockPrimaryAccountInfo": True,
                "ManagedLocalUserShortName": "labadmin",
            },
        }
    )
    # The person at the Mac lets it go on: the page's button sends the held TokenUpdate.
    await page.get_by_role("button", name="Send TokenUpdate").click()
    await expect(page.locator("dd.setup-state")).to_contain_text("awaiting configuration")
    await expect(page.get_by_role("button", name="Send TokenUpdate")).to_have_count(0)
    managed = await control("GET", base, f"/devices/{serial}/mdm")
    assert managed["setup"]["state"] == "awaiting_configuration"
    await expect(page.get_by_role("list", name="Accounts Setup Assistant will create")).to_have_count(0)
    polled = await control("POST", base, f"/devices/{serial}/mdm/poll")
    assert polled["commands"] == 1

    await page.goto(f"{base}/console/devices/{serial}")
    accounts = page.get_by_role("list", name="Accounts Setup Assistant will create")
    items = accounts.get_by_role("listitem")
    await expect(items).to_have_count(2)
    await expect(items.nth(0)).to_have_text("Lab Admin labadmin: administrator, hidden, managed")
    await expect(items.nth(1)).to_have_text("Marge Bouvier marge: standard, fields locked")
    await expect(page.locator("dd.setup-state")).to_contain_text(
        "answered 1 command(s) meanwhile, none of them DeviceConfigured"
    )
    await expect(page.get_by_role("cell", name="command.AccountConfiguration")).to_have_count(1)

    # Two hours later on the emulator clock, still no DeviceConfigured: the page says it is stalled.
    await control("POST", base, "/clock", json={"advance_seconds": 7200})
    await page.goto(f"{base}/console/devices/{serial}")
    await expect(page.locator("dd.setup-state")).to_contain_text("awaiting configuration, stalled")
    await expect(page.locator("dd.setup-state")).to_contain_text(
        "has not sent DeviceConfigured for 2.0 hours"
    )
    await page.get_by_role("heading", name="Managed by the MDM").evaluate(
        "e => e.scrollIntoView({block: 'start'})"
    )
    await screenshot(page, "awaiting-configuration")
