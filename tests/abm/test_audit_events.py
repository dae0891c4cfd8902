"""GET /v1/auditEvents: every device event kind from every route that causes it, filters, paging, errors."""

from __future__ import annotations

from typing import Any
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest
from fastapi import FastAPI

from tests.abm.conftest import ApiAccount, assert_error, bearer_client, create_api_account, get_token
from tests.abm.test_flow import activity_body, run_activity
from tests.conftest import create_org, create_server
from tests.devices.helpers import add, assign, generate

SINCE = "2000-01-01T00:00:00Z"
UNTIL = "2999-12-31T23:59:59Z"
ADDED, REMOVED = "DEVICE_ADDED_TO_ORG", "DEVICE_REMOVED_FROM_ORG"
ASSIGNED, UNASSIGNED = "DEVICE_ASSIGNED_TO_SERVER", "DEVICE_UNASSIGNED_FROM_SERVER"


async def audit_events(abm: httpx.AsyncClient, **params: str) -> list[dict[str, Any]]:
    """Every page, following links.next verbatim."""
    query = {
        "filter[startTimestamp]": SINCE,
        "filter[endTimestamp]": UNTIL,
        **{k.replace("_", "[", 1) + "]": v for k, v in params.items()},
    }
    response = await abm.get("/v1/auditEvents", params=query)
    events: list[dict[str, Any]] = []
    while True:
        assert response.status_code == 200, response.text
        document = response.json()
        events += document["data"]
        next_url = document["links"].get("next")
        if next_url is None:
            return events
        response = await abm.get(next_url)


def summary(events: list[dict[str, Any]]) -> list[tuple[str, str, str | None]]:
    """(type, serial, server id or release entity type) of each event, in order."""
    out = []
    for event in events:
        attributes = event["attributes"]
        data = attributes[attributes["eventDataPropertyKey"]]
        assert data["serialNumber"] == attributes["subjectId"]
        detail = data.get("mdmServerId") or data.get("releaseEntityType")
        out.append((attributes["type"], attributes["subjectId"], detail))
    return out


async def org_email(client: httpx.AsyncClient, org_id: str) -> str:
    email: str = (await client.get(f"/emulator/v1/orgs/{org_id}")).json()["email"]
    return email


async def test_control_api_routes(
    client: httpx.AsyncClient, abm: httpx.AsyncClient, org: dict[str, Any], server: dict[str, Any]
) -> None:
    other = await create_server(client, org["id"], server_name="Second MDM")
    a, b = server["server_uuid"], other["server_uuid"]
    await add(client, org["id"], "AUDIT00001", order_number="ORD-1")
    await assign(client, org["id"], a, "AUDIT00001")
    await assign(client, org["id"], b, "AUDIT00001")  # a move: unassigned from A, assigned to B
    await assign(client, org["id"], None, "AUDIT00001")
    assert (await client.delete("/emulator/v1/devices/AUDIT00001")).status_code == 200

    events = await audit_events(abm, filter_subjectId="AUDIT00001")
    assert summary(events) == [
        (ADDED, "AUDIT00001", None),
        (ASSIGNED, "AUDIT00001", a),
        (UNASSIGNED, "AUDIT00001", a),
        (ASSIGNED, "AUDIT00001", b),
        (UNASSIGNED, "AUDIT00001", b),
        (REMOVED, "AUDIT00001", "USER"),
    ]
    email = await org_email(client, org["id"])
    first = events[0]
    assert first["type"] == "auditEvents" and first["id"]
    assert first["attributes"] == {
        "eventDateTime": first["attributes"]["eventDateTime"],
        "type": ADDED,
        "category": "DEVICE_INVENTORY",
        "actorType": "USER",
        "actorId": email,
        "actorName": email,
        "subjectType": "DEVICE",
        "subjectId": "AUDIT00001",
        "subjectName": "iPhone 15",
        "outcome": "SUCCESS",
        "groupId": first["attributes"]["groupId"],
        "eventDataPropertyKey": "eventDataDeviceAddedToOrg",
        "eventDataDeviceAddedToOrg": {
            "serialNumber": "AUDIT00001",
            "purchaseSourceType": "APPLE",
            "purchaseSourceId": org["id"],
        },
    }
    assert first["attributes"]["eventDateTime"].endswith("Z")
    # The resource's self link is the query that finds exactly this event.
    self_link = first["links"]["self"]
    assert self_link.startswith("http://dep.test/v1/auditEvents?")
    assert [e["id"] for e in (await abm.get(self_link)).json()["data"]] == [first["id"]]
    assigned = events[3]["attributes"]
    assert assigned["category"] == "DEVICE_MANAGEMENT"
    assert assigned["eventDataDeviceAssignedToServer"] == {
        "serialNumber": "AUDIT00001",
        "targetServerName": "Second MDM",
        "mdmServerId": b,
    }
    # One operation, one group: the move's two events share theirs.
    assert events[2]["attributes"]["groupId"] == events[3]["attributes"]["groupId"]
    assert events[1]["attributes"]["groupId"] != events[2]["attributes"]["groupId"]
    assert events[5]["attributes"]["eventDataDeviceRemovedFromOrg"] == {
        "serialNumber": "AUDIT00001",
        "releaseEntityType": "USER",
    }


async def test_generated_devices_and_replacement(
    client: httpx.AsyncClient, abm: httpx.AsyncClient, org: dict[str, Any], server: dict[str, Any]
) -> None:
    made = await generate(client, org["id"], 3, seed=11)
    await assign(client, org["id"], server["server_uuid"], made["serials"][0])
    response = await client.post(
        f"/emulator/v1/devices/{made['serials'][0]}/replace", json={"serial_number": "REPLACED01"}
    )
    assert response.status_code == 201, response.text
    added = await audit_events(abm, filter_type=ADDED)
    assert [e["attributes"]["subjectId"] for e in added] == [*made["serials"], "REPLACED01"]
    assert len({e["attributes"]["groupId"] for e in added[:3]}) == 1  # one generate call
    original = await audit_events(abm, filter_subjectId=made["serials"][0])
    assert summary(original) == [
        (ADDED, made["serials"][0], None),
        (ASSIGNED, made["serials"][0], server["server_uuid"]),
        (REMOVED, made["serials"][0], "REPLACEMENT"),
    ]
    replacement = await audit_events(abm, filter_subjectId="REPLACED01")
    assert summary(replacement) == [
        (ADDED, "REPLACED01", None),
        (ASSIGNED, "REPLACED01", server["server_uuid"]),
    ]


async def test_activity_routes(
    client: httpx.AsyncClient,
    abm: httpx.AsyncClient,
    org: dict[str, Any],
    server: dict[str, Any],
    api_account: ApiAccount,
) -> None:
    uuid = server["server_uuid"]
    await add(client, org["id"], "ACTIVITY01", "ACTIVITY02")
    await run_activity(abm, activity_body("ASSIGN_DEVICES", ["ACTIVITY01", "ACTIVITY02"], uuid))
    await run_activity(abm, activity_body("UNASSIGN_DEVICES", ["ACTIVITY01"], uuid))
    await run_activity(abm, activity_body("RELEASE_DEVICES", ["ACTIVITY02"]))
    events = await audit_events(abm, filter_actorId=api_account.client_id)
    assert summary(events) == [
        (ASSIGNED, "ACTIVITY01", uuid),
        (ASSIGNED, "ACTIVITY02", uuid),
        (UNASSIGNED, "ACTIVITY01", uuid),
        (REMOVED, "ACTIVITY02", "API"),
    ]
    assert {e["attributes"]["actorType"] for e in events} == {"API_USER"}
    assert events[3]["attributes"]["eventDataDeviceRemovedFromOrg"] == {
        "serialNumber": "ACTIVITY02",
        "releaseEntityType": "API",
        "releaseEntityId": api_account.client_id,
    }
    # The additions were the org administrator's, not the API account's.
    assert len(await audit_events(abm)) == 6


async def test_dep_disown(
    client: httpx.AsyncClient,
    abm: httpx.AsyncClient,
    mdm: httpx.AsyncClient,
    org: dict[str, Any],
    server: dict[str, Any],
) -> None:
    await add(client, org["id"], "DISOWN0001")
    await assign(client, org["id"], server["server_uuid"], "DISOWN0001")
    response = await mdm.post("/devices/disown", json={"devices": ["DISOWN0001"]})
    assert response.json() == {"devices": {"DISOWN0001": "SUCCESS"}}
    (removed,) = await audit_events(abm, filter_type=REMOVED)
    attributes = removed["attributes"]
    assert (attributes["actorType"], attributes["actorId"]) == ("SYSTEM", server["server_uuid"])
    assert attributes["eventDataDeviceRemovedFromOrg"] == {
        "serialNumber": "DISOWN0001",
        "releaseEntityType": "MDM",
        "releaseEntityId": server["server_uuid"],
    }
    # Readable by id with their release date, and still listed (observed F2, issue 29).
    device = (await abm.get("/v1/orgDevices/DISOWN0001")).json()["data"]["attributes"]
    assert device["releasedFromOrgDateTime"] == attributes["eventDateTime"]
    assert device["status"] == "UNASSIGNED"
    listed = (await abm.get("/v1/orgDevices")).json()["data"]
    assert [d["id"] for d in listed] == ["DISOWN0001"]
    assert listed[0]["attributes"]["releaserEntityType"] == "MDM"


async def test_time_range_paging_and_fields(
    client: httpx.AsyncClient, abm: httpx.AsyncClient, org: dict[str, Any], server: dict[str, Any]
) -> None:
    await add(client, org["id"], "EARLY00001", "EARLY00002", "EARLY00003")
    later = (await client.post("/emulator/v1/clock", json={"advance_seconds": 600})).json()["now"]
    await assign(client, org["id"], server["server_uuid"], "EARLY00001", "EARLY00002")
    everything = await audit_events(abm)
    assert [e["attributes"]["type"] for e in everything] == [ADDED] * 3 + [ASSIGNED] * 2

    # The range is inclusive and follows the emulator clock.
    recent = await audit_events(abm, filter_startTimestamp=later)
    assert [e["attributes"]["type"] for e in recent] == [ASSIGNED] * 2
    first_added = everything[0]["attributes"]["eventDateTime"]
    early = await audit_events(abm, filter_endTimestamp=first_added.replace("Z", ".999999Z"))
    assert [e["attributes"]["type"] for e in early] == [ADDED] * 3

    # Cursor pages with absolute links.next that keep the filters, limit and fields.
    params = {
        "filter[startTimestamp]": SINCE,
        "filter[endTimestamp]": UNTIL,
        "filter[type]": ADDED,
        "limit": "2",
        "fields[auditEvents]": "type,subjectId",
    }
    response = await abm.get("/v1/auditEvents", params=params)
    document = response.json()
    assert [e["attributes"] for e in document["data"]] == [
        {"type": ADDED, "subjectId": "EARLY00001"},
        {"type": ADDED, "subjectId": "EARLY00002"},
    ]
    assert document["meta"]["paging"]["limit"] == 2
    next_url = document["links"]["next"]
    assert next_url.startswith("http://dep.test/v1/auditEvents?")
    query = parse_qs(urlsplit(next_url).query)
    assert query["cursor"] == [document["meta"]["paging"]["nextCursor"]]
    assert query["filter[type]"] == [ADDED] and query["limit"] == ["2"]
    self_query = parse_qs(urlsplit(document["links"]["self"]).query)
    assert self_query == {k: [v] for k, v in params.items()}
    last = (await abm.get(next_url)).json()
    assert [e["attributes"] for e in last["data"]] == [{"type": ADDED, "subjectId": "EARLY00003"}]
    assert "next" not in last["links"] and "nextCursor" not in last["meta"]["paging"]

    # A type Apple documents that the emulator never writes matches nothing.
    assert await audit_events(abm, filter_type="DOMAIN_ADDED") == []


async def test_other_orgs_events_are_not_visible(
    app: FastAPI, client: httpx.AsyncClient, abm: httpx.AsyncClient, org: dict[str, Any]
) -> None:
    await add(client, org["id"], "MINE000001")
    theirs = await create_org(client, name="Other Org")
    await add(client, theirs["id"], "THEIRS0001")
    account = await create_api_account(client, theirs["id"])
    async with bearer_client(app, await get_token(client, account)) as them:
        assert [e["attributes"]["subjectId"] for e in await audit_events(them)] == ["THEIRS0001"]
        assert_error(await them.get("/v1/orgDevices/MINE000001"), 404, "NOT_FOUND")
    assert [e["attributes"]["subjectId"] for e in await audit_events(abm)] == ["MINE000001"]


@pytest.mark.parametrize(
    ("params", "code", "parameter"),
    [
        ({"filter[endTimestamp]": UNTIL}, "PARAMETER_ERROR.REQUIRED", "filter[startTimestamp]"),
        # Both ends are required, as Apple's "Get Audit Events" page lists them (issue 29 item 6).
        ({"filter[startTimestamp]": SINCE}, "PARAMETER_ERROR.REQUIRED", "filter[endTimestamp]"),
        (
            {"filter[startTimestamp]": SINCE, "filter[endTimestamp]": ""},
            "PARAMETER_ERROR.REQUIRED",
            "filter[endTimestamp]",
        ),
        ({"filter[startTimestamp]": "yesterday"}, "PARAMETER_ERROR.INVALID", "filter[startTimestamp]"),
        (
            {"filter[startTimestamp]": SINCE, "filter[endTimestamp]": "1999-01-01T00:00:00Z"},
            "PARAMETER_ERROR.INVALID",
            "filter[endTimestamp]",
        ),
        (
            {"filter[startTimestamp]": SINCE, "filter[endTimestamp]": UNTIL, "filter[type]": "DEVICE_STOLEN"},
            "PARAMETER_ERROR.INVALID",
            "filter[type]",
        ),
        (
            {
                "filter[startTimestamp]": SINCE,
                "filter[endTimestamp]": UNTIL,
                "filter[type]": f"{ADDED},{REMOVED}",
            },
            "PARAMETER_ERROR.INVALID",
            "filter[type]",
        ),
        (
            {"filter[startTimestamp]": SINCE, "filter[endTimestamp]": UNTIL, "limit": "1001"},
            "PARAMETER_ERROR.INVALID",
            "limit",
        ),
        (
            {"filter[startTimestamp]": SINCE, "filter[endTimestamp]": UNTIL, "cursor": "bm90LWEtY3Vyc29y"},
            "PARAMETER_ERROR.INVALID",
            "cursor",
        ),
        (
            {"filter[startTimestamp]": SINCE, "filter[endTimestamp]": UNTIL, "cursor": "%%%"},
            "PARAMETER_ERROR.INVALID",
            "cursor",
        ),
        (
            {
                "filter[startTimestamp]": SINCE,
                "filter[endTimestamp]": UNTIL,
                "fields[auditEvents]": "type,colour",
            },
            "PARAMETER_ERROR.INVALID",
            "fields[auditEvents]",
        ),
    ],
)
async def test_bad_queries_are_400(
    abm: httpx.AsyncClient, params: dict[str, str], code: str, parameter: str
) -> None:
    error = assert_error(await abm.get("/v1/auditEvents", params=params), 400, code)
    assert error["source"] == {"parameter": parameter}


async def test_unauthenticated_is_401(client: httpx.AsyncClient) -> None:
    response = await client.get("/v1/auditEvents", params={"filter[startTimestamp]": SINCE})
    assert_error(response, 401, "NOT_AUTHORIZED")


async def test_erase_through_the_emulator_is_an_audit_event(
    client: httpx.AsyncClient, abm: httpx.AsyncClient, org: dict[str, Any], server: dict[str, Any]
) -> None:
    """Issue 29 item 11: DEVICE_IS_ERASED (Apple's AuditEventType), by SYSTEM, with its server."""
    await add(client, org["id"], "ERASE00001", "ERASE00002")
    await assign(client, org["id"], server["server_uuid"], "ERASE00001")
    for serial in ("ERASE00001", "ERASE00002"):
        assert (await client.post(f"/emulator/v1/devices/{serial}/erase")).status_code == 200
    erased = await audit_events(abm, filter_type="DEVICE_IS_ERASED")
    assert summary(erased) == [
        ("DEVICE_IS_ERASED", "ERASE00001", server["server_uuid"]),
        ("DEVICE_IS_ERASED", "ERASE00002", None),
    ]
    attributes = erased[0]["attributes"]
    assert attributes["category"] == "DEVICE_MANAGEMENT" and attributes["actorType"] == "SYSTEM"
    assert attributes["eventDataPropertyKey"] == "eventDataDeviceIsErased"
