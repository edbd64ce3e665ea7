"""The ``datahamn`` command: operator commands for the server and client commands over HTTP.

Server commands (serve, db, orgs, users, tokens, demo) import the server stack inside their
function bodies; importing this package pulls in only typer, rich and httpx, so the client
commands (``datahamn datasets …``) run with the base install.
"""

from __future__ import annotations

import typer

from datahamn import __version__
from datahamn.cli import datasets, db, jobs, orgs, tokens, users
from datahamn.cli._errors import DatahamnGroup
from datahamn.cli.demo import DEMO_EPILOG, demo
from datahamn.cli.ingest import INGEST_EPILOG, ingest
from datahamn.cli.serve import SERVE_EPILOG, serve
from datahamn.cli.worker import WORKER_EPILOG, worker

app = typer.Typer(
    cls=DatahamnGroup,
    name="datahamn",
    help="datahamn: the partner network's shared dataset catalog.\n\n"
    "Server commands read DATAHAMN_* settings (docs/configuration.md); client commands talk "
    "to DATAHAMN_URL with DATAHAMN_TOKEN.",
    epilog="Example: datahamn demo && datahamn serve, then in another shell: "
    "datahamn datasets list",
    no_args_is_help=True,
    add_completion=False,
    # Unexpected errors (bugs) keep a plain traceback; rich's pretty one is long and, with
    # locals, could print secrets from settings.
    pretty_exceptions_enable=False,
)


def _version(value: bool) -> None:
    if value:
        typer.echo(f"datahamn {__version__}")
        raise typer.Exit()


@app.callback()
def _root(
    version: bool = typer.Option(
        False,
        "--version",
        callback=_version,
        is_eager=True,
        help="Print the version and exit.",
    ),
) -> None:
    """datahamn: the partner network's shared dataset catalog."""


app.command("serve", epilog=SERVE_EPILOG)(serve)
app.command("demo", epilog=DEMO_EPILOG)(demo)
app.command("worker", epilog=WORKER_EPILOG)(worker)
app.command("ingest", epilog=INGEST_EPILOG)(ingest)
app.add_typer(db.app, name="db")
app.add_typer(orgs.app, name="orgs")
app.add_typer(users.app, name="users")
app.add_typer(tokens.app, name="tokens")
app.add_typer(datasets.app, name="datasets")
app.add_typer(jobs.app, name="jobs")


def main() -> None:
    """Console-script entry point (``datahamn = "datahamn.cli:main"``)."""
    app(prog_name="datahamn")


__all__ = ["app", "main"]
