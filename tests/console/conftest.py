"""A real `dep-emulator serve` process and Debian's chromium driven by Playwright (never a
downloaded browser build). Every page the tests open has its requests to any host other than
the emulator aborted and recorded: the console must make none."""

from __future__ import annotations

import os
import shutil
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest
from dep_emulator.testing.replicas import Replica, spawn_replica
from playwright.async_api import Browser, BrowserContext, Page, Route, async_playwright

CHROMIUM = os.environ.get("DEPEMU_TEST_CHROMIUM", "/usr/bin/chromium")
SCREENSHOTS = Path(__file__).resolve().parents[2] / "docs" / "console"
LOOPBACK = {"127.0.0.1", "localhost", "[::1]", "::1"}


def _serve(database_url: str, **env: str) -> Iterator[Replica]:
    # OAuth signatures are checked against the URL the client used (no public base URL).
    replica = spawn_replica(database_url, env={"DEPEMU_PUBLIC_BASE_URL": "", **env})
    try:
        yield replica
    finally:
        replica.terminate()
        replica._log.close()


@pytest.fixture(scope="module")
def emulator(database_url: str) -> Iterator[Replica]:
    """One real server process for the module (tables are emptied after each test by `pg`)."""
    yield from _serve(database_url)


@pytest.fixture(scope="session")
async def browser() -> AsyncIterator[Browser]:
    """The async API: the sync one runs an event loop of its own, which the async fixtures refuse."""
    if not shutil.which(CHROMIUM):
        pytest.fail(f"{CHROMIUM} is missing: apt-get install chromium (.ci/run does)")
    async with async_playwright() as p:
        launched = await p.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox"])
        yield launched
        await launched.close()


class Offline:
    """Aborts and records every request to a host other than loopback."""

    def __init__(self) -> None:
        self.blocked: list[str] = []

    async def __call__(self, route: Route) -> None:
        host = urlsplit(route.request.url).hostname or ""
        if route.request.url.startswith(("data:", "blob:")) or host in LOOPBACK:
            await route.continue_()
        else:
            self.blocked.append(route.request.url)
            await route.abort()


@pytest.fixture
def offline() -> Offline:
    return Offline()


@pytest.fixture
async def context(browser: Browser, offline: Offline) -> AsyncIterator[BrowserContext]:
    ctx = await browser.new_context(viewport={"width": 1280, "height": 800}, accept_downloads=True)
    await ctx.route("**/*", offline)
    yield ctx
    await ctx.close()
    assert offline.blocked == [], f"the pages asked for other hosts: {offline.blocked}"


@pytest.fixture
async def page(context: BrowserContext, emulator: Replica, pg: object) -> AsyncIterator[Page]:
    """A page on the emulator; `pg` empties every table after the test."""
    tab = await context.new_page()
    tab.set_default_timeout(20_000)
    dialogs: list[str] = []

    async def on_dialog(dialog: Any) -> None:
        dialogs.append(dialog.message)
        await dialog.dismiss()

    tab.on("dialog", on_dialog)
    yield tab
    assert dialogs == [], f"a page opened a dialog (script ran?): {dialogs}"


async def screenshot(page: Page, name: str) -> None:
    """docs/console/NAME.png at 1280×800, and NAME-390.png at a phone's width."""
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    await page.screenshot(path=str(SCREENSHOTS / f"{name}.png"), full_page=False)
    await page.set_viewport_size({"width": 390, "height": 844})
    await page.screenshot(path=str(SCREENSHOTS / f"{name}-390.png"), full_page=False)
    await page.set_viewport_size({"width": 1280, "height": 800})
