"""Migrations: an empty database reaches head on both engines, twice is harmless, and the
models match the migrated schema (no forgotten migration)."""

from __future__ import annotations

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import Engine, inspect, select, text
from sqlalchemy.orm import Session

from catalog.db import Base
from catalog.licences import shipped_spdx_licences
from catalog.models import Licence
from datahamn.migrate import upgrade_database


def test_upgrade_is_idempotent_and_loads_licences(engine: Engine) -> None:
    upgrade_database(engine)  # the fixture already upgraded once
    with Session(engine) as session:
        ids = set(session.scalars(select(Licence.id)))
    assert len(ids) == len(shipped_spdx_licences())
    assert {"CC-BY-4.0", "CC0-1.0", "MIT"} <= ids
    assert {"dataset_fts", "search_changes", "search_state"} <= set(
        inspect(engine).get_table_names()
    )


def test_models_match_the_migrations(engine: Engine) -> None:
    with engine.connect() as connection:
        diff = compare_metadata(MigrationContext.configure(connection), Base.metadata)
    # The engine-specific search tables (full-text index, change log) are not models;
    # everything else must match.
    search_tables = ("dataset_fts", "search_changes", "search_state")
    diff = [d for d in diff if not any(name in repr(d) for name in search_tables)]
    assert diff == []


def test_search_change_log_migration_downgrades_and_upgrades(engine: Engine) -> None:
    """0008 down and up again: its triggers and tables go and come back cleanly."""
    from alembic import command

    from datahamn.migrate import alembic_config

    url = engine.url.render_as_string(hide_password=False)
    command.downgrade(alembic_config(url), "0007")
    assert "search_changes" not in inspect(engine).get_table_names()
    upgrade_database(engine)
    with Session(engine) as session:
        session.execute(text("INSERT INTO organisations (name, title, description, created_at) "
                             "VALUES ('o', 'O', '', CURRENT_TIMESTAMP)"))  # fmt: skip
        logged = session.scalars(text("SELECT dataset_id FROM search_changes")).all()
    assert logged == [None]  # an organisation changed
