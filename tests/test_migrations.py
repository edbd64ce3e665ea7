"""Migrations: an empty database reaches head on both engines, twice is harmless, and the
models match the migrated schema (no forgotten migration)."""

from __future__ import annotations

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import Engine, inspect, select
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
    assert "dataset_fts" in inspect(engine).get_table_names()


def test_models_match_the_migrations(engine: Engine) -> None:
    with engine.connect() as connection:
        diff = compare_metadata(MigrationContext.configure(connection), Base.metadata)
    # The engine-specific search index is not a model; everything else must match.
    diff = [d for d in diff if "dataset_fts" not in repr(d)]
    assert diff == []
