"""Offline and self-contained pages, CSRF, escaping, the sign-in with DEPEMU_ADMIN_TOKEN, and `/`."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from dep_emulator.testing.replicas import Replica
from playwright.async_api import BrowserContext, Page, expect

from tests.console.conftest import Offline, _serve, screenshot
from tests.console.helpers import add_server, control, create_org

ADMIN_TOKEN = "console-test-admin-token-0123456789"


async def test_docs_redoc_and_every_console_page_render_with_the_network_blocked(
    page: Page, emulator: Replica, offline: Offline, tmp_path: Path
) -> None:
    base = emulator.url
    await page.goto(f"{base}/docs")
    operations = page.locator(".opblock")
    await expect(operations.first).to_be_visible(timeout=30_000)
    async with httpx.AsyncClient() as client:
        document = (await client.get(f"{base}/openapi.json")).json()
    expected = sum(len(ops) for ops in document["paths"].values())
    await expect(operations).to_have_count(expected)
    await screenshot(page, "docs")
    await page.goto(f"{base}/redoc")
    # ReDoc ran from the shipped bundle and drew every operation of the document.
    await expect(page.locator("[data-section-id^='operation/']")).to_have_count(expected, timeout=60_000)

    org_id = await create_org(page, base, "Offline Org")
    added = await add_server(page, base, org_id, tmp_path, name="offline-mdm")
    made = await control("POST", base, f"/orgs/{org_id}/devices", json={"generate": {"count": 2}})
    pages = [
        "/console", f"/console/orgs/{org_id}", f"/console/orgs/{org_id}/servers",
        f"/console/orgs/{org_id}/servers/new", f"/console/servers/{added['uuid']}",
        f"/console/orgs/{org_id}/manage-devices", f"/console/orgs/{org_id}/history",
        f"/console/orgs/{org_id}/devices", f"/console/devices/{made['serials'][0]}",
        f"/console/orgs/{org_id}/profiles", f"/console/orgs/{org_id}/journal",
        f"/console/orgs/{org_id}/faults", f"/console/orgs/{org_id}/clock", f"/console/orgs/{org_id}/settings",
    ]  # fmt: skip
    for path in pages:
        response = await page.goto(base + path)
        assert response is not None and response.status == 200, path
        csp = response.headers["content-security-policy"]
        assert "script-src 'self'" in csp and "frame-ancestors 'none'" in csp and "unsafe-inline" not in csp
        await page.wait_for_load_state("networkidle")
        # Every input has a label, every button a name.
        unlabelled = await page.evaluate(
            """() => [...document.querySelectorAll('input:not([type=hidden]), select, textarea')]
                   .filter(e => !e.labels || e.labels.length === 0).map(e => e.name)"""
        )
        assert unlabelled == [], (path, unlabelled)
        nameless = await page.evaluate(
            "() => [...document.querySelectorAll('button')].filter(b => !b.textContent.trim()).length"
        )
        assert nameless == 0, path
    assert offline.blocked == []  # and the context fixture checks again at teardown


async def test_a_post_without_the_csrf_token_is_refused(page: Page, emulator: Replica) -> None:
    base = emulator.url
    await page.goto(f"{base}/console")
    async with httpx.AsyncClient(base_url=base) as client:
        response = await client.post("/console/orgs", data={"name": "Forged"})
        assert response.status_code == 403
        client.cookies.set("depemu_csrf", "a" * 43)
        forged = await client.post("/console/orgs", data={"name": "Forged", "csrf_token": "b" * 43})
        assert forged.status_code == 403
        assert (await client.get("/emulator/v1/orgs")).json()["orgs"] == []
    # With the page's own token it works.
    await page.get_by_label("Organization Name").fill("Real")
    await page.get_by_role("button", name="Create").click()
    await expect(page.get_by_role("heading", name="Real", level=1)).to_be_visible()


async def test_a_script_server_name_and_html_device_fields_render_as_text(
    page: Page, emulator: Replica
) -> None:
    base = emulator.url
    org = await control("POST", base, "/orgs", json={"name": "<i>Org</i>"})
    name = "<script>alert(1)</script>"
    server = await control("POST", base, f"/orgs/{org['id']}/mdm-servers", json={"server_name": name})
    device = {
        "serial_number": "HTMLDEV001",
        "model": "<img src=x onerror=alert(2)>",
        "asset_tag": "<b>tag</b>",
    }
    await control("POST", base, f"/orgs/{org['id']}/devices", json={"devices": [device]})
    await page.goto(f"{base}/console/orgs/{org['id']}/servers")
    await expect(page.get_by_role("link", name=name)).to_be_visible()
    await expect(page.get_by_text("<i>Org</i>").first).to_be_visible()
    await page.goto(f"{base}/console/servers/{server['server_uuid']}")
    await expect(page.get_by_role("heading", name=name)).to_be_visible()
    await page.goto(f"{base}/console/devices/HTMLDEV001")
    await expect(page.get_by_text("<img src=x onerror=alert(2)>", exact=True)).to_be_visible()
    await expect(page.get_by_text("<b>tag</b>")).to_be_visible()
    assert await page.locator("main script, main img, main i, main b").count() == 0
    # the page fixture fails the test if any alert() ran


async def test_a_browser_asking_for_root_goes_to_the_console_and_other_requests_are_unchanged(
    emulator: Replica,
) -> None:
    async with httpx.AsyncClient(base_url=emulator.url) as client:
        browser = await client.get("/", headers={"Accept": "text/html,application/xhtml+xml"})
        assert (browser.status_code, browser.headers["location"]) == (303, "/console")
        plain = await client.get("/", headers={"Accept": "*/*"})
        assert (plain.status_code, plain.content) == (404, b"")
        posted = await client.post("/", headers={"Accept": "text/html"})
        assert posted.status_code in (404, 405) and posted.content == b""


@pytest.fixture(scope="module")
def protected(database_url: str) -> Iterator[Replica]:
    yield from _serve(database_url, DEPEMU_ADMIN_TOKEN=ADMIN_TOKEN)


async def test_with_an_admin_token_pages_redirect_to_sign_in(
    context: BrowserContext, protected: Replica, pg: object
) -> None:
    page = await context.new_page()
    base = protected.url
    await page.goto(f"{base}/console/orgs/1/clock")
    assert page.url.startswith(f"{base}/console/sign-in?next=")
    await expect(page.get_by_role("heading", name="Sign In")).to_be_visible()
    await page.get_by_label("Admin Token").fill("wrong")
    await page.get_by_role("button", name="Sign In").click()
    # The error is summarised at the top (a link to the field) and shown next to the field.
    await expect(page.get_by_role("link", name="The admin token is not right")).to_be_visible()
    await expect(page.locator("#admin_token-error")).to_contain_text("The admin token is not right")
    await screenshot(page, "sign-in")
    await page.get_by_label("Admin Token").fill(ADMIN_TOKEN)
    await page.get_by_role("button", name="Sign In").click()
    await expect(page.get_by_role("heading", name="Something went wrong")).to_be_visible()  # org 1: none
    assert page.url == f"{base}/console/orgs/1/clock"
    await page.goto(f"{base}/console")
    await expect(page.get_by_role("heading", name="Organizations")).to_be_visible()
    (cookie,) = [c for c in await context.cookies() if c["name"] == "depemu_console"]
    assert cookie["httpOnly"] and cookie["sameSite"] == "Strict"
    assert ADMIN_TOKEN not in cookie["value"] and ADMIN_TOKEN not in page.url
    assert ADMIN_TOKEN not in protected.log()
    async with httpx.AsyncClient(base_url=base) as client:
        assert (await client.get("/console")).status_code == 303
