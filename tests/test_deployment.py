"""The container files: compose services, health checks, settings; the Dockerfile's essentials."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml
from dep_emulator.core.config import Settings

ROOT = Path(__file__).resolve().parent.parent


def compose() -> dict[str, Any]:
    data: dict[str, Any] = yaml.safe_load((ROOT / "compose.yaml").read_text())
    return data


def test_compose_has_postgres_two_replicas_and_a_proxy() -> None:
    services = compose()["services"]
    assert set(services) == {"db", "emulator-1", "emulator-2", "proxy"}
    assert services["db"]["image"].startswith("postgres:")
    for name in ("emulator-1", "emulator-2"):
        replica = services[name]
        assert replica["build"] == "."
        assert replica["depends_on"]["db"]["condition"] == "service_healthy"
        assert "/readyz" in " ".join(replica["healthcheck"]["test"])
    assert services["proxy"]["depends_on"] == {
        "emulator-1": {"condition": "service_healthy"},
        "emulator-2": {"condition": "service_healthy"},
    }
    assert all("healthcheck" in service for service in services.values())


def test_compose_settings_are_real_settings() -> None:
    environment = compose()["services"]["emulator-1"]["environment"]
    known = {f"DEPEMU_{name.upper()}" for name in Settings.model_fields}
    assert set(environment) <= known
    assert environment["DEPEMU_DATABASE_URL"].startswith("postgresql+asyncpg://depemu:depemu@db:5432/")
    assert "DEPEMU_PUBLIC_BASE_URL" in environment and "DEPEMU_ADMIN_TOKEN" in environment
    # a container's output is not a terminal, so JSON would be chosen anyway; the file says so (issue 33)
    assert environment["DEPEMU_LOG_FORMAT"] == "json"
    # every replica at its burst (5x the pool) within postgres's default 100 connections, 10 to spare
    replicas = [s for s in compose()["services"] if s.startswith("emulator-")]
    assert len(replicas) * 5 * int(environment["DEPEMU_DB_POOL_SIZE"]) <= 100 - 10


def test_proxy_balances_over_both_replicas() -> None:
    conf = (ROOT / "deploy" / "nginx.conf").read_text()
    assert "server emulator-1:8080;" in conf and "server emulator-2:8080;" in conf
    assert "proxy_set_header Host $http_host;" in conf  # OAuth signatures cover the host
    mount = compose()["services"]["proxy"]["volumes"][0]
    assert mount.startswith("./deploy/nginx.conf:")


def test_dockerfile_runs_as_non_root_with_a_healthcheck() -> None:
    dockerfile = (ROOT / "Dockerfile").read_text()
    assert dockerfile.count("FROM ") == 2  # multi-stage
    assert "USER depemu" in dockerfile
    assert "HEALTHCHECK" in dockerfile and "/readyz" in dockerfile
    assert 'CMD ["dep-emulator", "serve"]' in dockerfile
