"""What the traffic middleware costs per request: database round trips and latency.

    DEPEMU_DATABASE_URL=postgresql://... python bench/middleware.py [requests]

(without DEPEMU_DATABASE_URL an embedded PostgreSQL is started). Runs GET /account through
the ASGI app three ways: without the middleware, with rules off, and with the strict preset
(budgets, concurrency slot). Round trips are counted on the engine: statements, BEGIN and
COMMIT/ROLLBACK, and the pool's pre-ping on each checkout.
"""

from __future__ import annotations

import sys

# bench/http.py is named like the standard library's `http`, and Python puts this folder first on
# the import path to run a script from it: take it off (httpx and aiohttp import http.client).
sys.path.pop(0)

import asyncio
import os
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import asyncpg
import asyncpg.prepared_stmt
import httpx
from asgi_lifespan import LifespanManager

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

from dep_emulator.core import embedded_pg, migrate
from dep_emulator.core.config import Settings
from dep_emulator.main import create_app
from dep_emulator.testing.dep_client import OAuthCredentials, dep_client
from dep_emulator.traffic.middleware import TrafficMiddleware


class RoundTrips:
    """Counts requests sent to PostgreSQL by asyncpg: statements (incl. BEGIN/COMMIT and the
    pool's pre-ping), and prepares that missed SQLAlchemy's statement cache."""

    def __init__(self) -> None:
        self.count = 0
        targets = [
            (asyncpg.connection.Connection, ("execute", "fetch", "fetchrow", "fetchval", "prepare")),
            (asyncpg.prepared_stmt.PreparedStatement, ("fetch", "fetchrow", "fetchval", "executemany")),
        ]
        for cls, names in targets:
            for name in names:
                setattr(cls, name, self._counted(getattr(cls, name)))

    def _counted(self, method: Any) -> Any:
        async def wrapper(*args: Any, **kwargs: Any) -> Any:
            self.count += 1
            if os.environ.get("BENCH_TRACE"):
                print("  RT", method.__qualname__, str(args[1:2])[:90])  # noqa: T201
            return await method(*args, **kwargs)

        return wrapper


COUNTER = RoundTrips()


async def run(url: str, label: str, n: int, *, middleware: bool, preset: str) -> None:
    settings = Settings(database_url=url, log_level="WARNING", log_format="text", traffic_preset=preset)  # type: ignore[arg-type]
    app = create_app(settings, run_migrations=False)
    if not middleware:
        app.user_middleware = [m for m in app.user_middleware if m.cls is not TrafficMiddleware]
    async with LifespanManager(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://bench") as admin:
            org = (await admin.post("/emulator/v1/orgs", json={"name": "Bench"})).json()
            if preset == "strict":
                rules = {"overrides": {"budgets": {"account": {"requests": 1_000_000, "per_seconds": 1}}}}
                await admin.put(f"/emulator/v1/orgs/{org['id']}/traffic-rules", json=rules)
            server = (
                await admin.post(f"/emulator/v1/orgs/{org['id']}/mdm-servers", json={"server_name": label})
            ).json()
            creds = (
                await admin.post(f"/emulator/v1/mdm-servers/{server['server_uuid']}/oauth-credentials")
            ).json()
        counter = COUNTER
        async with dep_client(
            OAuthCredentials.from_json(creds), base_url="http://bench", transport=transport
        ) as mdm:
            assert (await mdm.get("/account")).status_code == 200  # session opened, warm
            counter.count = 0
            started = time.perf_counter()
            for _ in range(n):
                response = await mdm.get("/account")
                assert response.status_code == 200, response.text
            elapsed = time.perf_counter() - started
    print(f"{label:28} {counter.count / n:6.2f} round trips/request  {elapsed / n * 1000:7.2f} ms/request")  # noqa: T201


async def main() -> None:
    n = int(sys.argv[1]) if len(sys.argv) > 1 else 300
    url = Settings().async_database_url
    embedded = None
    if url is None:
        embedded = embedded_pg.start(Path(tempfile.mkdtemp(prefix="depemu-bench-")), cleanup_mode="delete")
        url = Settings(database_url=embedded.url).async_database_url
    assert url is not None
    await asyncio.to_thread(migrate.upgrade, url)
    try:
        await run(url, "no middleware", n, middleware=False, preset="off")
        await run(url, "middleware, rules off", n, middleware=True, preset="off")
        await run(url, "middleware, strict preset", n, middleware=True, preset="strict")
    finally:
        if embedded is not None:
            embedded.stop()


if __name__ == "__main__":
    asyncio.run(main())
