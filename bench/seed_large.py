"""Seed-file benchmark: `python bench/seed_large.py [--file examples/staging-100k.yaml] [--database-url URL]`.

Loads the 100,000-device staging example into a throwaway embedded PostgreSQL (or the given
database, which should be empty) exactly as `dep-emulator serve --seed` does at start-up,
prints the load time, then loads it a second time (nothing may change) and prints that time
and the row counts. Not part of the default test suite: it takes tens of seconds.
"""

from __future__ import annotations

import sys

# bench/http.py is named like the standard library's `http`, and Python puts this folder first on
# the import path to run a script from it: take it off (httpx and aiohttp import http.client).
sys.path.pop(0)

import argparse
import asyncio
import sys
import tempfile
import time
from pathlib import Path

import asyncpg

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from dep_emulator.core import embedded_pg, migrate
from dep_emulator.core.config import Settings
from dep_emulator.core.db import create_engine, create_sessionmaker
from dep_emulator.seed import loader

ROOT = Path(__file__).resolve().parents[1]
COUNTS = {
    "orgs": "SELECT count(*) FROM org",
    "mdm_servers": "SELECT count(*) FROM mdm_server",
    "devices": "SELECT count(*) FROM device",
    "assigned": "SELECT count(*) FROM device WHERE server_id IS NOT NULL",
    "feed_events": "SELECT count(*) FROM device_event",
    "faults": "SELECT count(*) FROM fault_script",
    "churn_schedules": "SELECT count(*) FROM churn_schedule",
}


async def bench(path: Path, url: str) -> int:
    settings = Settings(database_url=url, log_level="WARNING", log_format="text")
    engine = create_engine(url)
    sessionmaker = create_sessionmaker(engine)
    try:
        start = time.perf_counter()
        first = await loader.load_file(sessionmaker, path, settings=settings)
        first_seconds = time.perf_counter() - start
        start = time.perf_counter()
        second = await loader.load_file(sessionmaker, path, settings=settings)
        second_seconds = time.perf_counter() - start
    finally:
        await engine.dispose()
    conn = await asyncpg.connect(url.replace("postgresql+asyncpg://", "postgresql://", 1))
    try:
        counts = {name: await conn.fetchval(sql) for name, sql in COUNTS.items()}
    finally:
        await conn.close()
    print(f"seed file       {path}")  # noqa: T201
    print(f"first load      {first_seconds:8.2f} s   (changed: {first.changed})")  # noqa: T201
    print(f"second load     {second_seconds:8.2f} s   (changed: {second.changed}, must be False)")  # noqa: T201
    for name, value in counts.items():
        print(f"{name:<15} {value:>10,}")  # noqa: T201
    return 0 if first.changed and not second.changed else 1


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--file", type=Path, default=ROOT / "examples" / "staging-100k.yaml")
    parser.add_argument("--database-url", help="an empty PostgreSQL database (default: embedded, throwaway)")
    args = parser.parse_args()
    embedded = None
    url = args.database_url
    if url is None:
        embedded = embedded_pg.start(
            Path(tempfile.mkdtemp(prefix="depemu-seed-bench-")), cleanup_mode="delete"
        )
        url = embedded.url
    url = Settings(database_url=url).async_database_url
    assert url is not None
    try:
        migrate.upgrade(url)
        return asyncio.run(bench(args.file, url))
    finally:
        if embedded is not None:
            embedded.stop()


if __name__ == "__main__":
    raise SystemExit(main())
