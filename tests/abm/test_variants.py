"""Business and School tokens get what their API has (issue 29 item 8, dep_emulator.abm.variants)."""

from __future__ import annotations

from typing import Any

import httpx
from fastapi import FastAPI

from tests.abm.conftest import assert_error, bearer_client, create_api_account, get_token
from tests.abm.test_flow import activity_body, run_activity
from tests.conftest import snapshot
from tests.devices.helpers import add, assign

AUDIT = {"filter[startTimestamp]": "2000-01-01T00:00:00Z", "filter[endTimestamp]": "2999-01-01T00:00:00Z"}


async def test_school_token_is_refused_what_school_does_not_have(
    app: FastAPI, client: httpx.AsyncClient, org: dict[str, Any], server: dict[str, Any], pg: Any
) -> None:
    edu = (await client.post("/emulator/v1/orgs", json={"name": "School", "org_type": "edu"})).json()
    school_server = (
        await client.post(f"/emulator/v1/orgs/{edu['id']}/mdm-servers", json={"server_name": "School MDM"})
    ).json()
    await add(client, edu["id"], "SCHOOL0001")
    await assign(client, edu["id"], school_server["server_uuid"], "SCHOOL0001")
    account = await create_api_account(client, edu["id"])
    assert account.scope == "school.api"
    async with bearer_client(app, await get_token(client, account)) as school:
        before = await snapshot(pg)
        uuid = school_server["server_uuid"]
        body = {"data": {"type": "mdmServers", "attributes": {"serverName": "New"}}}
        for response, operation in (
            (await school.post("/v1/mdmServers", json=body), "CREATE"),
            (
                await school.patch(f"/v1/mdmServers/{uuid}", json={"data": {**body["data"], "id": uuid}}),
                "UPDATE",
            ),
            (await school.delete(f"/v1/mdmServers/{uuid}"), "DELETE"),
        ):
            error = assert_error(response, 403, "FORBIDDEN_ERROR")
            assert f"does not allow '{operation}'" in error["detail"]
        assert_error(await school.get("/v1/auditEvents", params=AUDIT), 404, "NOT_FOUND")
        release = activity_body("RELEASE_DEVICES", ["SCHOOL0001"])
        error = assert_error(
            await school.post("/v1/orgDeviceActivities", json=release), 409, "ENTITY_ERROR.ATTRIBUTE.INVALID"
        )
        assert error["source"] == {"pointer": "/data/attributes/activityType"}
        assert await snapshot(pg) == before
        # What School has keeps working: reads and the migration activity types.
        assert (await school.get(f"/v1/mdmServers/{uuid}")).status_code == 200
        assert [d["id"] for d in (await school.get("/v1/orgDevices")).json()["data"]] == ["SCHOOL0001"]
        unassign = activity_body("UNASSIGN_DEVICES", ["SCHOOL0001"], uuid)
        assert (await run_activity(school, unassign))["attributes"]["subStatus"] == "COMPLETED_WITH_SUCCESS"


async def test_business_token_has_them(
    client: httpx.AsyncClient, abm: httpx.AsyncClient, org: dict[str, Any], server: dict[str, Any]
) -> None:
    assert (await abm.get("/v1/auditEvents", params=AUDIT)).status_code == 200
    body = {"data": {"type": "mdmServers", "attributes": {"serverName": "Second"}}}
    created = await abm.post("/v1/mdmServers", json=body)
    assert created.status_code in (201, 422), created.text  # 422: a certificate is required
    await add(client, org["id"], "BUSINESS01")
    released = await run_activity(abm, activity_body("RELEASE_DEVICES", ["BUSINESS01"]))
    assert released["attributes"]["subStatus"] == "COMPLETED_WITH_SUCCESS"
