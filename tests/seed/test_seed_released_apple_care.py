"""Issue 29 in seed files: the `released_devices` setting and a device's `apple_care` contracts."""

from __future__ import annotations

from typing import Any

import httpx

from tests.seed.test_seed import seed

BODY: dict[str, Any] = {
    "orgs": [
        {
            "name": "Care Org",
            "settings": {"released_devices": "removed"},
            "devices": [
                {
                    "serial_number": "SEEDCARE01",
                    "apple_care": [
                        {"agreementNumber": "AC-1", "paymentType": "SUBSCRIPTION", "isRenewable": True},
                        {"agreementNumber": "AC-2", "startDateTime": "2027-01-01T00:00:00Z"},
                    ],
                }
            ],
        }
    ]
}


async def test_seed_sets_released_devices_and_apple_care_once(client: httpx.AsyncClient) -> None:
    result = await seed(client, BODY)
    org_id = result["orgs"][0]["id"]
    settings = (await client.get(f"/emulator/v1/orgs/{org_id}/settings")).json()
    assert settings["released_devices"] == "removed"
    await seed(client, BODY)  # declarative: the contracts it has are left as they are
    contracts = (await client.get("/emulator/v1/devices/SEEDCARE01/apple-care")).json()["contracts"]
    assert [(c["agreementNumber"], c["paymentType"], c["isRenewable"]) for c in contracts] == [
        ("AC-1", "SUBSCRIPTION", True),
        ("AC-2", "PAID_UP_FRONT", False),
    ]
    bad = await client.post(
        "/emulator/v1/seed",
        json={
            "orgs": [
                {"name": "Care Org", "devices": [{"serial_number": "X1", "apple_care": [{"status": "?"}]}]}
            ]
        },
    )
    assert bad.status_code == 422, bad.text
