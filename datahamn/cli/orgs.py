"""`datahamn orgs`: partner organisations (operator commands, run on the server)."""

from __future__ import annotations

from typing import Annotated

import typer
from rich.console import Console
from rich.table import Table

app = typer.Typer(
    help="Create and list partner organisations (runs against the configured database).",
    epilog="Example: datahamn orgs create norrvik-vader --title 'Norrvik Weather Office'",
    no_args_is_help=True,
)


@app.command(
    "create",
    epilog="Example:\n\n    datahamn orgs create norrvik-vader --title 'Norrvik Weather Office' "
    "--homepage https://weather.example.org",
)
def create(
    name: Annotated[
        str,
        typer.Argument(
            help="Short name used in URLs: 2-100 lower-case letters, digits, '-' and '_'.",
            show_default=False,
        ),
    ],
    title: Annotated[str, typer.Option("--title", help="Display name.", show_default=False)],
    description: Annotated[str, typer.Option(help="Markdown description.")] = "",
    homepage: Annotated[
        str | None, typer.Option(help="https:// URL of the organisation.", show_default=False)
    ] = None,
) -> None:
    """Create an organisation (no permission check: whoever runs this operates the server)."""
    from catalog.organisations import insert_organisation
    from catalog.schemas import OrganisationCreate
    from datahamn.cli._server import check_slug, open_server

    check_slug(name, "organisation name")
    # The API's own input model, so the CLI accepts exactly what POST /organisations accepts.
    body = OrganisationCreate(name=name, title=title, description=description, homepage=homepage)
    with open_server() as server, server.session() as session:
        insert_organisation(session, **body.model_dump())
    typer.echo(f"created organisation {name}")


@app.command("list", epilog="Example:\n\n    datahamn orgs list")
def list_() -> None:
    """List every organisation with its number of members and datasets."""
    from sqlalchemy import func, select

    from catalog.models import Dataset, Membership, Organisation
    from datahamn.cli._server import open_server

    members = (
        select(func.count()).where(Membership.organisation_id == Organisation.id).scalar_subquery()
    )
    datasets = (
        select(func.count()).where(Dataset.organisation_id == Organisation.id).scalar_subquery()
    )
    with open_server() as server, server.session() as session:
        rows = session.execute(
            select(Organisation.name, Organisation.title, members, datasets).order_by(
                Organisation.name
            )
        ).all()
    if not rows:
        typer.echo("no organisations yet; create one with `datahamn orgs create`", err=True)
        return
    table = Table("Name", "Title", "Members", "Datasets")
    for name, title, n_members, n_datasets in rows:
        table.add_row(name, title, str(n_members), str(n_datasets))
    Console().print(table)
