"""Seeding for the console's Business API 2.x tests (issue 30): orgs through the control API, a
bearer client of /v1 for what only Apple's API writes (Blueprints, CUSTOM_SETTING configurations)."""

from __future__ import annotations

import plistlib
from typing import Any

import httpx
from playwright.async_api import Page

from tests.abm.conftest import create_api_account, get_token
from tests.console.helpers import control

SLOW = 60_000  # the machine is shared: generous waits for page loads


async def nav(page: Page, name: str) -> None:
    """Follow a link of the organization's navigation."""
    await (
        page.get_by_role("navigation", name="Organization").get_by_role("link", name=name, exact=True).click()
    )


async def new_org(base: str, name: str) -> str:
    org = await control("POST", base, "/orgs", json={"name": name, "email": "admin@northwind.example"})
    return str(org["id"])


async def business_api(base: str, org_id: str) -> httpx.AsyncClient:
    """A client of /v1 with a bearer token of a new API account of the org."""
    async with httpx.AsyncClient(base_url=base, timeout=60) as plain:
        token = await get_token(plain, await create_api_account(plain, org_id))
    return httpx.AsyncClient(base_url=base, timeout=120, headers={"Authorization": f"Bearer {token}"})


def linkage(kind: str, ids: list[str]) -> dict[str, Any]:
    return {"data": [{"type": kind, "id": i} for i in ids]}


def profile() -> str:
    """A custom profile of two payloads (Wi-Fi, and a restrictions payload with two settings)."""
    return plistlib.dumps(
        {
            "PayloadContent": [
                {
                    "PayloadType": "com.apple.wifi.managed",
                    "PayloadIdentifier": "com.northwind.wifi",
                    "PayloadDisplayName": "Office Wi-Fi",
                    "PayloadUUID": "A1",
                    "PayloadVersion": 1,
                    "SSID_STR": "Northwind",
                    "AutoJoin": True,
                },
                {
                    "PayloadType": "com.apple.applicationaccess",
                    "PayloadIdentifier": "com.northwind.restrictions",
                    "PayloadDisplayName": "Restrictions",
                    "PayloadUUID": "A2",
                    "PayloadVersion": 1,
                    "allowCamera": False,
                },
            ],
            "PayloadDisplayName": "Northwind baseline",
            "PayloadIdentifier": "com.northwind.baseline",
            "PayloadType": "Configuration",
            "PayloadVersion": 1,
        }
    ).decode()
