"""Operations: the `dep-emulator` command on an embedded database, and the migrations."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import dep_emulator
import httpx
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from dep_emulator.core import embedded_pg, migrate
from dep_emulator.models import Base
from dep_emulator.testing.server import free_port


def serve_process(argv: list[str], data_dir: Path, **env_extra: str) -> tuple[subprocess.Popen[bytes], int]:
    """Start a serving command on a free port; returns it once /readyz answers 200."""
    port = free_port()
    # No XDG_RUNTIME_DIR, as in a container: no third-party warning may reach the output.
    env = {k: v for k, v in os.environ.items() if not k.startswith("DEPEMU_") and k != "XDG_RUNTIME_DIR"}
    env.update({"DEPEMU_DATA_DIR": str(data_dir), "DEPEMU_PORT": str(port), **env_extra})
    process = subprocess.Popen(
        [sys.executable, "-m", *argv, "--port", str(port)],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
    )
    deadline = time.monotonic() + 60
    while True:
        try:
            response = httpx.get(f"http://127.0.0.1:{port}/readyz", timeout=2)
            if response.status_code == 200:
                assert response.json() == {"status": "ok"}
                return process, port
        except httpx.HTTPError:
            pass
        if process.poll() is not None or time.monotonic() > deadline:
            process.kill()
            raise AssertionError(f"{argv} did not become ready: {process.stdout.read().decode()}")  # type: ignore[union-attr]
        time.sleep(0.2)


def stop(process: subprocess.Popen[bytes]) -> str:
    process.terminate()
    # uvicorn drains, runs the lifespan shutdown, then re-raises SIGTERM (exit -15).
    assert process.wait(timeout=30) in (0, -15)
    return process.stdout.read().decode() if process.stdout else ""


def test_serve_starts_on_an_embedded_database_and_stops_cleanly() -> None:
    # Not pytest's tmp_path: its 0700 parents can keep the unprivileged postgres user (used when
    # running as root) out. pgserver makes the directories it is given traversable.
    tmp_path = Path(tempfile.mkdtemp(prefix="depemu-serve-"))
    process, port = serve_process(["dep_emulator", "serve"], tmp_path, DEPEMU_LOG_FORMAT="json")
    try:
        org = httpx.post(f"http://127.0.0.1:{port}/emulator/v1/orgs", json={"name": "Persisted"}, timeout=5)
        assert org.status_code == 201
    finally:
        output = stop(process)
    lines = [json.loads(line) for line in output.splitlines()]  # every line one JSON object
    messages = [line["msg"] for line in lines]
    for expected in (
        "Started server process",
        "Uvicorn running on",
        "Shutting down",
        "Application shutdown complete",
    ):
        assert any(m.startswith(expected) for m in messages), messages
    assert all("\x1b[" not in json.dumps(line) for line in lines)  # no terminal colours in a log
    assert (tmp_path / "pgdata" / "PG_VERSION").exists()
    shutil.rmtree(tmp_path, ignore_errors=True)


def test_the_asgi_factory_runs_under_a_users_own_uvicorn() -> None:
    tmp_path = Path(tempfile.mkdtemp(prefix="depemu-factory-"))
    process, port = serve_process(["uvicorn", "--factory", "dep_emulator.main:create_app"], tmp_path)
    try:
        account = httpx.get(f"http://127.0.0.1:{port}/account", headers={"User-Agent": "t/1"}, timeout=5)
        assert account.status_code == 401  # Apple's answer without a session: the DEP API is mounted
        info = httpx.get(f"http://127.0.0.1:{port}/openapi.json", timeout=5).json()["info"]
        assert info["version"] == dep_emulator.__version__
    finally:
        stop(process)
    shutil.rmtree(tmp_path, ignore_errors=True)


def test_bad_settings_fail_fast(tmp_path: Path) -> None:
    env = {**os.environ, "DEPEMU_PORT": "not-a-port", "DEPEMU_DATA_DIR": str(tmp_path)}
    result = subprocess.run(
        [sys.executable, "-m", "dep_emulator.cli", "serve"],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode != 0
    assert "DEPEMU_PORT" in result.stderr


def test_migrations_match_the_models_and_round_trip() -> None:
    """On a database of its own: a downgrade to base must not race other tests' replicas and workers."""
    import asyncio

    from sqlalchemy.ext.asyncio import create_async_engine

    database = embedded_pg.start(Path(tempfile.mkdtemp(prefix="depemu-migrations-")), cleanup_mode="delete")
    try:
        migrate.upgrade(database.url)
        migrate.downgrade(database.url, "base")
        migrate.upgrade(database.url)

        async def diff() -> list[object]:
            async_engine = create_async_engine(database.url)
            try:
                async with async_engine.connect() as connection:
                    return await connection.run_sync(
                        lambda sync: compare_metadata(MigrationContext.configure(sync), Base.metadata)
                    )
            finally:
                await async_engine.dispose()

        assert asyncio.run(diff()) == []
    finally:
        database.stop()
