"""Alembic environment. The engine URL comes from the caller's Config (see catalog_db)."""

from __future__ import annotations

from alembic import context
from sqlalchemy import Connection

import access.models  # noqa: F401  - registers the access tables on Base.metadata
import catalog.models  # noqa: F401  - registers the catalog tables on Base.metadata
import catalog.quality  # noqa: F401  - registers the report and suite tables on Base.metadata
import ingest.jobs.models  # noqa: F401  - registers the job queue tables on Base.metadata
import ingest.specs  # noqa: F401  - registers the pipeline spec table on Base.metadata
import ingest.uploads.models  # noqa: F401  - registers the upload tables on Base.metadata
from catalog.db import Base, make_engine

target_metadata = Base.metadata


def _run(connection: Connection) -> None:
    context.configure(
        connection=connection,
        target_metadata=target_metadata,
        render_as_batch=connection.dialect.name == "sqlite",
        compare_type=True,
    )
    with context.begin_transaction():
        context.run_migrations()


def run_migrations_online() -> None:
    connection = context.config.attributes.get("connection")
    if connection is not None:
        _run(connection)
        return
    engine = make_engine(context.config.get_main_option("sqlalchemy.url") or "")
    with engine.connect() as conn:
        _run(conn)
    engine.dispose()


run_migrations_online()
