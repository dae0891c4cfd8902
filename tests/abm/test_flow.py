"""Issue 6's acceptance flow: list 2,500 devices in pages, assign through an activity, see the
assignment in the server's DEP sync (OAuth 1.0a, as an MDM), unassign → `deleted`."""

from __future__ import annotations

import csv
import io
from typing import Any
from urllib.parse import parse_qs, urlsplit

import httpx

from tests.abm.conftest import ApiAccount
from tests.devices.helpers import fetch_all, generate, ops, sync_all


def activity_body(
    activity_type: str, serials: list[str], server_id: str | None = None, **attributes: Any
) -> dict[str, Any]:
    relationships: dict[str, Any] = {"devices": {"data": [{"type": "orgDevices", "id": s} for s in serials]}}
    if server_id is not None:
        relationships["mdmServer"] = {"data": {"type": "mdmServers", "id": server_id}}
    return {
        "data": {
            "type": "orgDeviceActivities",
            "attributes": {"activityType": activity_type, **attributes},
            "relationships": relationships,
        }
    }


async def run_activity(abm: httpx.AsyncClient, body: dict[str, Any]) -> dict[str, Any]:
    """POST the activity (201, IN_PROGRESS/SUBMITTED) and poll it until it is no longer in progress."""
    response = await abm.post("/v1/orgDeviceActivities", json=body)
    assert response.status_code == 201, response.text
    created = response.json()
    assert created["data"]["attributes"]["status"] in ("IN_PROGRESS", "COMPLETED")
    assert created["links"]["self"] == "http://dep.test/v1/orgDeviceActivities"
    self_url = created["data"]["links"]["self"]
    for _ in range(5):
        polled = await abm.get(self_url)
        assert polled.status_code == 200, polled.text
        if polled.json()["data"]["attributes"]["status"] != "IN_PROGRESS":
            break
    result: dict[str, Any] = polled.json()["data"]
    return result


async def test_walk_assign_sync_unassign(
    client: httpx.AsyncClient,
    abm: httpx.AsyncClient,
    mdm: httpx.AsyncClient,
    org: dict[str, Any],
    server: dict[str, Any],
    api_account: ApiAccount,
) -> None:
    await generate(client, org["id"], 2500, seed=7)
    _, cursor = await fetch_all(mdm)  # the MDM is up to date: nothing is assigned yet

    # Walk every device in three pages, following links.next verbatim (as pyaxm does).
    url: str | None = "/v1/orgDevices?limit=1000"
    pages: list[list[dict[str, Any]]] = []
    while url is not None:
        response = await abm.get(url)
        assert response.status_code == 200, response.text
        document = response.json()
        pages.append(document["data"])
        paging = document["meta"]["paging"]
        assert paging["limit"] == 1000 and paging["total"] == 2500
        url = document["links"].get("next")
        assert (url is None) == ("nextCursor" not in paging)
        if url is not None:
            assert url.startswith("http://dep.test/v1/orgDevices?")
            assert parse_qs(urlsplit(url).query)["cursor"] == [paging["nextCursor"]]
    assert [len(p) for p in pages] == [1000, 1000, 500]
    serials = [d["id"] for page in pages for d in page]
    assert len(set(serials)) == 2500 and serials == sorted(serials)
    assert all(d["attributes"]["status"] == "UNASSIGNED" for page in pages for d in page)

    chosen = serials[10:20]
    activity = await run_activity(abm, activity_body("ASSIGN_DEVICES", chosen, server["server_uuid"]))
    attributes = activity["attributes"]
    assert attributes["status"] == "COMPLETED" and attributes["subStatus"] == "COMPLETED_WITH_SUCCESS"
    assert attributes["completedDateTime"].endswith("Z")

    # The DEP feed of that server shows the same assignment.
    events, cursor = await sync_all(mdm, cursor)
    assert sorted(ops(events)) == sorted((s, "added") for s in chosen)
    assert {e["device_assigned_by"] for e in events} == {api_account.client_id}

    # ... and so does the portal API.
    linkage = (await abm.get(f"/v1/mdmServers/{server['server_uuid']}/relationships/devices")).json()
    assert [d["id"] for d in linkage["data"]] == chosen
    device = (await abm.get(f"/v1/orgDevices/{chosen[0]}")).json()["data"]
    assert device["attributes"]["status"] == "ASSIGNED"
    assigned = (await abm.get(f"/v1/orgDevices/{chosen[0]}/relationships/assignedServer")).json()
    assert assigned["data"] == {"type": "mdmServers", "id": server["server_uuid"]}

    # The CSV log, without a bearer token, named as pyaxm expects.
    download = attributes["downloadUrl"]
    disposition = parse_qs(urlsplit(download).query)["response-content-disposition"][0]
    assert disposition == f'attachment;filename="ABM-ActivityLog_{activity["id"]}.csv"'
    log = await client.get(download)
    assert log.status_code == 200 and log.headers["content-type"].startswith("text/csv")
    assert f'filename="ABM-ActivityLog_{activity["id"]}.csv"' in log.headers["content-disposition"]
    rows = list(csv.DictReader(io.StringIO(log.text)))
    assert [r["serialNumber"] for r in rows] == chosen and {r["status"] for r in rows} == {"SUCCESS"}

    # Unassign half of them and one that is not on the server: partial failure in the log only.
    body = activity_body("UNASSIGN_DEVICES", [*chosen[:5], serials[0]], server["server_uuid"])
    unassigned = await run_activity(abm, body)
    assert unassigned["attributes"]["subStatus"] == "COMPLETED_WITH_FAILURE"
    events, cursor = await sync_all(mdm, cursor)
    assert sorted(ops(events)) == sorted((s, "deleted") for s in chosen[:5])
    rows = list(csv.DictReader(io.StringIO((await client.get(unassigned["attributes"]["downloadUrl"])).text)))
    assert [(r["serialNumber"], r["status"]) for r in rows] == [
        *((s, "SUCCESS") for s in chosen[:5]),
        (serials[0], "FAILED"),
    ]
    servers = (await abm.get("/v1/mdmServers")).json()["data"]
    assert servers[0]["attributes"]["deviceCount"] == 5
