"""`datahamn db`: the metadata database."""

from __future__ import annotations

import typer

app = typer.Typer(
    help="Manage the metadata database.",
    epilog="Example: datahamn db upgrade",
    no_args_is_help=True,
)


@app.command(
    "upgrade",
    epilog="Example:\n\n    DATAHAMN_DATABASE_URL=postgresql+psycopg://"
    "datahamn:secret@db/datahamn datahamn db upgrade",
)
def upgrade() -> None:
    """Migrate the database to the newest schema and load the shipped SPDX licence list.

    Safe to run again: it changes only what is missing or outdated.
    """
    from sqlalchemy import func, select

    from catalog.models import Licence
    from datahamn.cli._server import display_url, open_server

    with open_server(upgrade=True) as server, server.session() as session:
        licences = session.scalar(select(func.count(Licence.id))) or 0
        url = display_url(server.settings.resolved_database_url)
    typer.echo(f"database {url} is at the newest schema, with {licences} SPDX licences")
