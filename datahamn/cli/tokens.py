"""`datahamn tokens`: API tokens for users (operator commands).

The secret goes to stdout alone, so ``TOKEN=$(datahamn tokens create alice)`` captures just
the token; everything meant for the person goes to stderr.
"""

from __future__ import annotations

from typing import Annotated

import typer
from rich.console import Console
from rich.table import Table

app = typer.Typer(
    help="Create, list and revoke API tokens.",
    epilog="Example: TOKEN=$(datahamn tokens create alice --expires-in 30d)",
    no_args_is_help=True,
)

NEVER = "never"


@app.command(
    "create",
    epilog="Example:\n\n    export DATAHAMN_TOKEN=$(datahamn tokens create alice --name laptop "
    "--expires-in 90d)",
)
def create(
    username: Annotated[
        str, typer.Argument(help="The user the token acts as.", show_default=False)
    ],
    expires_in: Annotated[
        str,
        typer.Option(
            "--expires-in",
            envvar="DATAHAMN_TOKEN_EXPIRES_IN",
            help="Lifetime: a number and s, m, h, d or w (e.g. 12h, 30d), or 'never'.",
        ),
    ] = "30d",
    name: Annotated[str, typer.Option(help="A label to recognise the token by.")] = "",
) -> None:
    """Create a token and print its secret once; it is stored only as a hash."""
    from access.tokens import create_token, parse_duration
    from catalog.users import get_user
    from datahamn.cli._server import open_server

    lifetime = None if expires_in.strip().lower() == NEVER else parse_duration(expires_in)
    with open_server() as server, server.session() as session:
        token, secret = create_token(
            session, user=get_user(session, username), name=name, expires_in=lifetime
        )
        expires = token.expires_at.strftime("%Y-%m-%d %H:%M UTC") if token.expires_at else None
        prefix = token.prefix
    typer.echo(secret)
    label = f" {name!r}" if name else ""
    typer.echo(
        f"created token{label} ({prefix}…) for {username}, "
        + (f"expires {expires}" if expires else "never expires")
        + ". It is shown only this once: store it now.",
        err=True,
    )


@app.command("list", epilog="Example:\n\n    datahamn tokens list alice")
def list_(
    username: Annotated[str, typer.Argument(help="Whose tokens.", show_default=False)],
) -> None:
    """List a user's tokens (prefix, name, dates; never the secret)."""
    from sqlalchemy import select

    from access.models import ApiToken
    from catalog.users import get_user
    from datahamn.cli._server import open_server

    with open_server() as server, server.session() as session:
        user = get_user(session, username)
        tokens = list(
            session.scalars(
                select(ApiToken).where(ApiToken.user_id == user.id).order_by(ApiToken.created_at)
            )
        )
    table = Table("Prefix", "Name", "Created", "Expires", "Revoked")
    for token in tokens:
        table.add_row(
            token.prefix + "…",
            token.name,
            f"{token.created_at:%Y-%m-%d}",
            f"{token.expires_at:%Y-%m-%d}" if token.expires_at else NEVER,
            f"{token.revoked_at:%Y-%m-%d}" if token.revoked_at else "",
        )
    Console().print(table)


@app.command(
    "revoke",
    epilog="Examples:\n\n    datahamn tokens revoke alice --prefix dh_AbC123"
    "\n\n    datahamn tokens revoke alice --all",
)
def revoke(
    username: Annotated[str, typer.Argument(help="Whose tokens.", show_default=False)],
    prefix: Annotated[
        str | None,
        typer.Option(
            help="The token's prefix, as `datahamn tokens list` shows it.",
            show_default=False,
        ),
    ] = None,
    name: Annotated[
        str | None, typer.Option(help="Revoke the tokens with this name.", show_default=False)
    ] = None,
    all_: Annotated[bool, typer.Option("--all", help="Revoke all of the user's tokens.")] = False,
) -> None:
    """Revoke tokens at once; a revoked token is refused from its next request on."""
    from sqlalchemy import select

    from access.models import ApiToken
    from access.tokens import revoke_token
    from catalog.users import get_user
    from datahamn.cli._errors import CliError
    from datahamn.cli._server import open_server

    if sum(x is not None for x in (prefix, name)) + all_ != 1:
        raise CliError("say which tokens: exactly one of --prefix, --name or --all")
    with open_server() as server, server.session() as session:
        user = get_user(session, username)
        query = select(ApiToken).where(ApiToken.user_id == user.id, ApiToken.revoked_at.is_(None))
        if prefix is not None:
            query = query.where(ApiToken.prefix == prefix.rstrip("…."))
        if name is not None:
            query = query.where(ApiToken.name == name)
        tokens = list(session.scalars(query))
        if not tokens:
            raise CliError(f"no active token of {username} matches")
        for token in tokens:
            revoke_token(session, token=token)
    typer.echo(f"revoked {len(tokens)} token{'s' if len(tokens) != 1 else ''} of {username}")
