"""The app factory: wires settings, database, object store, identity and routers."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import timedelta

from fastapi import FastAPI
from starlette.concurrency import run_in_threadpool

from access.identity import principal_from_request
from catalog.db import make_engine, make_session_factory
from catalog.http_errors import install_error_handlers
from catalog.routes import api_router, health_router
from catalog.settings import Settings
from catalog.storage import open_store
from catalog.storage.routes import router as objects_router
from datahamn import __version__
from datahamn.migrate import upgrade_database
from datahamn.worker import start_in_thread
from ingest.jobs.routes import router as jobs_router
from ingest.quality_routes import router as quality_router
from ingest.routes import router as ingest_router
from ingest.uploads.tus import router as uploads_router

log = logging.getLogger(__name__)


def create_app(
    settings: Settings, *, upgrade_on_start: bool = True, run_worker: bool | None = None
) -> FastAPI:
    """Build the service. Nothing connects until the first request or the lifespan start.

    ``run_worker`` (default: DATAHAMN_EMBEDDED_WORKERS > 0) runs job workers inside the
    server process, so the embedded default needs no second process.
    """
    engine = make_engine(settings.resolved_database_url)
    workers = settings.embedded_workers if run_worker is None or run_worker else 0

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        if upgrade_on_start:
            await run_in_threadpool(upgrade_database, engine)
        stop, threads = (
            start_in_thread(
                app.state.session_factory,
                app.state.store,
                workers,
                rejected_retention=timedelta(hours=settings.rejected_retention_hours),
            )
            if workers
            else (None, [])
        )
        yield
        if stop is not None:
            stop.set()
            for thread in threads:
                await run_in_threadpool(thread.join, 30)
        engine.dispose()

    app = FastAPI(
        title="datahamn",
        version=__version__,
        description="Shared dataset catalog and data-sharing service.",
        lifespan=lifespan,
    )
    app.state.settings = settings
    app.state.engine = engine
    app.state.session_factory = make_session_factory(engine)
    app.state.store = open_store(settings)
    app.state.authenticate = principal_from_request
    install_error_handlers(app)
    app.include_router(health_router)
    app.include_router(api_router)
    app.include_router(objects_router)
    app.include_router(uploads_router)
    app.include_router(ingest_router)
    app.include_router(jobs_router)
    app.include_router(quality_router)
    return app
