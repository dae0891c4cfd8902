"""The real servers and the test's own MDM endpoint that the device-setup tests enroll against,
one of each per test (tests/device_setup/real_servers.py builds NanoMDM and scepserver)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.device_setup.mdm_endpoint import MdmEndpoint, mdm_endpoint
from tests.device_setup.real_servers import NanoMdm, ScepServer, nanomdm, scep_server


@pytest.fixture
def endpoint() -> Iterator[MdmEndpoint]:
    """The test's own HTTPS endpoint: serves the enrollment profile, takes NanoMDM's webhook."""
    with mdm_endpoint() as running:
        yield running


@pytest.fixture
def scep() -> Iterator[ScepServer]:
    """micromdm's scepserver with a fresh CA and challenge."""
    with scep_server() as running:
        yield running


@pytest.fixture
def nano(scep: ScepServer, endpoint: MdmEndpoint) -> Iterator[NanoMdm]:
    """NanoMDM trusting the SCEP CA, its webhook pointed at `endpoint`."""
    with nanomdm(scep.ca_pem, webhook_url=endpoint.base_url + "/webhook") as running:
        yield running
