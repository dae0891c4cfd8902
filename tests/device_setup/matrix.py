"""The misbehaving-MDM matrix's shared steps and its one assertion (issue 28).

Every row drives the device through the control API of a real uvicorn-served emulator, over one
keep-alive connection (`live`), against `misbehaving_mdm`, and checks the same things: a 200 (or
409) JSON report naming the failed step and the reason in words; no row of any table changed
(the exchange log aside); the exchanges on record in `GET .../mdm/exchanges`; and the next
request travels on the same connection and is answered.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from typing import Any

import asyncpg
import httpx
import pytest

from tests.conftest import snapshot
from tests.dep_helpers import assign, define
from tests.device_helpers import add_devices
from tests.device_setup.misbehaving_mdm import MisbehavingMdm, misbehaving_mdm

# Small bounds, so the rows about them run quickly; the defaults are documented in config.py.
SETTINGS = {
    "mdm_contact_timeout_seconds": 1.5,
    "mdm_profile_max_bytes": 64 * 1024,
    "mdm_max_redirects": 3,
    "mdm_max_commands_per_poll": 5,
    "scep_pending_retries": 2,
}


@pytest.fixture
def settings_overrides() -> dict[str, Any]:
    return dict(SETTINGS)


@pytest.fixture
def bad_mdm() -> Iterator[MisbehavingMdm]:
    with misbehaving_mdm() as running:
        yield running


@pytest.fixture
async def live(url: str) -> AsyncIterator[httpx.AsyncClient]:
    """One connection to a real uvicorn-served emulator (the keep-alive check needs real sockets)."""
    limits = httpx.Limits(max_connections=1, max_keepalive_connections=1)
    async with httpx.AsyncClient(base_url=url, limits=limits, timeout=60) as client:
        yield client


@pytest.fixture
async def iphone(client: httpx.AsyncClient, org: dict[str, Any], server: dict[str, Any]) -> str:
    serials = await add_devices(
        client, org_id=org["id"], server_uuid=server["server_uuid"], count=1, families=["iPhone"]
    )
    assert (await client.get("/emulator/v1/device-ca")).status_code == 200  # made once, before snapshots
    return serials[0]


async def activated(
    client: httpx.AsyncClient, mdm: httpx.AsyncClient, serial: str, url: str, **profile: Any
) -> None:
    """The device switched on with a DEP profile whose ConfigurationURL is `url` (no MDM contact)."""
    uuid = (await define(mdm, url=url, **profile))["profile_uuid"]
    await assign(mdm, uuid, [serial])
    response = await client.post(f"/emulator/v1/devices/{serial}/activate")
    assert response.status_code == 200, response.text


async def enrolled(
    client: httpx.AsyncClient, mdm: httpx.AsyncClient, serial: str, bad: MisbehavingMdm
) -> None:
    await activated(client, mdm, serial, bad.base_url + "/enroll")
    response = await client.post(f"/emulator/v1/devices/{serial}/enroll")
    assert response.status_code == 200 and response.json()["outcome"] == "enrolled", response.text


def local_port(response: httpx.Response) -> int:
    port: int = response.extensions["network_stream"].get_extra_info("client_addr")[1]
    return port


async def _exchanges(live: httpx.AsyncClient, serial: str) -> tuple[list[dict[str, Any]], int]:
    response = await live.get(f"/emulator/v1/devices/{serial}/mdm/exchanges", params={"limit": 500})
    assert response.status_code == 200, response.text
    exchanges: list[dict[str, Any]] = response.json()["exchanges"]
    return exchanges, local_port(response)


async def reported(
    live: httpx.AsyncClient,
    pg: asyncpg.Connection,
    serial: str,
    action: str,
    *,
    step: str,
    reason: str,
    status: int | None = None,
    unchanged: bool = True,
) -> dict[str, Any]:
    """POST `/emulator/v1/devices/{serial}/{action}`; assert the matrix's checks; the report."""
    before = await snapshot(pg) if unchanged else None
    seen = len((await _exchanges(live, serial))[0])
    response = await live.post(f"/emulator/v1/devices/{serial}/{action}")
    assert response.status_code == 200, response.text
    assert response.headers["content-type"] == "application/json"
    port = local_port(response)
    # The next request travels on the same keep-alive connection and is answered.
    exchanges, next_port = await _exchanges(live, serial)
    assert next_port == port
    report: dict[str, Any] = response.json()
    why = report.get("failure") or report.get("problem")
    assert why is not None and reason in why, report
    failed = [s for s in report["steps"] if not s["ok"]]
    assert failed and failed[-1]["step"] == step and reason in failed[-1]["detail"], report["steps"]
    assert failed[-1].get("status") == status, failed[-1]
    if before is not None:
        assert await snapshot(pg) == before
    # Every step on record, in the order it happened.
    recorded = exchanges[seen:]
    assert [(e["step"], e["ok"], e["detail"]) for e in recorded] == [
        (s["step"], s["ok"], s.get("detail")) for s in report["steps"]
    ]
    return report
