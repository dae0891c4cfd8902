"""Steps of the admin's guide done through the console's pages, and an MDM's DEP calls."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path
from typing import Any

import httpx
import requests
from playwright.async_api import Page, expect
from requests_oauthlib import OAuth1

from tests.conftest import make_certificate

UA = {"User-Agent": "dep-emulator-console-tests/1", "X-Server-Protocol-Version": "10"}


async def create_org(page: Page, base: str, name: str = "Example School") -> str:
    """Organizations → Create Organization; returns the org's id (from its page's URL)."""
    await page.goto(f"{base}/console")
    await page.get_by_label("Organization Name").fill(name)
    await page.get_by_role("button", name="Create").click()
    await expect(page.get_by_role("heading", name=name, level=1)).to_be_visible()
    return page.url.rstrip("/").rsplit("/", 1)[1]


async def add_server(
    page: Page, base: str, org_id: str, tmp_path: Path, name: str = "mdm.example.org"
) -> dict[str, Any]:
    """Manage Servers → Add MDM Server, all three steps; downloads the token and decrypts it
    with `openssl smime -decrypt`. Returns {"uuid", "credentials", "token_file"}."""
    cert_pem, key_pem = make_certificate()
    (tmp_path / "mdm.pem").write_bytes(cert_pem)
    (tmp_path / "mdm.key").write_bytes(key_pem)
    await page.goto(f"{base}/console/orgs/{org_id}")
    await page.get_by_role("link", name="Manage Servers").click()
    await page.get_by_role("button", name="Add MDM Server").click()
    await page.get_by_label("MDM Server Name").fill(name)
    await page.get_by_role("button", name="Next").click()
    await expect(page.get_by_role("heading", name="Upload Your Public Key")).to_be_visible()
    async with page.expect_file_chooser() as chooser:
        await page.get_by_label("Public Key").click()
    await (await chooser.value).set_files(str(tmp_path / "mdm.pem"))
    await page.get_by_role("button", name="Next").click()
    await expect(page.get_by_role("heading", name="Your Server Token")).to_be_visible()
    uuid = page.url.split("/servers/")[1].split("/")[0]
    async with page.expect_download() as download:
        await page.get_by_role("link", name="Download server token").click()
    token_file = tmp_path / (await download.value).suggested_filename
    await (await download.value).save_as(token_file)
    await page.get_by_role("button", name="Done").click()
    await expect(page.get_by_role("heading", name="Manage Servers")).to_be_visible()
    return {"uuid": uuid, "credentials": decrypt(token_file, tmp_path / "mdm.key"), "token_file": token_file}


def decrypt(token_file: Path, key_file: Path) -> dict[str, str]:
    inner = subprocess.run(
        ["openssl", "smime", "-decrypt", "-in", str(token_file), "-inkey", str(key_file)],
        capture_output=True,
        check=True,
    ).stdout.decode()
    message = inner.split("-----BEGIN MESSAGE-----\n", 1)[1].split("\n-----END MESSAGE-----", 1)[0]
    return dict(json.loads(message))


class Mdm:
    """An MDM server's DEP client: OAuth 1.0a for /session (requests-oauthlib), then the session header."""

    def __init__(self, base: str, credentials: dict[str, str]) -> None:
        self.base = base
        self.credentials = credentials
        self.auth_session = ""

    def session(self) -> requests.Response:
        c = self.credentials
        auth = OAuth1(
            c["consumer_key"],
            client_secret=c["consumer_secret"],
            resource_owner_key=c["access_token"],
            resource_owner_secret=c["access_secret"],
            signature_method="HMAC-SHA1",
        )
        response = requests.get(f"{self.base}/session", auth=auth, headers=UA, timeout=30)
        if response.status_code == 200:
            self.auth_session = response.json()["auth_session_token"]
        return response

    def call(self, method: str, path: str, body: Any = None) -> requests.Response:
        if not self.auth_session:
            assert self.session().status_code == 200
        headers = {**UA, "X-ADM-Auth-Session": self.auth_session}
        response = requests.request(method, f"{self.base}{path}", json=body, headers=headers, timeout=60)
        if response.status_code == 401 and self.session().status_code == 200:  # expired: a new session
            headers["X-ADM-Auth-Session"] = self.auth_session
            response = requests.request(method, f"{self.base}{path}", json=body, headers=headers, timeout=60)
        return response

    def sync_all(self, cursor: str | None = None) -> tuple[list[dict[str, Any]], str]:
        """A full fetch (no cursor) or a sync from `cursor`, every page; (devices, last cursor)."""
        path = "/devices/sync" if cursor else "/server/devices"
        devices: list[dict[str, Any]] = []
        while True:
            body: dict[str, Any] = {"limit": 1000}
            if cursor:
                body["cursor"] = cursor
            response = self.call("POST", path, body)
            assert response.status_code == 200, response.text
            page = response.json()
            devices += page.get("devices", [])
            cursor = page["cursor"]
            if not page.get("more_to_follow"):
                return devices, cursor


async def control(method: str, base: str, path: str, **kwargs: Any) -> Any:
    """A control-API call (JSON answer), to set up or check state beside the pages."""
    async with httpx.AsyncClient(base_url=f"{base}/emulator/v1", timeout=60) as client:
        response = await client.request(method, path, **kwargs)
    assert response.status_code < 300, response.text
    return response.json() if response.content else None


async def device_for_small_mdm(
    page: Page, base: str, tmp_path: Path, small: Any, *, org: str, server: str, family: str, seed: int
) -> tuple[str, Mdm]:
    """An org and an MDM server made in the portal, one generated device of `family` assigned to it,
    and the small MDM (tests/device_setup/small_mdm.py) trusting the device CA: the device's serial
    and a DEP client of that server."""
    org_id = await create_org(page, base, org)
    added = await add_server(page, base, org_id, tmp_path, name=server)
    made = await control(
        "POST",
        base,
        f"/orgs/{org_id}/devices",
        json={"generate": {"count": 1, "families": [family], "seed": seed}},
    )
    (serial,) = made["serials"]
    await control(
        "POST", base, f"/orgs/{org_id}/assignments", json={"server_uuid": added["uuid"], "serials": [serial]}
    )
    async with httpx.AsyncClient() as client:
        small.ca_pem = (await client.get(f"{base}/emulator/v1/device-ca")).content
    return serial, Mdm(base, added["credentials"])
