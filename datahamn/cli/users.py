"""`datahamn users`: user accounts and their role in an organisation (operator commands)."""

from __future__ import annotations

import enum
from typing import Annotated

import typer

app = typer.Typer(
    help="Create users and give them a role in an organisation.",
    epilog="Example: datahamn users create alice --email alice@example.org --org norrvik-vader "
    "--role admin",
    no_args_is_help=True,
)


class RoleChoice(enum.StrEnum):
    """The values of catalog.models.Role, repeated so `--help` needs no SQLAlchemy import
    (a test keeps the two equal)."""

    admin = "admin"
    publisher = "publisher"
    member = "member"


@app.command(
    "create",
    epilog="Examples:\n\n"
    "    datahamn users create alice --email alice@example.org --org norrvik-vader --role admin"
    "\n\n    datahamn users create root --email ops@example.org --sysadmin",
)
def create(
    username: Annotated[
        str,
        typer.Argument(
            help="Login name: 2-100 lower-case letters, digits, '-' and '_'.",
            show_default=False,
        ),
    ],
    email: Annotated[str, typer.Option("--email", help="E-mail address.", show_default=False)],
    org: Annotated[
        str | None,
        typer.Option(
            "--org",
            help="Make the user a member of this organisation.",
            show_default=False,
        ),
    ] = None,
    role: Annotated[
        RoleChoice | None,
        typer.Option(
            help="Role in --org (default: member).",
            show_default=False,
        ),
    ] = None,
    full_name: Annotated[str, typer.Option(help="Full name, for display.")] = "",
    sysadmin: Annotated[
        bool,
        typer.Option(
            "--sysadmin",
            help="System administrator: may do everything, in every organisation.",
        ),
    ] = False,
) -> None:
    """Create a user, optionally as a member of one organisation."""
    from pydantic import TypeAdapter, ValidationError

    from catalog.models import Role
    from catalog.organisations import get_organisation
    from catalog.schemas import Email
    from catalog.users import create_user, set_membership
    from datahamn.cli._errors import CliError
    from datahamn.cli._server import check_slug, open_server

    check_slug(username, "username")
    if role is not None and org is None:
        raise CliError("--role needs --org: the organisation the role applies to")
    try:
        email = TypeAdapter(Email).validate_python(email)
    except ValidationError:
        raise CliError(f"invalid e-mail address {email!r}") from None
    with open_server() as server, server.session() as session:
        # Look the organisation up first so a typo creates nothing.
        organisation = get_organisation(session, org) if org else None
        user = create_user(
            session, username=username, email=email, full_name=full_name, is_sysadmin=sysadmin
        )
        if organisation is not None:
            set_membership(
                session, user=user, organisation=organisation, role=Role(role or RoleChoice.member)
            )
    what = f"created user {username}"
    if sysadmin:
        what += " (system administrator)"
    if org:
        what += f", {(role or RoleChoice.member).value} of {org}"
    typer.echo(what)
