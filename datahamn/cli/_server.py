"""What the server commands share: settings, the database and the object store.

Imported only inside server commands (never at CLI import time), because it pulls in
SQLAlchemy, Alembic and the catalog, which the client-only install does not have.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass

from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Engine, make_url
from sqlalchemy.orm import Session, sessionmaker

from catalog.db import make_engine, make_session_factory, session_scope
from catalog.settings import Settings
from catalog.storage.base import ObjectStore
from datahamn.cli._errors import CliError
from datahamn.migrate import alembic_config, upgrade_database


def load_settings() -> Settings:
    """Settings from the environment; creates DATAHAMN_HOME, where the defaults live."""
    settings = Settings()
    try:
        settings.home.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise CliError(f"cannot create DATAHAMN_HOME {settings.home}: {exc.strerror}") from exc
    return settings


def display_url(url: str) -> str:
    return make_url(url).render_as_string(hide_password=True)


@dataclass
class Server:
    settings: Settings
    engine: Engine
    session_factory: sessionmaker[Session]

    @contextmanager
    def session(self) -> Iterator[Session]:
        with session_scope(self.session_factory) as session:
            yield session

    def store(self) -> ObjectStore:
        from catalog.storage import open_store

        try:
            return open_store(self.settings)
        except ValueError as exc:  # a storage URL it cannot use; the message names it
            raise CliError(str(exc)) from exc


def _revisions(engine: Engine) -> tuple[str | None, str | None]:
    """(the database's alembic revision, the newest revision this code ships)."""
    script = ScriptDirectory.from_config(alembic_config(str(engine.url)))
    with engine.connect() as connection:
        current = MigrationContext.configure(connection).get_current_revision()
    return current, script.get_current_head()


@contextmanager
def open_server(*, upgrade: bool = False) -> Iterator[Server]:
    """The configured database (migrated first when ``upgrade``), disposed of afterwards.

    Without ``upgrade`` an outdated schema is refused with a hint, rather than failing later
    on a missing table: operator commands should not migrate a production database as a
    side effect.
    """
    settings = load_settings()
    engine = make_engine(settings.resolved_database_url)
    try:
        if upgrade:
            upgrade_database(engine)
        else:
            current, head = _revisions(engine)
            if current != head:
                state = "empty" if current is None else f"at revision {current}, not {head}"
                raise CliError(
                    f"the database {display_url(settings.resolved_database_url)} is {state}; "
                    "run `datahamn db upgrade` first"
                )
        yield Server(settings, engine, make_session_factory(engine))
    finally:
        engine.dispose()


def check_slug(value: str, what: str) -> str:
    """Validate a name exactly as the API does (catalog.schemas.Slug), with a plain message."""
    from pydantic import TypeAdapter, ValidationError

    from catalog.schemas import Slug

    try:
        return TypeAdapter(Slug).validate_python(value)
    except ValidationError:
        raise CliError(
            f"invalid {what} {value!r}: use 2-100 lower-case letters, digits, '-' and '_', "
            "starting and ending with a letter or digit"
        ) from None
