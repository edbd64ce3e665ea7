"""`datahamn demo`: load the demo catalog into the configured database and object store."""

from __future__ import annotations

from typing import Annotated

import typer

DEMO_EPILOG = (
    "Example:\n\n    datahamn demo && datahamn serve\n\n"
    "    export DATAHAMN_TOKEN=$(datahamn tokens create demo-astrid)"
)


def demo(
    reset: Annotated[
        bool,
        typer.Option(
            "--reset",
            help="First delete the demo organisations, users and objects.",
        ),
    ] = False,
) -> None:
    """Load a demo catalog: three fictional partners, their admins and six datasets.

    The data is synthetic and generated on the spot; running it again adds only what is
    missing. The database is brought to the newest schema first.
    """
    from datahamn.cli._server import open_server
    from datahamn.demo import load_demo, reset_demo

    with open_server(upgrade=True) as server:
        store = server.store()
        if reset:
            for line in reset_demo(server.session_factory, store):
                typer.echo(f"removed {line}")
        summary = load_demo(server.session_factory, store)
    for line in summary.existing:
        typer.echo(f"exists: {line}")
    for line in summary.created:
        typer.echo(f"created {line}")
    state = "loaded" if summary.created else "already loaded; nothing to do"
    typer.echo(
        f"demo catalog {state}: {len(summary.organisations)} organisations, "
        f"{len(summary.datasets)} datasets, {summary.published_versions} published versions."
    )
    typer.echo(
        "Demo admins (one per organisation): " + ", ".join(summary.users) + ". "
        f"Get a token with `datahamn tokens create {summary.users[0]}`.",
    )
