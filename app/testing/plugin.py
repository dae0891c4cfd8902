"""pytest plugin (registered through the `pytest11` entry point): an emulator for contract tests.

Fixtures, all prefixed `depemu_` (`pytest --fixtures` shows each one's contract):
`depemu_emulator` (session), `depemu` (wiped after each test), `depemu_control`, `depemu_org`,
`depemu_mdm_server`. Options (`pytest --help`, group "dep-emulator"): `--depemu-url` /
`DEPEMU_PLUGIN_URL` to use an emulator that is already running instead of starting one, and
`--depemu-admin-token` / `DEPEMU_ADMIN_TOKEN` for its control API.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from .harness import (
    ControlClient,
    Emulator,
    MdmServerHandle,
    create_mdm_server,
    external_emulator,
    running_emulator,
)

URL_VARIABLE = "DEPEMU_PLUGIN_URL"
TOKEN_VARIABLE = "DEPEMU_ADMIN_TOKEN"


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("dep-emulator", "dep-emulator (Apple DEP/ADE emulator for contract tests)")
    group.addoption(
        "--depemu-url",
        default=None,
        metavar="URL",
        help=f"use the emulator already running at URL instead of starting one (env {URL_VARIABLE}); "
        "every test still ends with POST /emulator/v1/reset, so point it at an instance you may wipe",
    )
    group.addoption(
        "--depemu-admin-token",
        default=None,
        metavar="TOKEN",
        help=f"bearer token for that emulator's control API (env {TOKEN_VARIABLE})",
    )


def _option(config: pytest.Config, name: str, variable: str) -> str | None:
    value: str | None = config.getoption(name) or os.environ.get(variable) or None
    return value


@pytest.fixture(scope="session")
def depemu_emulator(pytestconfig: pytest.Config) -> Iterator[Emulator]:
    """The emulator for this test session (session scope; prefer `depemu`, which wipes it after each test).

    Started on a free loopback port over `DEPEMU_TEST_DATABASE_URL` or a throwaway embedded PostgreSQL,
    and stopped at the end of the session; or, with `--depemu-url URL` / `DEPEMU_PLUGIN_URL`, the
    emulator already running there (checked with /readyz, never stopped).
    """
    url = _option(pytestconfig, "depemu_url", URL_VARIABLE)
    token = _option(pytestconfig, "depemu_admin_token", TOKEN_VARIABLE)
    if url:
        with external_emulator(url, token) as emulator:
            yield emulator
    else:
        with running_emulator(**({"admin_token": token} if token else {})) as emulator:
            yield emulator


@pytest.fixture
def depemu(depemu_emulator: Emulator) -> Iterator[Emulator]:
    """The session's emulator, wiped (`POST /emulator/v1/reset`: orgs, devices, clock, faults, journal)
    after the test, so each test starts from nothing. Has `base_url` and `control`."""
    try:
        yield depemu_emulator
    finally:
        depemu_emulator.control.reset()


@pytest.fixture
def depemu_control(depemu: Emulator) -> ControlClient:
    """A synchronous client for the emulator's control API (`/emulator/v1`) that raises on any error
    answer: `get`, `post`, `put`, `delete`, `advance_clock(seconds)`, `reset()`."""
    return depemu.control


@pytest.fixture
def depemu_org(depemu_control: ControlClient) -> dict[str, Any]:
    """A fresh organisation ("Contract Test Org") as the control API returns it; `["id"]` is its
    customer number (the `org_id` that `/account` reports)."""
    org: dict[str, Any] = depemu_control.post("/orgs", {"name": "Contract Test Org"})
    return org


@pytest.fixture
def depemu_mdm_server(
    depemu_control: ControlClient, depemu_org: dict[str, Any], tmp_path: Path
) -> MdmServerHandle:
    """An MDM server in `depemu_org`, set up as an admin does it: a key pair made with `openssl`, the
    certificate uploaded, the .p7m server token downloaded and decrypted. `.credentials` holds the
    OAuth 1.0a consumer key/secret and access token/secret your DEP client signs `/session` with;
    `.server_uuid`, `.key_path`, `.certificate_path` and `.token_path` the rest."""
    return create_mdm_server(depemu_control, depemu_org["id"], tmp_path / "mdm")
