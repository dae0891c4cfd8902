"""A device switched on after its MDM assigned a profile through the DEP API: what its screen shows."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from dep_emulator.testing.replicas import Replica
from playwright.async_api import Page, expect

from tests.console.conftest import screenshot
from tests.console.helpers import Mdm, add_server, control, create_org
from tests.device_setup.mdm_endpoint import MdmEndpoint, mdm_endpoint


@pytest.fixture
def endpoint() -> Iterator[MdmEndpoint]:
    with mdm_endpoint() as running:
        yield running


async def test_switch_on_shows_the_profile_then_the_mdm_answer_and_erase_puts_it_back(
    page: Page, emulator: Replica, tmp_path: Path, endpoint: MdmEndpoint
) -> None:
    base = emulator.url
    org_id = await create_org(page, base, "Springfield Schools")
    added = await add_server(page, base, org_id, tmp_path, name="school-mdm")
    made = await control(
        "POST", base, f"/orgs/{org_id}/devices", json={"generate": {"count": 1, "families": ["iPhone"]}}
    )
    (serial,) = made["serials"]
    await control(
        "POST", base, f"/orgs/{org_id}/assignments", json={"server_uuid": added["uuid"], "serials": [serial]}
    )
    async with httpx.AsyncClient() as client:
        endpoint.ca_pem = (await client.get(f"{base}/emulator/v1/device-ca")).content

    # Before any profile: the plain setup.
    await page.goto(f"{base}/console/devices/{serial}")
    await page.get_by_role("button", name="Switch On").click()
    await expect(page.get_by_text("This device is not managed")).to_be_visible()

    mdm = Mdm(base, added["credentials"])
    profile = {
        "profile_name": "Students",
        "url": endpoint.base_url + "/enroll",
        "department": "Grade 5 <b>Office</b>",
        "support_phone_number": "+1 555 0199",
        "support_email_address": "help@springfield.example",
        "is_supervised": True,
        "is_mdm_removable": False,
        "skip_setup_items": ["Siri", "Location", "Android"],
        "devices": [serial],
    }
    defined = mdm.call("POST", "/profile", profile)
    assert defined.status_code == 200, defined.text
    assert defined.json()["devices"] == {serial: "SUCCESS"}

    await page.goto(f"{base}/console/devices/{serial}")
    await page.get_by_role("button", name="Erase Device").click()
    await expect(page.get_by_text("The device was erased")).to_be_visible()
    await page.get_by_role("button", name="Switch On").click()
    screen = page.get_by_role("region", name="Setup Assistant")
    await expect(
        screen.get_by_text("Springfield Schools will automatically configure your device.")
    ).to_be_visible()
    await expect(screen.get_by_text("Grade 5 <b>Office</b>")).to_be_visible()  # shown as text
    await expect(screen.get_by_text("+1 555 0199")).to_be_visible()
    await expect(screen.get_by_text("help@springfield.example")).to_be_visible()
    skipped = screen.get_by_role("list", name="Panes skipped")
    for title in ("Siri", "Location Services", "Move from Android"):
        await expect(skipped.get_by_text(title, exact=False)).to_be_visible()
    await expect(
        screen.get_by_role("list", name="Panes shown").get_by_text("Siri", exact=True)
    ).to_have_count(0)
    await expect(screen.locator("dd").filter(has_text="application/x-apple-aspen-config")).to_have_count(1)
    await expect(screen.get_by_text("com.apple.mdm")).to_be_visible()
    await screenshot(page, "setup-assistant")
    assert endpoint.requests and endpoint.requests[-1].verified

    # The device page: profile, status and the feed's events for it.
    await page.goto(f"{base}/console/devices/{serial}")
    await expect(page.locator("dd").filter(has_text="pushed")).to_have_count(1)
    await expect(page.get_by_role("cell", name="modified")).not_to_have_count(0)
    await screenshot(page, "device")
    # Profiles: read-only, with the devices it is assigned to.
    await page.get_by_role("link", name="Profiles").click()
    await expect(page.get_by_role("row").filter(has_text="Students").get_by_role("cell").nth(4)).to_have_text(
        "1"
    )
