"""The admin's guide, steps 1 and 2, through the pages only; then an MDM uses what it downloaded."""

from __future__ import annotations

import re
from pathlib import Path

from dep_emulator.testing.replicas import Replica
from playwright.async_api import Page, expect

from tests.conftest import make_certificate
from tests.console.conftest import screenshot
from tests.console.helpers import Mdm, add_server, control, create_org


async def test_create_org_add_server_download_token_and_open_a_dep_session(
    page: Page, emulator: Replica, tmp_path: Path
) -> None:
    base = emulator.url
    await page.goto(f"{base}/console")
    await screenshot(page, "organizations")
    org_id = await create_org(page, base, "Example School")
    nav = page.get_by_role("navigation", name="Organization")
    for name in ("Manage Servers", "Manage Devices", "View Assignment History", "Devices", "Profiles",
                 "Request Journal", "Faults", "Clock", "Settings"):  # fmt: skip
        await expect(nav.get_by_role("link", name=name, exact=True)).to_be_visible()

    added = await add_server(page, base, org_id, tmp_path, name="mdm.example.org")
    assert re.fullmatch(
        r"mdm\.example\.org_Token_\d{4}-\d\d-\d\dT\d\d-\d\d-\d\dZ_smime\.p7m", added["token_file"].name
    )
    assert list(added["credentials"]) == [
        "consumer_key", "consumer_secret", "access_token", "access_secret", "access_token_expiry",
    ]  # fmt: skip
    row = page.get_by_role("row").filter(has_text="mdm.example.org")
    await expect(row).to_contain_text(added["uuid"])
    await screenshot(page, "manage-servers")

    mdm = Mdm(base, added["credentials"])
    assert mdm.session().status_code == 200
    account = mdm.call("GET", "/account")
    assert account.status_code == 200
    assert account.json()["server_uuid"] == added["uuid"]
    assert account.json()["org_name"] == "Example School"

    # The server's page: a new token from "Download Token"; the earlier one stops working.
    await page.get_by_role("link", name="mdm.example.org").click()
    await page.get_by_role("button", name="Show Credentials").click()
    await expect(page.get_by_text(added["credentials"]["access_token"])).to_be_visible()
    await expect(page.get_by_text("Last /session")).to_be_visible()
    await screenshot(page, "server")
    async with page.expect_download() as download:
        await page.get_by_role("button", name="Download Token").click()
    assert (await download.value).suggested_filename.endswith("_smime.p7m")
    assert Mdm(base, added["credentials"]).session().status_code == 401


async def test_wrong_files_are_refused_on_step_2_and_nothing_is_created(
    page: Page, emulator: Replica, tmp_path: Path
) -> None:
    base = emulator.url
    org_id = await create_org(page, base, "Refusals Inc")
    _, key_pem = make_certificate()
    files = {
        "key.pem": (key_pem, "This is a private key"),
        "garbage.pem": (b"\x00\x01not a certificate\xff", "not a PEM file"),
        "text.pem": (b"hello", "Not a PEM X.509 certificate"),
    }
    for file_name, (content, message) in files.items():
        (tmp_path / file_name).write_bytes(content)
        await page.goto(f"{base}/console/orgs/{org_id}/servers/new")
        await page.get_by_label("MDM Server Name").fill("refused.example.org")
        await page.get_by_role("button", name="Next").click()
        await page.get_by_label("Public Key").set_input_files(str(tmp_path / file_name))
        await page.get_by_role("button", name="Next").click()
        await expect(page.get_by_role("heading", name="There is a problem")).to_be_visible()
        await expect(page.locator(".field-error")).to_contain_text(message)
    listed = await control("GET", base, f"/orgs/{org_id}/mdm-servers")
    assert listed["mdm_servers"] == []
