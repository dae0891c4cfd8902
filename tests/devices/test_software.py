"""A device's product type, OS version, build and Rapid Security Response (issue 31 §1)."""

from __future__ import annotations

import re
from typing import Any

import asyncpg
import httpx

from tests.dep_helpers import events
from tests.device_helpers import add_devices


async def device(client: httpx.AsyncClient, serial: str) -> dict[str, Any]:
    response = await client.get(f"/emulator/v1/devices/{serial}")
    assert response.status_code == 200, response.text
    data: dict[str, Any] = response.json()
    return data


async def patch(client: httpx.AsyncClient, serial: str, status: int = 200, **body: Any) -> dict[str, Any]:
    response = await client.patch(f"/emulator/v1/devices/{serial}", json=body)
    assert response.status_code == status, response.text
    data: dict[str, Any] = response.json()
    return data


async def test_fresh_devices_run_the_current_release_of_their_platform(
    client: httpx.AsyncClient, org: dict[str, Any]
) -> None:
    serials = await add_devices(
        client, org_id=org["id"], server_uuid=None, count=12, families=["iPhone", "Mac"]
    )
    seen = set()
    for serial in serials:
        d = await device(client, serial)
        soft, family = d["software"], d["fields"]["device_family"]
        if family == "iPhone":
            assert (soft["os_version"], soft["os_build"]) == ("26.5", "23F77")
            assert re.fullmatch(r"iPhone\d+,\d", soft["product_type"])
        else:
            assert (soft["os_version"], soft["os_build"]) == ("26.5.1", "25F80")
            assert re.fullmatch(r"(Mac|MacBookPro)\d+,\d+", soft["product_type"])
        assert soft["os_supplemental_extra"] is None
        assert soft["supplemental_build_version"] == soft["os_build"]
        assert re.fullmatch(r"M[0-9A-Z]{3}\d(LL|VC|B|X|J|ZD|ZP)/A", soft["part_number"])
        seen.add(family)
    assert seen == {"iPhone", "Mac"}
    # The product type follows the model: every iPhone 16 Pro is an iPhone17,1.
    by_model = {}
    for serial in serials:
        d = await device(client, serial)
        by_model.setdefault(d["fields"]["model"], set()).add(d["software"]["product_type"])
    assert all(len(types) == 1 for types in by_model.values())
    if "iPhone 16 Pro" in by_model:
        assert by_model["iPhone 16 Pro"] == {"iPhone17,1"}


async def test_generator_and_seed_choose_an_older_os(client: httpx.AsyncClient, org: dict[str, Any]) -> None:
    response = await client.post(
        f"/emulator/v1/orgs/{org['id']}/devices",
        json={"generate": {"count": 4, "seed": 9, "families": ["iPhone", "Mac"], "os_version": "26.1"}},
    )
    assert response.status_code == 201, response.text
    for serial in response.json()["serials"]:
        soft = (await device(client, serial))["software"]
        assert soft["os_version"] == "26.1"
        assert soft["os_build"] in ("23B85", "25B78")
    refused = await client.post(
        f"/emulator/v1/orgs/{org['id']}/devices",
        json={"generate": {"count": 1, "families": ["AppleTV"], "os_version": "26.2"}},
    )
    assert refused.status_code == 422
    assert "tvOS" in refused.text and "26.5" in refused.text

    seeded = await client.post(
        "/emulator/v1/seed",
        json={
            "orgs": [
                {
                    "name": "Old phones",
                    "devices": [
                        {"serial_number": "OLDOS000001", "model": "iPhone 15", "os_version": "26.4.2"},
                        {
                            "serial_number": "OLDOS000002",
                            "model": "iPhone 17",
                            "product_type": "iPhone18,3",
                            "os_version": "26.0",
                            "os_supplemental_extra": "(a)",
                        },
                        {"generate": {"count": 2, "families": ["iPad"], "seed": 5, "os_version": "17.5"}},
                    ],
                }
            ]
        },
    )
    assert seeded.status_code == 200, seeded.text
    first = (await device(client, "OLDOS000001"))["software"]
    assert (first["product_type"], first["os_version"], first["os_build"]) == (
        "iPhone15,4",
        "26.4.2",
        "23E261",
    )
    second = (await device(client, "OLDOS000002"))["software"]
    assert (second["product_type"], second["os_version"], second["os_build"]) == (
        "iPhone18,3",
        "26.0",
        "23A341",
    )
    assert (second["os_supplemental_extra"], second["supplemental_build_version"]) == ("(a)", "23A341a")


async def test_changing_the_os_is_no_feed_event_but_the_model_is(
    client: httpx.AsyncClient, org: dict[str, Any], server: dict[str, Any], pg: asyncpg.Connection
) -> None:
    [serial] = await add_devices(
        client, org_id=org["id"], server_uuid=server["server_uuid"], count=1, families=["iPhone"]
    )
    before = len(await events(pg, serial))
    fresh_type = (await device(client, serial))["software"]["product_type"]
    changed = await patch(client, serial, os_version="26.4.2")
    assert (changed["software"]["os_version"], changed["software"]["os_build"]) == ("26.4.2", "23E261")
    changed = await patch(client, serial, os_version="26.9", os_build="23K12", os_supplemental_extra="(b)")
    soft = changed["software"]
    assert (soft["os_version"], soft["os_build"], soft["supplemental_build_version"]) == (
        "26.9",
        "23K12",
        "23K12b",
    )
    changed = await patch(client, serial, product_type="iPhone18,1")
    assert changed["software"]["product_type"] == "iPhone18,1"
    assert len(await events(pg, serial)) == before  # DEP's Device object carries none of these
    await patch(client, serial, color="BLACK")
    after = await events(pg, serial)
    assert len(after) == before + 1 and after[-1]["op_type"] == "modified"

    # Bad values are refused in words, nothing changes.
    for body, words in (
        ({"product_type": "Mac17,2"}, "is not a iPhone"),
        ({"product_type": "banana"}, "not an identifier"),
        ({"os_version": "26.9"}, "give os_build too"),
        ({"os_version": "twenty"}, "not a version"),
        ({"os_version": "26.5", "os_build": "nope"}, "not a build"),
        ({"os_supplemental_extra": "a"}, "Rapid Security Response"),
    ):
        refused = await patch(client, serial, 422, **body)
        assert words in str(refused), (body, refused)
    assert (await device(client, serial))["software"]["product_type"] == "iPhone18,1"
    # null goes back to what a fresh device of its model is and runs.
    reset = await patch(client, serial, product_type=None, os_version=None)
    assert (reset["software"]["product_type"], reset["software"]["os_version"]) == (fresh_type, "26.5")
