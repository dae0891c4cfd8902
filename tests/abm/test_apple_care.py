"""AppleCare+ contracts (issue 29 item 11): added and removed through the control API, listed by
`GET /v1/orgDevices/{id}/appleCareCoverage` after the Limited Warranty, and each change an audit event
(SUBJECT_HAS_APPLECARE_PURCHASE_ADDED / _REMOVED) in `GET /v1/auditEvents`."""

from __future__ import annotations

from typing import Any

import httpx

from tests.abm.test_audit_events import audit_events
from tests.devices.helpers import add

ADDED, REMOVED = "SUBJECT_HAS_APPLECARE_PURCHASE_ADDED", "SUBJECT_HAS_APPLECARE_PURCHASE_REMOVED"
CONTRACT = {
    "agreementNumber": "0000000001",
    "status": "ACTIVE",
    "paymentType": "ABE_SUBSCRIPTION",
    "description": "AppleCare+ for Business",
    "startDateTime": "2026-01-01T00:00:00Z",
    "endDateTime": "2029-01-01T00:00:00Z",
    "isRenewable": True,
    "isCanceled": False,
    "contractCancelDateTime": None,
}


async def test_contracts_are_listed_after_the_warranty_and_audited(
    client: httpx.AsyncClient, abm: httpx.AsyncClient, org: dict[str, Any]
) -> None:
    await add(client, org["id"], "CARE000001", order_date="2026-02-02T00:00:00Z")
    path = "/emulator/v1/devices/CARE000001/apple-care"
    created = await client.post(path, json=CONTRACT)
    assert created.status_code == 201, created.text
    assert created.json() == CONTRACT
    second = await client.post(
        path, json={"agreementNumber": "0000000002", "startDateTime": "2026-06-01T00:00:00Z"}
    )
    assert second.status_code == 201, second.text
    assert second.json()["paymentType"] == "PAID_UP_FRONT" and second.json()["endDateTime"] is None
    assert [c["agreementNumber"] for c in (await client.get(path)).json()["contracts"]] == [
        "0000000001",
        "0000000002",
    ]

    coverage = (await abm.get("/v1/orgDevices/CARE000001/appleCareCoverage")).json()
    assert [item["id"] for item in coverage["data"]] == ["CARE000001-LW", "0000000001", "0000000002"]
    assert coverage["data"][0]["attributes"]["description"] == "Limited Warranty"
    assert coverage["data"][1] == {"type": "appleCareCoverage", "id": "0000000001", "attributes": CONTRACT}
    assert coverage["meta"]["paging"]["total"] == 3
    # Pages of one, following links.next.
    first = (await abm.get("/v1/orgDevices/CARE000001/appleCareCoverage", params={"limit": 2})).json()
    assert [item["id"] for item in first["data"]] == ["CARE000001-LW", "0000000001"]
    rest = (await abm.get(first["links"]["next"])).json()
    assert [item["id"] for item in rest["data"]] == ["0000000002"] and "next" not in rest["links"]

    removed = await client.delete(f"{path}/0000000002")
    assert removed.status_code == 204
    assert (await client.delete(f"{path}/0000000002")).status_code == 404
    coverage = (await abm.get("/v1/orgDevices/CARE000001/appleCareCoverage")).json()
    assert [item["id"] for item in coverage["data"]] == ["CARE000001-LW", "0000000001"]

    added = await audit_events(abm, filter_type=ADDED)
    assert [e["attributes"]["subjectId"] for e in added] == ["CARE000001", "CARE000001"]
    first_added = added[0]["attributes"]
    assert first_added["eventDataPropertyKey"] == "eventDataSubjectHasAppleCarePurchaseAdded"
    assert first_added["eventDataSubjectHasAppleCarePurchaseAdded"] == {
        "serialNumber": "CARE000001",
        "agreementNumber": "0000000001",
        "description": "AppleCare+ for Business",
        "paymentType": "ABE_SUBSCRIPTION",
    }
    assert first_added["subjectType"] == "DEVICE" and first_added["actorType"] == "USER"
    (gone,) = await audit_events(abm, filter_type=REMOVED)
    assert (
        gone["attributes"]["eventDataSubjectHasAppleCarePurchaseRemoved"]["agreementNumber"] == "0000000002"
    )


async def test_bad_contracts_are_refused(client: httpx.AsyncClient, org: dict[str, Any]) -> None:
    await add(client, org["id"], "CARE000002")
    path = "/emulator/v1/devices/CARE000002/apple-care"
    assert (await client.post(path, json=CONTRACT)).status_code == 201
    duplicate = await client.post(path, json=CONTRACT)
    assert duplicate.status_code == 409 and duplicate.json()["error"]["code"] == "duplicate_agreement"
    for bad in (
        {"agreementNumber": ""},
        {"agreementNumber": "X1", "status": "EXPIRED"},
        {"agreementNumber": "X1", "startDateTime": "2026-01-01T00:00:00"},  # no time zone
        {
            "agreementNumber": "X1",
            "startDateTime": "2026-01-02T00:00:00Z",
            "endDateTime": "2026-01-01T00:00:00Z",
        },
        {"agreementNumber": "X1", "colour": "red"},
    ):
        response = await client.post(path, json=bad)
        assert response.status_code == 422, (bad, response.text)
    assert (await client.post("/emulator/v1/devices/NOSUCH0001/apple-care", json=CONTRACT)).status_code == 404
    assert (await client.get("/emulator/v1/devices/NOSUCH0001/apple-care")).status_code == 404
