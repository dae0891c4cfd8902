"""Blueprint switches of the org (abm-api-2.md §3.1, §3.2): the strict name rules, the lingering
TO_BE_DELETED status and the read-after-write delay on linkage GETs, on the emulator clock."""

from __future__ import annotations

from typing import Any

import httpx

from tests.abm.conftest import assert_error
from tests.abm.test_blueprints import ALL_TIME, blueprint_body, ids_of, linkage, world
from tests.abm.test_business_switches import patch_settings
from tests.traffic.support import advance


async def create(abm: httpx.AsyncClient, w: dict[str, Any], name: str = "Marketing") -> httpx.Response:
    return await abm.post("/v1/blueprints", json=blueprint_body(name, apps=["361309726"], users=[w["user"]]))


async def test_names_are_lenient_by_default_and_strict_on_request(
    client: httpx.AsyncClient, abm: httpx.AsyncClient, org: dict[str, Any]
) -> None:
    w = await world(client, org["id"])
    assert (await client.get(f"/emulator/v1/orgs/{org['id']}/settings")).json()[
        "blueprint_name_rules"
    ] == "lenient"
    lenient = await create(abm, w, "Engineering Onboarding (2026)")
    assert lenient.status_code == 201, lenient.text
    assert (await create(abm, w, "Engineering Onboarding (2026)")).status_code == 201  # duplicates too

    await patch_settings(client, org["id"], blueprint_name_rules="strict")
    for bad in ("Engineering Onboarding", "Sales(EU)", "x" * 65, "Dépôt"):
        error = assert_error(await create(abm, w, bad), 409, "ENTITY_ERROR.ATTRIBUTE.INVALID")
        assert error["source"] == {"pointer": "/data/attributes/name"}, bad
    good = await create(abm, w, "Engineering-Onboarding_v2.0")
    assert good.status_code == 201, good.text
    taken = assert_error(
        await create(abm, w, "engineering-onboarding_V2.0"), 409, "ENTITY_ERROR.ATTRIBUTE.INVALID"
    )
    assert "already exists" in taken["detail"]
    # PATCH is held to the same rules; keeping its own name is not a clash.
    blueprint_id = good.json()["data"]["id"]
    patch = {"data": {"type": "blueprints", "id": blueprint_id, "attributes": {"name": "Has Space"}}}
    assert_error(
        await abm.patch(f"/v1/blueprints/{blueprint_id}", json=patch), 409, "ENTITY_ERROR.ATTRIBUTE.INVALID"
    )
    patch["data"]["attributes"]["name"] = "Engineering-Onboarding_v2.0"
    assert (await abm.patch(f"/v1/blueprints/{blueprint_id}", json=patch)).status_code == 200
    listed = (await abm.get("/v1/blueprints")).json()["data"]
    assert sorted(b["attributes"]["name"] for b in listed) == [
        "Engineering Onboarding (2026)",
        "Engineering Onboarding (2026)",
        "Engineering-Onboarding_v2.0",
    ]


async def test_delete_lingers_as_to_be_deleted_for_the_grace_period(
    client: httpx.AsyncClient, abm: httpx.AsyncClient, org: dict[str, Any]
) -> None:
    w = await world(client, org["id"])
    at_once = (await create(abm, w, "Gone")).json()["data"]["id"]
    assert (await abm.delete(f"/v1/blueprints/{at_once}")).status_code == 204
    assert_error(await abm.get(f"/v1/blueprints/{at_once}"), 404, "NOT_FOUND")

    await patch_settings(client, org["id"], blueprint_delete_grace_seconds=300)
    blueprint_id = (await create(abm, w, "Lingering")).json()["data"]["id"]
    assert (await abm.delete(f"/v1/blueprints/{blueprint_id}")).status_code == 204
    shown = (await abm.get(f"/v1/blueprints/{blueprint_id}")).json()["data"]
    assert shown["attributes"]["status"] == "TO_BE_DELETED"
    assert [b["attributes"]["status"] for b in (await abm.get("/v1/blueprints")).json()["data"]] == [
        "TO_BE_DELETED"
    ]
    assert await ids_of(abm, blueprint_id, "apps") == {"361309726"}
    # Writes on it are refused; a second DELETE changes nothing (and writes no second audit event).
    add = await abm.post(
        f"/v1/blueprints/{blueprint_id}/relationships/users", json=linkage("users", w["other"])
    )
    assert_error(add, 409, "ENTITY_ERROR.ATTRIBUTE.INVALID")
    assert (await abm.delete(f"/v1/blueprints/{blueprint_id}")).status_code == 204
    events = (await abm.get(f"/v1/auditEvents?{ALL_TIME}&filter[type]=COLLECTION_DELETED")).json()["data"]
    assert len([e for e in events if e["attributes"]["subjectId"] == blueprint_id]) == 1

    await advance(client, 299)
    assert (await abm.get(f"/v1/blueprints/{blueprint_id}")).status_code == 200
    await advance(client, 2)
    assert_error(await abm.get(f"/v1/blueprints/{blueprint_id}"), 404, "NOT_FOUND")
    assert (await abm.get("/v1/blueprints")).json()["data"] == []


async def test_linkage_reads_lag_writes_by_the_delay(
    client: httpx.AsyncClient, abm: httpx.AsyncClient, org: dict[str, Any]
) -> None:
    w = await world(client, org["id"])
    await patch_settings(client, org["id"], blueprint_linkage_delay_seconds=60)
    blueprint_id = (await create(abm, w)).json()["data"]["id"]
    assert await ids_of(abm, blueprint_id, "apps") == set()
    assert await ids_of(abm, blueprint_id, "users") == set()
    included = (await abm.get(f"/v1/blueprints/{blueprint_id}?include=apps")).json()
    assert included["data"]["relationships"]["apps"]["data"] == [] and included["included"] == []
    await advance(client, 61)
    assert await ids_of(abm, blueprint_id, "apps") == {"361309726"}
    assert await ids_of(abm, blueprint_id, "users") == {w["user"]}

    # An added id lags; a PATCH that keeps an id does not hide it again.
    added = await abm.post(
        f"/v1/blueprints/{blueprint_id}/relationships/users", json=linkage("users", w["other"])
    )
    assert added.status_code == 204
    assert await ids_of(abm, blueprint_id, "users") == {w["user"]}
    patch = {
        "data": {
            "type": "blueprints",
            "id": blueprint_id,
            "relationships": {"apps": linkage("apps", "361309726", "618783545")},
        }
    }
    assert (await abm.patch(f"/v1/blueprints/{blueprint_id}", json=patch)).status_code == 200
    assert await ids_of(abm, blueprint_id, "apps") == {"361309726"}
    await advance(client, 61)
    assert await ids_of(abm, blueprint_id, "users") == {w["user"], w["other"]}
    assert await ids_of(abm, blueprint_id, "apps") == {"361309726", "618783545"}
