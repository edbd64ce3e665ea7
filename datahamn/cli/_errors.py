"""One place that turns expected failures into a single ``error: …`` line and exit code 1.

The root command group wraps every command's invocation, so each command just raises.
Server exception types are recognised through ``sys.modules`` rather than imported: a
client-only install has no SQLAlchemy, the client commands should not pay for importing the
server stack, and an exception of a module that was never imported cannot be raised anyway.
"""

from __future__ import annotations

import sys
from typing import Any

import typer
from typer.core import TyperGroup

EXIT_ERROR = 1


class CliError(Exception):
    """An expected failure of a command; its message is shown as one line."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


def fail(message: str) -> None:
    """Print ``error: message`` to stderr."""
    typer.echo(f"error: {_one_line(message)}", err=True)


def _one_line(text: str) -> str:
    return " ".join(text.split())


def _is_instance(exc: BaseException, module: str, name: str) -> bool:
    loaded = sys.modules.get(module)
    cls: Any = getattr(loaded, name, None) if loaded is not None else None
    return isinstance(cls, type) and isinstance(exc, cls)


def _validation_message(exc: Any) -> str:
    """pydantic ValidationError -> 'DATAHAMN_FIELD: problem; …' (settings) or 'field: …'."""
    is_settings = getattr(exc, "title", "") == "Settings"
    parts = []
    for error in exc.errors()[:3]:
        message = str(error.get("msg", "")).removeprefix("Value error, ")
        loc = ".".join(str(part) for part in error.get("loc", ()))
        if loc and is_settings:
            loc = "DATAHAMN_" + loc.upper()
        parts.append(f"{loc}: {message}" if loc else message)
    prefix = "invalid settings: " if is_settings else "invalid input: "
    return prefix + "; ".join(parts)


def describe(exc: BaseException) -> str | None:
    """The one-line message for an expected error, or None for a bug (keep the traceback)."""
    if isinstance(exc, CliError):
        return exc.message
    if _is_instance(exc, "catalog.errors", "DatahamnError"):
        return str(getattr(exc, "message", exc))
    if _is_instance(exc, "pydantic", "ValidationError"):
        return _validation_message(exc)
    if _is_instance(exc, "catalog.storage.base", "StoreError"):
        return f"object store: {exc}"
    if _is_instance(exc, "sqlalchemy.exc", "DBAPIError"):
        # The driver's own message names the cause (refused connection, bad password, …);
        # the statement and parameters SQLAlchemy appends are noise here.
        original = getattr(exc, "orig", None) or exc
        lines = str(original).strip().splitlines() or [type(original).__name__]
        return f"database: {lines[0]}"
    return None


class DatahamnGroup(TyperGroup):
    """The root group: every command runs inside its ``invoke``, so errors are caught here."""

    def invoke(self, ctx: Any) -> Any:
        try:
            return super().invoke(ctx)
        except Exception as exc:
            message = describe(exc)
            if message is None:
                raise
            fail(message)
            raise typer.Exit(EXIT_ERROR) from None
