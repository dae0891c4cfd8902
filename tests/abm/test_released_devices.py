"""Released devices in the Business API (issue 29 F2, issue 30 §2.9/§5 item 8).

Apple's get-org-devices list example carries `releasedFromOrgDateTime` on listed devices
(developer.apple.com/documentation/appleschoolmanagerapi/get-org-devices, the same resource in both
APIs), so a released device stays in `GET /v1/orgDevices` while the org's `released_devices` is
`listed`; `releaserEntityType`/`releaserId` say who released it (values of the audit trail's
`releaseEntityType`/`releaseEntityId`).
"""

from __future__ import annotations

import csv
import io
from datetime import datetime, timedelta
from typing import Any

import httpx

from tests.abm.conftest import ApiAccount
from tests.abm.test_audit_events import ADDED, audit_events
from tests.abm.test_blueprints import blueprint_body, ids_of
from tests.abm.test_flow import activity_body, run_activity
from tests.devices.helpers import add, assign


async def _listed(abm: httpx.AsyncClient) -> dict[str, dict[str, Any]]:
    response = await abm.get("/v1/orgDevices")
    assert response.status_code == 200, response.text
    return {d["id"]: d["attributes"] for d in response.json()["data"]}


async def test_listed_with_release_time_and_releaser(
    client: httpx.AsyncClient,
    abm: httpx.AsyncClient,
    mdm: httpx.AsyncClient,
    org: dict[str, Any],
    server: dict[str, Any],
    api_account: ApiAccount,
) -> None:
    await add(client, org["id"], "RELAPI0001", "RELMDM0001", "RELUSR0001", "STAYS00001")
    await assign(client, org["id"], server["server_uuid"], "RELMDM0001")
    await run_activity(abm, activity_body("RELEASE_DEVICES", ["RELAPI0001"]))
    assert (await mdm.post("/devices/disown", json={"devices": ["RELMDM0001"]})).status_code == 200
    assert (await client.delete("/emulator/v1/devices/RELUSR0001")).status_code == 200

    listed = await _listed(abm)
    assert sorted(listed) == ["RELAPI0001", "RELMDM0001", "RELUSR0001", "STAYS00001"]
    releasers = {s: (a["releaserEntityType"], a["releaserId"]) for s, a in listed.items()}
    assert releasers == {
        "RELAPI0001": ("API", api_account.client_id),
        "RELMDM0001": ("MDM", server["server_uuid"]),
        "RELUSR0001": ("USER", None),
        "STAYS00001": (None, None),
    }
    for serial in ("RELAPI0001", "RELMDM0001", "RELUSR0001"):
        assert listed[serial]["releasedFromOrgDateTime"] is not None
        assert listed[serial]["status"] == "UNASSIGNED"
        single = (await abm.get(f"/v1/orgDevices/{serial}")).json()["data"]["attributes"]
        assert single == listed[serial]
    assert listed["STAYS00001"]["releasedFromOrgDateTime"] is None
    total = (await abm.get("/v1/orgDevices")).json()["meta"]["paging"]["total"]
    assert total == 4

    # The documented behaviour: released devices leave the list, still readable by id.
    response = await client.patch(
        f"/emulator/v1/orgs/{org['id']}/settings", json={"released_devices": "removed"}
    )
    assert response.status_code == 200
    assert sorted(await _listed(abm)) == ["STAYS00001"]
    assert (await abm.get("/v1/orgDevices/RELAPI0001")).status_code == 200


async def test_an_activity_fails_for_a_released_device_in_its_log(
    client: httpx.AsyncClient,
    abm: httpx.AsyncClient,
    org: dict[str, Any],
    server: dict[str, Any],
) -> None:
    await add(client, org["id"], "GONE000001", "HERE000001")
    await run_activity(abm, activity_body("RELEASE_DEVICES", ["GONE000001"]))
    activity = await run_activity(
        abm, activity_body("ASSIGN_DEVICES", ["GONE000001", "HERE000001"], server["server_uuid"])
    )
    assert activity["attributes"]["subStatus"] == "COMPLETED_WITH_FAILURE"
    log = (await client.get(activity["attributes"]["downloadUrl"])).text
    rows = {r["serialNumber"]: r for r in csv.DictReader(io.StringIO(log))}
    assert rows["HERE000001"]["status"] == "SUCCESS"
    assert rows["GONE000001"]["status"] == "FAILED"
    assert "released from this organization" in rows["GONE000001"]["message"]
    assert (await client.get("/emulator/v1/devices/GONE000001")).json()["server_uuid"] is None
    # Only the released device: the activity is created and fails as a whole in its log.
    alone = await run_activity(abm, activity_body("ASSIGN_DEVICES", ["GONE000001"], server["server_uuid"]))
    assert alone["attributes"]["subStatus"] == "COMPLETED_WITH_ERROR"

    # Added back ten minutes later: the org's device again, added at that time, DEVICE_ADDED_TO_ORG once
    # more, assignable.
    before = (await abm.get("/v1/orgDevices/GONE000001")).json()["data"]["attributes"]
    first_added = before["addedToOrgDateTime"]
    await client.post("/emulator/v1/clock", json={"advance_seconds": 600})  # within the token's hour
    assert (await client.post("/emulator/v1/devices/GONE000001/add-back")).status_code == 200
    back = (await abm.get("/v1/orgDevices/GONE000001")).json()["data"]["attributes"]["addedToOrgDateTime"]
    later = datetime.fromisoformat(first_added.replace("Z", "+00:00")) + timedelta(seconds=600)
    assert datetime.fromisoformat(back.replace("Z", "+00:00")) >= later
    added = await audit_events(abm, filter_type=ADDED, filter_subjectId="GONE000001")
    assert len(added) == 2
    again = await run_activity(abm, activity_body("ASSIGN_DEVICES", ["GONE000001"], server["server_uuid"]))
    assert again["attributes"]["subStatus"] == "COMPLETED_WITH_SUCCESS"
    attributes = (await abm.get("/v1/orgDevices/GONE000001")).json()["data"]["attributes"]
    assert attributes["status"] == "ASSIGNED" and attributes["releasedFromOrgDateTime"] is None
    assert attributes["releaserEntityType"] is None


async def test_a_release_takes_the_device_out_of_its_blueprints(
    client: httpx.AsyncClient, abm: httpx.AsyncClient, org: dict[str, Any]
) -> None:
    base = f"/emulator/v1/orgs/{org['id']}"
    app = await client.post(
        f"{base}/apps", json={"adam_id": "361309726", "name": "Pages", "bundle_id": "x.y"}
    )
    assert app.status_code == 201, app.text
    await add(client, org["id"], "BPREL00001", "BPREL00002", "BPREL00003")
    created = await abm.post(
        "/v1/blueprints",
        json=blueprint_body(apps=["361309726"], orgDevices=["BPREL00001", "BPREL00002", "BPREL00003"]),
    )
    assert created.status_code == 201, created.text
    blueprint = created.json()["data"]["id"]
    await run_activity(abm, activity_body("RELEASE_DEVICES", ["BPREL00001"]))
    assert (await client.delete("/emulator/v1/devices/BPREL00002")).status_code == 200
    assert await ids_of(abm, blueprint, "orgDevices") == {"BPREL00003"}


async def test_a_serial_added_again_is_dated_from_its_new_addition(
    client: httpx.AsyncClient, abm: httpx.AsyncClient, org: dict[str, Any]
) -> None:
    """Adding a released serial as a new device (the control API's add, a CSV, a seed file) revives
    its row: `addedToOrgDateTime` is the new addition's time, not the first one's."""
    await add(client, org["id"], "READD00001")
    first = (await abm.get("/v1/orgDevices/READD00001")).json()["data"]["attributes"]["addedToOrgDateTime"]
    assert (await client.delete("/emulator/v1/devices/READD00001")).status_code == 200
    await client.post("/emulator/v1/clock", json={"advance_seconds": 600})  # within the token's hour
    await add(client, org["id"], "READD00001")
    attributes = (await abm.get("/v1/orgDevices/READD00001")).json()["data"]["attributes"]
    assert attributes["releasedFromOrgDateTime"] is None
    later = datetime.fromisoformat(first.replace("Z", "+00:00")) + timedelta(seconds=600)
    assert datetime.fromisoformat(attributes["addedToOrgDateTime"].replace("Z", "+00:00")) >= later
