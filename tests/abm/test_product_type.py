"""orgDevices' productType and partNumber (issue 29 item 10): realistic, consistent with the
device's model, colour and storage, and deterministic per generator seed."""

from __future__ import annotations

import re
from datetime import UTC, datetime
from typing import Any

import httpx
from dep_emulator.devices import software
from dep_emulator.devices.generator import generate_devices

from tests.device_helpers import add_devices


async def org_devices(abm: httpx.AsyncClient) -> list[dict[str, Any]]:
    response = await abm.get("/v1/orgDevices", params={"limit": 100})
    assert response.status_code == 200, response.text
    return [d["attributes"] for d in response.json()["data"]]


async def test_product_type_and_part_number(
    client: httpx.AsyncClient, abm: httpx.AsyncClient, org: dict[str, Any]
) -> None:
    await add_devices(client, org_id=org["id"], server_uuid=None, count=40, seed=77)
    devices = await org_devices(abm)
    assert len(devices) == 40
    prefixes = {
        "iPhone": "iPhone",
        "iPad": "iPad",
        "Mac": "Mac",
        "AppleTV": "AppleTV",
        "Vision": "RealityDevice",
    }
    by_sku: dict[tuple[str, str, str], set[str]] = {}
    for d in devices:
        family = d["productFamily"]
        assert re.fullmatch(r"[A-Za-z]+\d+,\d+", d["productType"]), d
        assert d["productType"].startswith(prefixes[family]) or (
            family == "iPhone" and d["productType"].startswith("iPod")  # an iPod reports as iPhone
        ), d
        assert re.fullmatch(r"M[0-9A-Z]{3}\d(LL|VC|B|X|J|ZD|ZP)/A", d["partNumber"]), d
        control = (await client.get(f"/emulator/v1/devices/{d['serialNumber']}")).json()
        assert control["software"]["product_type"] == d["productType"]
        assert control["software"]["part_number"] == d["partNumber"]
        key = (d["deviceModel"], d["color"], control["fields"]["description"])
        by_sku.setdefault(key, set()).add(d["partNumber"])
    # One SKU, one part number.
    assert all(len(parts) == 1 for parts in by_sku.values())
    # Different colours of one model are different parts.
    models: dict[str, dict[str, str]] = {}
    for (model, color, description), parts in by_sku.items():
        models.setdefault(model + description.split(color)[0], {})[color] = next(iter(parts))
    for colors in models.values():
        assert len(set(colors.values())) == len(colors)

    # Deterministic per seed: the generator's sequence for seed 77 alone fixes every value.
    specs = generate_devices(40, seed=77, now=datetime.now(UTC))
    expected = {
        d.serial_number: (
            software.default_product_type(d.model, d.device_family),
            software.part_number(d.model, d.color, d.description),
        )
        for d in specs
    }
    assert {d["serialNumber"]: (d["productType"], d["partNumber"]) for d in devices} == expected
