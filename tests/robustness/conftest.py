"""Two real `dep-emulator serve` processes on the test database, shared by the robustness tests."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from app.testing.replicas import Replica, replicas


@pytest.fixture(scope="session")
def pair(database_url: str) -> Iterator[list[Replica]]:
    with replicas(database_url, 2) as started:
        yield started
