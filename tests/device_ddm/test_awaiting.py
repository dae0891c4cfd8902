"""DDM and Await Configuration (device-2026.md §3.6): NotNow as macOS 14-era devices answered,
or a sync while awaiting (26.x); DeviceConfigured ends Await Configuration either way."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from tests.device_ddm.ddm_server import (
    SIMPLE,
    TEST,
    DdmServer,
    by_id,
    ddm_server,
    enroll,
    pkcs12_profile,
    poll,
    state,
)
from tests.device_helpers import add_devices
from tests.device_setup import pki


@pytest.fixture
async def awaiting(
    client: httpx.AsyncClient, mdm: httpx.AsyncClient, org: dict[str, Any], server: dict[str, Any]
) -> Any:
    serial = (
        await add_devices(
            client, org_id=org["id"], server_uuid=server["server_uuid"], count=1, families=["Mac"]
        )
    )[0]
    identity = pki.leaf(pki.ca("DDM test CA"), "ddm device", server=False)
    with ddm_server() as ddm:
        profile = pkcs12_profile(identity, server_url=ddm.base_url + "/mdm")
        enrolled = await enroll(client, mdm, serial, profile=profile, await_configured=True)
        assert enrolled["awaiting_configuration"] is True
        yield serial, ddm


async def test_notnow_while_awaiting_then_sync_after_device_configured(
    client: httpx.AsyncClient, awaiting: tuple[str, DdmServer]
) -> None:
    serial, ddm = awaiting
    response = await client.put(f"/emulator/v1/devices/{serial}/mdm/ddm", json={"while_awaiting": "notnow"})
    assert response.status_code == 200 and response.json()["while_awaiting_set"] is True
    ddm.put(TEST, "cfg", {"Echo": "x"})
    ddm.put(SIMPLE, "act", {"StandardConfigurations": ["cfg"]})
    first = ddm.sync()
    await poll(client, serial)
    assert ddm.results[first]["Status"] == "NotNow" and ddm.checkins == []
    assert (await state(client, serial))["enabled"] is False

    # The MDM releases the device; the command sent again is processed.
    configured = "DC-1"
    ddm.commands.append({"CommandUUID": configured, "Command": {"RequestType": "DeviceConfigured"}})
    again = ddm.sync()
    await poll(client, serial)
    assert ddm.results[configured]["Status"] == "Acknowledged"
    assert ddm.results[again]["Status"] == "Acknowledged"
    assert by_id(await state(client, serial))["cfg"]["active"] is True


async def test_process_while_awaiting(client: httpx.AsyncClient, awaiting: tuple[str, DdmServer]) -> None:
    serial, ddm = awaiting
    response = await client.put(f"/emulator/v1/devices/{serial}/mdm/ddm", json={"while_awaiting": "process"})
    assert response.json()["while_awaiting"] == "process"
    ddm.put(TEST, "cfg", {"Echo": "x"})
    ddm.put(SIMPLE, "act", {"StandardConfigurations": ["cfg"]})
    command_uuid = ddm.sync()
    await poll(client, serial)
    assert ddm.results[command_uuid]["Status"] == "Acknowledged"
    # Declarations apply during Setup Assistant; the device still awaits DeviceConfigured.
    assert by_id(await state(client, serial))["cfg"]["active"] is True
    assert (await client.get(f"/emulator/v1/devices/{serial}/mdm")).json()["awaiting_configuration"] is True


async def test_bad_switch_and_unknown_device(
    client: httpx.AsyncClient, awaiting: tuple[str, DdmServer]
) -> None:
    serial, _ = awaiting
    response = await client.put(
        f"/emulator/v1/devices/{serial}/mdm/ddm", json={"while_awaiting": "sometimes"}
    )
    assert response.status_code == 422
    response = await client.get("/emulator/v1/devices/NOSUCHSERIAL1/mdm/ddm")
    assert response.status_code == 404
