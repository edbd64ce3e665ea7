"""`datahamn serve`: run the API server."""

from __future__ import annotations

from typing import Annotated

import typer


def serve(
    # Not DATAHAMN_HOST/DATAHAMN_PORT: Kubernetes sets DATAHAMN_PORT=tcp://… for a Service
    # named "datahamn", which would break the port's parsing.
    host: Annotated[
        str,
        typer.Option(
            envvar="DATAHAMN_SERVE_HOST",
            help="Interface to listen on; 0.0.0.0 for all.",
        ),
    ] = "127.0.0.1",
    port: Annotated[
        int,
        typer.Option(
            envvar="DATAHAMN_SERVE_PORT",
            min=1,
            max=65535,
            help="TCP port to listen on.",
        ),
    ] = 8000,
    workers: Annotated[
        int,
        typer.Option(
            envvar="DATAHAMN_SERVE_WORKERS",
            min=1,
            max=64,
            help="Server processes sharing the port (about one per CPU core).",
        ),
    ] = 1,
) -> None:
    """Run the API server; it brings the database to the newest schema before it listens.

    Settings come from DATAHAMN_* variables (see docs/configuration.md).
    """
    from datahamn.memory import tune_allocators

    tune_allocators()  # first: before anything imports pyarrow (child processes inherit it)
    import logging

    import uvicorn

    from datahamn.app import create_app
    from datahamn.cli._errors import CliError
    from datahamn.cli._server import load_settings

    settings = load_settings()
    log_level = settings.log_level.lower()
    if workers == 1:
        uvicorn.run(create_app(settings), host=host, port=port, log_level=log_level)
        return

    from catalog.db import make_engine
    from datahamn.migrate import upgrade_database
    from datahamn.processes import Supervisor, check_port_free

    try:
        check_port_free(host, port)
    except OSError as exc:
        raise CliError(f"cannot listen on {host}:{port}: {exc.strerror}") from exc
    engine = make_engine(settings.resolved_database_url)
    try:
        upgrade_database(engine)  # once here, so that the processes do not race on it
    finally:
        engine.dispose()
    logging.basicConfig(level=settings.log_level.upper(), format="%(levelname)s:     %(message)s")
    failed = Supervisor(workers, host=host, port=port, log_level=log_level).run()
    if failed is not None:
        raise CliError(failed)


SERVE_EPILOG = (
    "Example:\n\n    DATAHAMN_HOME=~/datahamn datahamn serve --host 0.0.0.0 --port 8000 --workers 2"
)
