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
) -> None:
    """Run the API server; it brings the database to the newest schema before it listens.

    Settings come from DATAHAMN_* variables (see docs/configuration.md).
    """
    import uvicorn

    from datahamn.app import create_app
    from datahamn.cli._server import load_settings

    settings = load_settings()
    uvicorn.run(create_app(settings), host=host, port=port, log_level=settings.log_level.lower())


SERVE_EPILOG = "Example:\n\n    DATAHAMN_HOME=~/datahamn datahamn serve --host 0.0.0.0 --port 8000"
