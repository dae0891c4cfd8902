"""Fixtures for device tests: a second MDM server of the same org, with its own DEP client."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any

import httpx
import pytest
from dep_emulator.testing.dep_client import dep_client
from fastapi import FastAPI

from tests.conftest import BASE_URL, create_server, issue_credentials


@dataclass
class OtherServer:
    server: dict[str, Any]
    mdm: httpx.AsyncClient


@pytest.fixture
async def other(app: FastAPI, client: httpx.AsyncClient, org: dict[str, Any]) -> AsyncIterator[OtherServer]:
    server = await create_server(client, org["id"], server_name="Other MDM")
    credentials = await issue_credentials(client, server["server_uuid"])
    async with dep_client(credentials, base_url=BASE_URL, transport=httpx.ASGITransport(app=app)) as mdm:
        yield OtherServer(server, mdm)
