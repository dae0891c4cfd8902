"""Fixtures of the DDM tests: a small DDM server and an iPhone enrolled in it."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from tests.device_ddm.ddm_server import DdmServer, ddm_server, enroll, pkcs12_profile
from tests.device_helpers import add_devices
from tests.device_setup import pki


@pytest.fixture
def ddm() -> Iterator[DdmServer]:
    with ddm_server() as server:
        yield server


@pytest.fixture
async def device(
    client: httpx.AsyncClient,
    mdm: httpx.AsyncClient,
    org: dict[str, Any],
    server: dict[str, Any],
    ddm: DdmServer,
) -> str:
    serial = (
        await add_devices(
            client, org_id=org["id"], server_uuid=server["server_uuid"], count=1, families=["iPhone"]
        )
    )[0]
    identity = pki.leaf(pki.ca("DDM test CA"), "ddm device", server=False)
    await enroll(client, mdm, serial, profile=pkcs12_profile(identity, server_url=ddm.base_url + "/mdm"))
    return serial
