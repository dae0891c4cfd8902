"""Metrics, request ids and structured logs."""

from __future__ import annotations

import json
import logging
from typing import Any

import httpx
import pytest
from dep_emulator.core.logging import JsonFormatter


async def test_metrics_are_scraped(
    client: httpx.AsyncClient, mdm: httpx.AsyncClient, server: dict[str, Any]
) -> None:
    assert (await mdm.get("/account")).status_code == 200
    await client.get("/account", headers={"User-Agent": ""})
    scrape = await client.get("/metrics")
    assert scrape.status_code == 200
    assert scrape.headers["content-type"].startswith("text/plain")
    text = scrape.text
    uuid = server["server_uuid"]
    labels = f'endpoint="GET /account",server="{uuid}",status="200",surface="dep"'
    assert f"depemu_requests_total{{{labels}}}" in text
    assert 'depemu_dep_errors_total{code="USER_AGENT_MISSING",endpoint="GET /account"} 1.0' in text
    assert 'endpoint="POST /emulator/v1/orgs"' in text
    assert "depemu_request_duration_seconds_bucket" in text
    assert 'depemu_db_pool_connections{state="checked_out"}' in text
    # the DEP call above went through the traffic middleware, on the hot pool: one connection, idle now
    hot = {
        line.split()[0]: float(line.split()[1])
        for line in text.splitlines()
        if line.startswith("depemu_hot_pool")
    }
    assert hot['depemu_hot_pool_connections{state="in_use"}'] == 0
    assert hot['depemu_hot_pool_connections{state="idle"}'] >= 1


async def test_request_id_is_returned_and_echoed(client: httpx.AsyncClient) -> None:
    generated = await client.get("/healthz")
    assert len(generated.headers["x-request-id"]) == 32
    echoed = await client.get("/healthz", headers={"X-Request-ID": "trace-123"})
    assert echoed.headers["x-request-id"] == "trace-123"
    unsafe = await client.get("/healthz", headers={"X-Request-ID": "bad id\twith spaces"})
    assert unsafe.headers["x-request-id"] != "bad id\twith spaces"


async def test_access_log_is_json_with_the_request_id(
    client: httpx.AsyncClient, caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level(logging.INFO, logger="dep_emulator.access"):
        logging.getLogger("dep_emulator").propagate = True
        try:
            await client.post("/emulator/v1/orgs", json={"name": "Logged"}, headers={"X-Request-ID": "abc-1"})
        finally:
            logging.getLogger("dep_emulator").propagate = False
    records = [r for r in caplog.records if r.name == "dep_emulator.access"]
    assert records, "no access log line"
    line = json.loads(JsonFormatter().format(records[-1]))
    assert line["request_id"] == "abc-1"
    assert line["status"] == 201 and line["surface"] == "control"
    assert line["endpoint"] == "POST /emulator/v1/orgs"


async def test_faults_and_throttles_are_counted(
    client: httpx.AsyncClient, mdm: httpx.AsyncClient, org: dict[str, Any]
) -> None:
    fault = {"endpoint": "GET /account", "responses": [{"count": 2, "status": 503}]}
    assert (await client.post("/emulator/v1/faults", json=fault)).status_code == 201
    assert [(await mdm.get("/account")).status_code for _ in range(3)] == [503, 503, 200]
    rules = {"overrides": {"budgets": {"account": {"requests": 1, "per_seconds": 3600}}}}
    assert (await client.put(f"/emulator/v1/orgs/{org['id']}/traffic-rules", json=rules)).status_code == 200
    assert (await mdm.get("/account")).status_code == 200
    assert (await mdm.get("/account")).status_code == 429
    text = (await client.get("/metrics")).text
    assert 'depemu_faults_fired_total{endpoint="GET /account",kind="status"} 2.0' in text
    assert 'depemu_throttled_total{endpoint="GET /account",rule="budget:account"} 1.0' in text


async def test_feed_lag_is_what_the_client_has_not_synced(
    client: httpx.AsyncClient, mdm: httpx.AsyncClient, org: dict[str, Any], server: dict[str, Any]
) -> None:
    devices = {"generate": {"count": 5, "seed": 3, "order_number": "LAG-1"}}
    assert (await client.post(f"/emulator/v1/orgs/{org['id']}/devices", json=devices)).status_code == 201
    assign = {"server_uuid": server["server_uuid"], "order_number": "LAG-1"}
    assert (await client.post(f"/emulator/v1/orgs/{org['id']}/assignments", json=assign)).status_code == 200
    cursor = (await mdm.post("/server/devices", json={"limit": 10})).json()["cursor"]
    synced = await mdm.post("/devices/sync", json={"cursor": cursor, "limit": 2})
    uuid = server["server_uuid"]
    assert synced.status_code == 200 and synced.json()["devices"] == []
    assert f'depemu_feed_lag_events{{server="{uuid}"}} 0.0' in (await client.get("/metrics")).text

    # Three changes behind, the client reads two of them: one left.
    serials = [d["serial_number"] for d in (await mdm.post("/server/devices", json={})).json()["devices"]]
    for serial in serials[:3]:
        patch = await client.patch(f"/emulator/v1/devices/{serial}", json={"asset_tag": f"T-{serial}"})
        assert patch.status_code == 200, patch.text
    page = (await mdm.post("/devices/sync", json={"cursor": synced.json()["cursor"], "limit": 2})).json()
    assert len(page["devices"]) == 2 and page["more_to_follow"] is True
    assert f'depemu_feed_lag_events{{server="{uuid}"}} 1.0' in (await client.get("/metrics")).text
