"""Throw-away migrated databases for tests that need one of their own (a seeded corpus
shared by a module, or the session's PostgreSQL database in conftest)."""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from sqlalchemy import Engine, create_engine, text

from catalog.db import make_engine
from datahamn.migrate import upgrade_database

POSTGRES_ADMIN_URL = os.environ.get(
    "DATAHAMN_TEST_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/postgres"
)


@contextmanager
def postgres_database(prefix: str) -> Iterator[str]:
    """The URL of a new, migrated PostgreSQL database, dropped afterwards."""
    name = f"{prefix}_{uuid.uuid4().hex[:10]}"
    admin = create_engine(POSTGRES_ADMIN_URL, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    url = POSTGRES_ADMIN_URL.rsplit("/", 1)[0] + f"/{name}"
    try:
        engine = make_engine(url)
        upgrade_database(engine)
        engine.dispose()
        yield url
    finally:
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


@contextmanager
def migrated_engine(kind: str, directory: Path, prefix: str) -> Iterator[Engine]:
    """An engine on a new, migrated database: SQLite in ``directory`` or PostgreSQL."""
    if kind == "sqlite":
        engine = make_engine(f"sqlite:///{directory / f'{prefix}.db'}")
        upgrade_database(engine)
        try:
            yield engine
        finally:
            engine.dispose()
        return
    with postgres_database(prefix) as url:
        engine = make_engine(url)
        try:
            yield engine
        finally:
            engine.dispose()
