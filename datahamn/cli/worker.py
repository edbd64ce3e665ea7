"""`datahamn worker`: drain the job queue (ingestion) in a process of its own."""

from __future__ import annotations

import signal
from datetime import timedelta
from typing import Annotated

import typer


def worker(
    threads: Annotated[
        int,
        typer.Option(
            envvar="DATAHAMN_WORKER_THREADS", min=1, max=16, help="Jobs this process runs at once."
        ),
    ] = 1,
) -> None:
    """Run job workers until SIGTERM or Ctrl-C; run as many processes as you like.

    A job whose worker dies is taken over by another once its lease (60 s) runs out.
    """
    from datahamn.memory import tune_allocators

    tune_allocators()  # first: before anything imports pyarrow
    from catalog.db import make_engine, make_session_factory
    from catalog.storage import open_store
    from datahamn.cli._server import load_settings
    from datahamn.migrate import upgrade_database
    from datahamn.worker import start_in_thread

    settings = load_settings()
    engine = make_engine(settings.resolved_database_url)
    upgrade_database(engine)
    stop, pool = start_in_thread(
        make_session_factory(engine),
        open_store(settings),
        threads,
        rejected_retention=timedelta(hours=settings.rejected_retention_hours),
    )

    def _stop(_signum: int, _frame: object) -> None:
        stop.set()

    signal.signal(signal.SIGTERM, _stop)
    signal.signal(signal.SIGINT, _stop)
    typer.echo(f"worker: {threads} thread(s) draining the job queue; SIGTERM stops", err=True)
    while any(t.is_alive() for t in pool):
        for thread in pool:
            thread.join(0.5)
    engine.dispose()


WORKER_EPILOG = (
    "Example:\n\n    DATAHAMN_DATABASE_URL=postgresql+psycopg://… datahamn worker --threads 2"
)
