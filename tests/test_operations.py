"""Operations: the `dep-emulator` command on an embedded database, and the migrations."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from dep_emulator.core import embedded_pg, migrate
from dep_emulator.models import Base
from dep_emulator.testing.server import free_port


def test_serve_starts_on_an_embedded_database_and_stops_cleanly() -> None:
    # Not pytest's tmp_path: its 0700 parents can keep the unprivileged postgres user (used when
    # running as root) out. pgserver makes the directories it is given traversable.
    tmp_path = Path(tempfile.mkdtemp(prefix="depemu-serve-"))
    port = free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("DEPEMU_")}
    env.update({"DEPEMU_LOG_FORMAT": "json"})
    process = subprocess.Popen(
        [sys.executable, "-m", "dep_emulator.cli", "serve", "--port", str(port), "--data-dir", str(tmp_path)],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
    )
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                response = httpx.get(f"http://127.0.0.1:{port}/readyz", timeout=2)
                if response.status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            assert process.poll() is None, process.stdout.read().decode() if process.stdout else ""
            assert time.monotonic() < deadline, "serve did not become ready"
            time.sleep(0.2)
        assert response.json() == {"status": "ok"}
        org = httpx.post(f"http://127.0.0.1:{port}/emulator/v1/orgs", json={"name": "Persisted"}, timeout=5)
        assert org.status_code == 201
    finally:
        process.terminate()
        # uvicorn drains, runs the lifespan shutdown, then re-raises SIGTERM (exit -15).
        assert process.wait(timeout=30) in (0, -15)
    output = process.stdout.read().decode() if process.stdout else ""
    assert "Application shutdown complete" in output, output
    assert (tmp_path / "pgdata" / "PG_VERSION").exists()
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
