"""A person signs in through the device's web view in the console (configuration_web_url), and
Setup Assistant's panes follow the device's platform and OS version (issue 31 §4, §6)."""

from __future__ import annotations

from pathlib import Path

from dep_emulator.testing.replicas import Replica
from playwright.async_api import Page, expect

from tests.console.conftest import screenshot
from tests.console.helpers import control, device_for_small_mdm
from tests.device_setup.small_mdm import SmallMdm


async def test_a_person_signs_in_in_the_web_view_and_the_device_enrolls(
    page: Page, emulator: Replica, tmp_path: Path, small: SmallMdm
) -> None:
    base = emulator.url
    serial, mdm = await device_for_small_mdm(
        page, base, tmp_path, small, org="Shelbyville High", server="web-auth-mdm", family="iPhone", seed=4
    )
    profile = {
        "profile_name": "Staff",
        "url": small.base_url + "/enroll",
        "configuration_web_url": small.base_url + "/web",
        "await_device_configured": True,
        "skip_setup_items": ["Siri", "Wallpaper", "NoSuchPane"],
        "devices": [serial],
    }
    defined = mdm.call("POST", "/profile", profile)
    assert defined.status_code == 200 and defined.json()["devices"] == {serial: "SUCCESS"}, defined.text

    # The device runs 26.1: the console changes it, as PATCH does.
    await page.goto(f"{base}/console/devices/{serial}")
    await page.get_by_label("OS version").fill("26.1")
    await page.get_by_role("button", name="Change software").click()
    await expect(page.get_by_text("The device's software was changed.")).to_be_visible()
    await expect(page.locator("dd").filter(has_text="26.1 (23B85)")).to_have_count(1)

    await page.get_by_role("button", name="Switch On").click()
    screen = page.get_by_role("region", name="Setup Assistant")
    await expect(screen.get_by_text("iOS 26.1 (23B85)", exact=True)).to_be_visible()
    shown = screen.get_by_role("list", name="Panes shown")
    # iOS 26 panes are there (with Accessibility Appearance, a 2026 key of Apple's 54); panes iOS 26
    # no longer has, or does not have yet (Liquid Glass: iOS 27), are not.
    for title in ("What's New", "Multitasking", "Camera Control", "Apple Intelligence"):
        await expect(shown.get_by_text(title)).to_be_visible()
    await expect(shown.get_by_text("Accessibility Appearance (AccessibilityAppearance)")).to_be_visible()
    for title in ("Display Zoom", "Home Button", "FileVault", "Siri", "Liquid Glass"):
        await expect(shown.get_by_text(title)).to_have_count(0)
    await expect(screen.get_by_role("list", name="Panes skipped").get_by_text("Siri")).to_be_visible()
    await expect(screen.get_by_role("list", name="Not on this OS").get_by_text("Wallpaper")).to_be_visible()
    await expect(
        screen.get_by_role("list", name="Unknown skip keys").get_by_text("NoSuchPane")
    ).to_be_visible()
    # The screenshot starts at the OS and the first panes shown.
    await screen.locator("p.os-version").evaluate("e => e.scrollIntoView({block: 'start'})")
    await page.locator("#screen-title").evaluate("e => e.scrollIntoView({block: 'start'})")
    await screenshot(page, "setup-assistant-26")

    # The web view shows the MDM's sign-in page; the person types, the device submits.
    web = page.get_by_role("region", name="Web view")
    await expect(web.get_by_role("heading", name="Example MDM sign-in")).to_be_visible()
    await expect(web.get_by_text("Sign in to enroll")).to_be_visible()
    await web.get_by_label("User name").fill("alice")
    await web.get_by_label("Password").fill("wonderland")
    await web.scroll_into_view_if_needed()
    await screenshot(page, "web-view")
    await web.get_by_role("button", name="Sign in").click()
    web = page.get_by_role("region", name="Web view")
    await expect(
        web.get_by_text("Web view enrolled: the page returned the enrollment profile")
    ).to_be_visible()
    assert [p["form"]["username"] for p in small.web_puts] == ["alice"]
    assert small.web_puts[0]["cookie"] == f"pending-{serial}"
    # Enrolled, awaiting configuration; the exchanges show the web view's loads.
    await expect(page.locator("dt:text-is('Awaiting configuration') + dd")).to_have_text("Yes")
    await expect(page.get_by_role("cell", name="web_view.submit")).to_have_count(1)
    state = await control("GET", base, f"/devices/{serial}/mdm")
    assert state["awaiting_configuration"] is True
