"""pytest plugin (registered through the `pytest11` entry point): an emulator for contract tests.

Fixtures, all prefixed `depemu_`:
- `depemu_emulator` (session): an emulator on a free loopback port, on `DEPEMU_TEST_DATABASE_URL`
  or a throwaway embedded PostgreSQL; stopped at the end of the session.
- `depemu` (function): the same emulator, wiped (`POST /emulator/v1/reset`) after each test.
- `depemu_control`: its control-API client.
- `depemu_org`: a fresh organisation.
- `depemu_mdm_server`: an MDM server in that org with a key pair, a downloaded .p7m token and the
  decrypted OAuth credentials — what your DEP client needs.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from .harness import ControlClient, Emulator, MdmServerHandle, create_mdm_server, running_emulator


@pytest.fixture(scope="session")
def depemu_emulator() -> Iterator[Emulator]:
    with running_emulator() as emulator:
        yield emulator


@pytest.fixture
def depemu(depemu_emulator: Emulator) -> Iterator[Emulator]:
    try:
        yield depemu_emulator
    finally:
        depemu_emulator.control.reset()


@pytest.fixture
def depemu_control(depemu: Emulator) -> ControlClient:
    return depemu.control


@pytest.fixture
def depemu_org(depemu_control: ControlClient) -> dict[str, Any]:
    org: dict[str, Any] = depemu_control.post("/orgs", {"name": "Contract Test Org"})
    return org


@pytest.fixture
def depemu_mdm_server(
    depemu_control: ControlClient, depemu_org: dict[str, Any], tmp_path: Path
) -> MdmServerHandle:
    return create_mdm_server(depemu_control, depemu_org["id"], tmp_path / "mdm")
