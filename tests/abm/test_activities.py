"""orgDeviceActivities: every activity type, errors (400/409/422), lazy completion on the clock."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest

from tests.abm.conftest import ApiAccount, assert_error, get_token
from tests.abm.test_flow import activity_body, run_activity
from tests.conftest import create_server, snapshot
from tests.devices.helpers import add, fetch_all, ops, sync_all


def in_days(days: float) -> str:
    return (datetime.now(UTC) + timedelta(days=days)).isoformat().replace("+00:00", "Z")


async def test_migration_deadline_lifecycle(
    client: httpx.AsyncClient,
    abm: httpx.AsyncClient,
    mdm: httpx.AsyncClient,
    org: dict[str, Any],
    server: dict[str, Any],
) -> None:
    await add(client, org["id"], "MIGRATE001", "MIGRATE002")
    _, cursor = await fetch_all(mdm)
    deadline = in_days(30)
    metadata = {"activityTypeMetadata": {"mdmMigrationDeadlineDateTime": deadline}}
    body = activity_body(
        "ASSIGN_DEVICES_WITH_MDM_MIGRATION_DEADLINE", ["MIGRATE001"], server["server_uuid"], **metadata
    )
    assert (await run_activity(abm, body))["attributes"]["subStatus"] == "COMPLETED_WITH_SUCCESS"
    events, cursor = await sync_all(mdm, cursor)
    assert ops(events) == [("MIGRATE001", "added")]
    assert events[0]["mdm_migration_deadline"] == deadline[:19] + "Z"
    device = (await abm.get("/v1/orgDevices/MIGRATE001")).json()["data"]["attributes"]
    assert (
        device["mdmMigrationStatus"] == "REQUESTED"
        and device["mdmMigrationDeadlineDateTime"] == deadline[:19] + "Z"
    )

    # Update: MIGRATE002 has no migration in progress, which fails in the log only (abm-api.md §1.5).
    later = in_days(60)
    body = activity_body(
        "UPDATE_MDM_MIGRATION_DEADLINE",
        ["MIGRATE001", "MIGRATE002"],
        activityTypeMetadata={"mdmMigrationDeadlineDateTime": later},
    )
    assert (await run_activity(abm, body))["attributes"]["subStatus"] == "COMPLETED_WITH_FAILURE"
    events, cursor = await sync_all(mdm, cursor)
    assert (
        ops(events) == [("MIGRATE001", "modified")]
        and events[0]["mdm_migration_deadline"] == later[:19] + "Z"
    )

    cancelled = await run_activity(abm, activity_body("CANCEL_MDM_MIGRATION", ["MIGRATE002"]))
    assert cancelled["attributes"]["subStatus"] == "COMPLETED_WITH_ERROR"  # every device failed
    await run_activity(abm, activity_body("CANCEL_MDM_MIGRATION", ["MIGRATE001"]))
    device = (await abm.get("/v1/orgDevices/MIGRATE001")).json()["data"]["attributes"]
    assert device["mdmMigrationStatus"] is None and device["mdmMigrationDeadlineDateTime"] is None


async def test_update_moves_the_deadline_earlier_and_into_the_past(
    client: httpx.AsyncClient,
    abm: httpx.AsyncClient,
    mdm: httpx.AsyncClient,
    org: dict[str, Any],
    server: dict[str, Any],
) -> None:
    """Issue 29 item 7: only a new migration needs a future deadline; an update may bring it
    forward, even into the past, and the device carries it (feed and orgDevices)."""
    await add(client, org["id"], "EARLIER001")
    _, cursor = await fetch_all(mdm)
    metadata = {"activityTypeMetadata": {"mdmMigrationDeadlineDateTime": in_days(60)}}
    body = activity_body(
        "ASSIGN_DEVICES_WITH_MDM_MIGRATION_DEADLINE", ["EARLIER001"], server["server_uuid"], **metadata
    )
    await run_activity(abm, body)
    _, cursor = await sync_all(mdm, cursor)
    for deadline in (in_days(10), in_days(-2)):  # earlier than the current one, then in the past
        body = activity_body(
            "UPDATE_MDM_MIGRATION_DEADLINE",
            ["EARLIER001"],
            activityTypeMetadata={"mdmMigrationDeadlineDateTime": deadline},
        )
        done = await run_activity(abm, body)
        assert done["attributes"]["subStatus"] == "COMPLETED_WITH_SUCCESS"
        events, cursor = await sync_all(mdm, cursor)
        assert ops(events) == [("EARLIER001", "modified")]
        assert events[0]["mdm_migration_deadline"] == deadline[:19] + "Z"
        device = (await abm.get("/v1/orgDevices/EARLIER001")).json()["data"]["attributes"]
        assert device["mdmMigrationDeadlineDateTime"] == deadline[:19] + "Z"


async def test_release_devices(
    client: httpx.AsyncClient,
    abm: httpx.AsyncClient,
    mdm: httpx.AsyncClient,
    org: dict[str, Any],
    server: dict[str, Any],
) -> None:
    await add(client, org["id"], "RELEASE001")
    await run_activity(abm, activity_body("ASSIGN_DEVICES", ["RELEASE001"], server["server_uuid"]))
    _, cursor = await fetch_all(mdm)
    released = await run_activity(abm, activity_body("RELEASE_DEVICES", ["RELEASE001"]))
    assert released["attributes"]["subStatus"] == "COMPLETED_WITH_SUCCESS"
    events, cursor = await sync_all(mdm, cursor)
    assert ops(events) == []  # observed F1: no event for a release (issue 29)
    # ... and the documented `deleted` with the org's release_feed_event setting.
    await client.patch(f"/emulator/v1/orgs/{org['id']}/settings", json={"release_feed_event": "deleted"})
    await add(client, org["id"], "RELEASE002")
    await run_activity(abm, activity_body("ASSIGN_DEVICES", ["RELEASE002"], server["server_uuid"]))
    await run_activity(abm, activity_body("RELEASE_DEVICES", ["RELEASE002"]))
    events, _ = await sync_all(mdm, cursor)
    assert ops(events) == [("RELEASE002", "added"), ("RELEASE002", "deleted")]
    # Still listed, released (observed F2, issue 29), and readable by id with its release date.
    listed = {d["id"]: d for d in (await abm.get("/v1/orgDevices")).json()["data"]}
    assert listed["RELEASE001"]["attributes"]["releasedFromOrgDateTime"] is not None
    device = (await abm.get("/v1/orgDevices/RELEASE001")).json()["data"]["attributes"]
    assert device["status"] == "UNASSIGNED"
    # Released while the activity was created (same request; the clock may tick over a second).
    released_at = datetime.fromisoformat(device["releasedFromOrgDateTime"].replace("Z", "+00:00"))
    created_at = datetime.fromisoformat(released["attributes"]["createdDateTime"].replace("Z", "+00:00"))
    assert timedelta(0) <= released_at - created_at <= timedelta(seconds=2)
    linkage = await abm.get("/v1/orgDevices/RELEASE001/relationships/assignedServer")
    assert linkage.status_code == 200 and linkage.json()["data"] is None
    assert (await abm.get("/v1/orgDevices/RELEASE001/assignedServer")).json()["data"] is None


@pytest.mark.parametrize("settings_overrides", [{"abm_activity_delay_seconds": 12}])
async def test_in_progress_until_the_delay_passes_on_the_emulator_clock(
    client: httpx.AsyncClient,
    abm: httpx.AsyncClient,
    org: dict[str, Any],
    server: dict[str, Any],
    api_account: ApiAccount,
) -> None:
    await add(client, org["id"], "DELAY00001")
    response = await abm.post(
        "/v1/orgDeviceActivities", json=activity_body("ASSIGN_DEVICES", ["DELAY00001"], server["server_uuid"])
    )
    assert response.status_code == 201
    created = response.json()["data"]
    assert created["attributes"] == {
        "status": "IN_PROGRESS",
        "subStatus": "SUBMITTED",
        "createdDateTime": created["attributes"]["createdDateTime"],
        "completedDateTime": None,
        "downloadUrl": None,
    }
    # The effect is already visible: the DEP feed does not wait for the activity's status.
    device = (await abm.get("/v1/orgDevices/DELAY00001")).json()["data"]["attributes"]
    assert device["status"] == "ASSIGNED"
    url = f"/v1/orgDeviceActivities/{created['id']}"
    await client.post("/emulator/v1/clock", json={"advance_seconds": 7})
    polled = (await abm.get(url)).json()["data"]["attributes"]
    assert polled["status"] == "IN_PROGRESS" and polled["subStatus"] == "PROCESSING"
    assert (await client.get(f"/emulator/activity-logs/{created['id']}.csv")).status_code == 404
    await client.post("/emulator/v1/clock", json={"advance_seconds": 6})
    polled = (await abm.get(url, params={"fields[orgDeviceActivities]": "status,subStatus"})).json()["data"]
    assert polled["attributes"] == {"status": "COMPLETED", "subStatus": "COMPLETED_WITH_SUCCESS"}
    # Activities can be read back for 30 days.
    await client.post("/emulator/v1/clock", json={"advance_seconds": 30 * 86400})
    fresh = {"Authorization": f"Bearer {await get_token(client, api_account)}"}
    assert_error(await abm.get(url, headers=fresh), 404, "NOT_FOUND")


def _bad_bodies() -> list[Any]:
    server = "{server}"
    ok = activity_body("ASSIGN_DEVICES", ["KNOWN00001"], server)
    no_devices = activity_body("ASSIGN_DEVICES", [], server)
    no_server = activity_body("ASSIGN_DEVICES", ["KNOWN00001"])
    wrong_item = activity_body("ASSIGN_DEVICES", ["KNOWN00001"], server)
    wrong_item["data"]["relationships"]["devices"]["data"][0]["type"] = "users"
    no_deadline = activity_body("ASSIGN_DEVICES_WITH_MDM_MIGRATION_DEADLINE", ["KNOWN00001"], server)
    naive = activity_body(
        "UPDATE_MDM_MIGRATION_DEADLINE",
        ["KNOWN00001"],
        activityTypeMetadata={"mdmMigrationDeadlineDateTime": "2030-01-01T00:00:00"},
    )
    return [
        pytest.param(b"not json", 400, "ENTITY_UNPARSABLE", id="not-json"),
        pytest.param([], 422, "ENTITY_UNPROCESSABLE", id="not-an-object"),
        pytest.param(
            {"data": {**ok["data"], "type": "orgDevices"}}, 422, "ENTITY_UNPROCESSABLE", id="wrong-type"
        ),
        pytest.param(
            {"data": {**ok["data"], "attributes": {"activityType": "PAINT_DEVICES"}}},
            422,
            "ENTITY_UNPROCESSABLE",
            id="unknown-activity-type",
        ),
        pytest.param(no_devices, 422, "ENTITY_UNPROCESSABLE", id="no-devices"),
        pytest.param(wrong_item, 422, "ENTITY_UNPROCESSABLE", id="wrong-device-type"),
        pytest.param(no_server, 422, "ENTITY_UNPROCESSABLE", id="assign-without-server"),
        pytest.param(no_deadline, 422, "ENTITY_UNPROCESSABLE", id="migration-without-deadline"),
        pytest.param(naive, 422, "ENTITY_UNPROCESSABLE", id="deadline-without-zone"),
        pytest.param(
            activity_body("ASSIGN_DEVICES", ["KNOWN00001"], "1F97349736CF4614A94F624E705841AD"),
            409,
            "ENTITY_ERROR.RELATIONSHIP.INVALID",
            id="unknown-server",
        ),
        pytest.param(
            activity_body("ASSIGN_DEVICES", ["KNOWN00001", "UNKNOWN001"], server),
            409,
            "ENTITY_ERROR.RELATIONSHIP.INVALID",
            id="unknown-serial",
        ),
        pytest.param(
            activity_body(
                "ASSIGN_DEVICES_WITH_MDM_MIGRATION_DEADLINE",
                ["KNOWN00001"],
                server,
                activityTypeMetadata={"mdmMigrationDeadlineDateTime": in_days(91)},
            ),
            409,
            "ENTITY_ERROR.ATTRIBUTE.INVALID",
            id="deadline-beyond-90-days",
        ),
        pytest.param(
            activity_body(
                "ASSIGN_DEVICES_WITH_MDM_MIGRATION_DEADLINE",
                ["KNOWN00001"],
                server,
                activityTypeMetadata={"mdmMigrationDeadlineDateTime": in_days(-1)},
            ),
            409,
            "ENTITY_ERROR.ATTRIBUTE.INVALID",
            id="new-migration-deadline-in-the-past",
        ),
        pytest.param(
            activity_body(
                "UPDATE_MDM_MIGRATION_DEADLINE",
                ["KNOWN00001"],
                activityTypeMetadata={"mdmMigrationDeadlineDateTime": in_days(91)},
            ),
            409,
            "ENTITY_ERROR.ATTRIBUTE.INVALID",
            id="updated-deadline-beyond-90-days",
        ),
    ]


def _fill(value: Any, server_uuid: str) -> Any:
    if isinstance(value, dict):
        return {k: _fill(v, server_uuid) for k, v in value.items()}
    if isinstance(value, list):
        return [_fill(v, server_uuid) for v in value]
    return server_uuid if value == "{server}" else value


@pytest.mark.parametrize(("body", "status", "code"), _bad_bodies())
async def test_activity_errors_change_nothing(
    client: httpx.AsyncClient,
    abm: httpx.AsyncClient,
    org: dict[str, Any],
    server: dict[str, Any],
    pg: Any,
    body: Any,
    status: int,
    code: str,
) -> None:
    await add(client, org["id"], "KNOWN00001")
    before = await snapshot(pg)
    if isinstance(body, bytes):
        response = await abm.post("/v1/orgDeviceActivities", content=body)
    else:
        response = await abm.post("/v1/orgDeviceActivities", json=_fill(body, server["server_uuid"]))
    assert_error(response, status, code)
    assert await snapshot(pg) == before


async def test_device_of_another_org_is_unknown(
    client: httpx.AsyncClient, abm: httpx.AsyncClient, server: dict[str, Any]
) -> None:
    other = (await client.post("/emulator/v1/orgs", json={"name": "Other"})).json()
    await add(client, other["id"], "FOREIGN001")
    body = activity_body("ASSIGN_DEVICES", ["FOREIGN001"], server["server_uuid"])
    error = assert_error(
        await abm.post("/v1/orgDeviceActivities", json=body), 409, "ENTITY_ERROR.RELATIONSHIP.INVALID"
    )
    assert "FOREIGN001" in error["detail"]


async def test_deadline_activities_over_many_devices_keep_per_device_events(
    client: httpx.AsyncClient,
    abm: httpx.AsyncClient,
    mdm: httpx.AsyncClient,
    org: dict[str, Any],
    server: dict[str, Any],
) -> None:
    """Set in one statement (issue 14), the deadline activities still give each device what
    `modify_device` gave it: a `modified` event with the new deadline on its server, in the order
    the activity lists the devices, then the assignment's own events."""
    await add(client, org["id"], "MANYDL0001", "MANYDL0002", "MANYDL0003")
    await run_activity(
        abm, activity_body("ASSIGN_DEVICES", ["MANYDL0001", "MANYDL0002"], server["server_uuid"])
    )
    _, cursor = await fetch_all(mdm)
    other = await create_server(client, org["id"], server_name="Deadline target")
    deadline = in_days(20)
    body = activity_body(
        "ASSIGN_DEVICES_WITH_MDM_MIGRATION_DEADLINE",
        ["MANYDL0002", "MANYDL0003", "MANYDL0001"],
        other["server_uuid"],
        activityTypeMetadata={"mdmMigrationDeadlineDateTime": deadline},
    )
    assert (await run_activity(abm, body))["attributes"]["subStatus"] == "COMPLETED_WITH_SUCCESS"
    events, cursor = await sync_all(mdm, cursor)
    assert ops(events) == [
        ("MANYDL0002", "modified"),
        ("MANYDL0001", "modified"),
        ("MANYDL0001", "deleted"),
        ("MANYDL0002", "deleted"),
    ]
    assert [e["mdm_migration_deadline"] for e in events[:2]] == [deadline[:19] + "Z"] * 2
    for serial in ("MANYDL0001", "MANYDL0002", "MANYDL0003"):
        device = (await abm.get(f"/v1/orgDevices/{serial}")).json()["data"]["attributes"]
        assert device["mdmMigrationDeadlineDateTime"] == deadline[:19] + "Z"

    # Back on `server`, two of them; cancelling all three clears every deadline and only the
    # assigned ones get an event, in the activity's order.
    await run_activity(
        abm, activity_body("ASSIGN_DEVICES", ["MANYDL0001", "MANYDL0003"], server["server_uuid"])
    )
    _, cursor = await sync_all(mdm, cursor)
    body = activity_body("CANCEL_MDM_MIGRATION", ["MANYDL0003", "MANYDL0002", "MANYDL0001"])
    assert (await run_activity(abm, body))["attributes"]["subStatus"] == "COMPLETED_WITH_SUCCESS"
    events, _ = await sync_all(mdm, cursor)
    assert ops(events) == [("MANYDL0003", "modified"), ("MANYDL0001", "modified")]
    assert all(e.get("mdm_migration_deadline") is None for e in events)
    fetched, _ = await fetch_all(mdm)
    assert {d["serial_number"] for d in fetched} == {"MANYDL0001", "MANYDL0003"}
    for serial in ("MANYDL0001", "MANYDL0002", "MANYDL0003"):
        device = (await abm.get(f"/v1/orgDevices/{serial}")).json()["data"]["attributes"]
        assert device["mdmMigrationDeadlineDateTime"] is None and device["mdmMigrationStatus"] is None
