"""The application factory and its lifespan (engine, embedded database, migrations)."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI

from . import __version__
from .api import api_router, fast_lane_routes
from .churn.worker import churn_worker
from .console.docs import install_docs
from .console.middleware import RootRedirectMiddleware
from .console.router import console_router, static_files
from .core import driver, embedded_pg, keys, migrate
from .core.body_limit import BodySizeLimitMiddleware
from .core.config import Settings, get_settings
from .core.db import create_engine, create_sessionmaker
from .core.errors import register_error_handlers
from .core.fast_lane import FastLane
from .core.logging import configure_logging
from .core.openapi import install_openapi
from .core.resilience import ResilienceMiddleware
from .device_mdm.worker import poll_worker
from .journal.writer import JournalWriter
from .observability.metrics import Metrics
from .observability.middleware import ObservabilityMiddleware
from .seed import loader as seed_loader
from .traffic.middleware import TrafficMiddleware

logger = logging.getLogger("dep_emulator")


def create_app(settings: Settings | None = None, *, run_migrations: bool | None = None) -> FastAPI:
    """Build the app. Nothing touches the database until the lifespan starts.

    Also the factory each worker of `serve --workers N` calls with no arguments (settings from
    the environment the parent prepared: dep_emulator.cli.workers).
    """
    settings = settings or get_settings()
    if run_migrations is None:
        run_migrations = settings.migrate_on_start
    configure_logging(settings.log_level, settings.log_format)
    keys.configure(settings.device_key_pool)

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        embedded = None
        url = settings.async_database_url
        if url is None:
            embedded = await asyncio.to_thread(embedded_pg.start, settings.data_dir)
            url = embedded.url
        if run_migrations:
            await asyncio.to_thread(migrate.upgrade, url)
        engine = create_engine(
            url, pool_size=settings.db_pool_size, connect_timeout=settings.db_connect_timeout_seconds
        )
        app.state.engine = engine
        app.state.sessionmaker = create_sessionmaker(engine)
        app.state.driver_pool = await driver.create_pool(
            url, max_size=settings.db_pool_size * 2, connect_timeout=settings.db_connect_timeout_seconds
        )
        metrics.watch_pool(engine)
        metrics.watch_hot_pool(app.state.driver_pool)
        worker = None
        poller = None
        try:
            if settings.seed_file is not None:
                await seed_loader.load_file(app.state.sessionmaker, settings.seed_file, settings=settings)
            if settings.churn_poll_seconds > 0:
                worker = churn_worker(
                    app.state.sessionmaker,
                    poll_seconds=settings.churn_poll_seconds,
                    max_per_tick=settings.churn_max_events_per_tick,
                )
                worker.start()
            if settings.mdm_poll_loop_seconds > 0:
                poller = poll_worker(app.state.sessionmaker, settings=settings)
                poller.start()
            logger.info("dep-emulator ready", extra={"embedded_database": embedded is not None})
            yield
        finally:
            if worker is not None:
                await worker.stop()
            if poller is not None:
                await poller.stop()
            await app.state.driver_pool.close()
            await engine.dispose()
            if embedded is not None:
                await asyncio.to_thread(embedded.stop)

    app = FastAPI(
        title="dep-emulator",
        version=__version__,
        summary="Apple's device-enrollment (DEP/ADE) web service, emulated for MDM testing.",
        lifespan=lifespan,
        docs_url=None,  # served offline by dep_emulator.console.docs
        redoc_url=None,
    )
    app.state.settings = settings
    metrics = Metrics()
    app.state.metrics = metrics
    app.state.journal_writer = JournalWriter(app.state, settings)
    # Added last runs first: observe everything, then refuse oversized bodies, then faults,
    # traffic rules and the journal (app/traffic; outside the retries, so a retried request
    # consumes a fault or a budget once), then retry/503, then the DEP calls made most straight
    # to their handlers (dep_emulator.core.fast_lane).
    app.state.fast_lane = fast_lane_routes()
    app.add_middleware(FastLane)
    app.add_middleware(ResilienceMiddleware)
    app.add_middleware(TrafficMiddleware)
    app.add_middleware(BodySizeLimitMiddleware, max_bytes=settings.max_body_bytes)
    app.add_middleware(ObservabilityMiddleware, metrics=metrics)
    app.add_middleware(RootRedirectMiddleware)  # a browser's GET / opens the console
    register_error_handlers(app, settings)
    app.include_router(api_router)
    app.include_router(console_router)
    app.mount("/console/static", static_files, name="console-static")
    install_docs(app)
    install_openapi(app)
    return app
