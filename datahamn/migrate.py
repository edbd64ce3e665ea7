"""Bring a metadata database to the newest schema: Alembic migrations, then reference data."""

from __future__ import annotations

from pathlib import Path

from alembic import command
from alembic.config import Config
from sqlalchemy import Engine, text
from sqlalchemy.orm import Session

from catalog.licences import sync_spdx_licences

# An arbitrary constant naming datahamn's migration lock among PostgreSQL advisory locks.
_LOCK_KEY = 0x64617461_68616D6E & 0x7FFFFFFFFFFFFFFF
MIGRATIONS = Path(__file__).resolve().parent / "migrations"


def alembic_config(url: str) -> Config:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    config.set_main_option("sqlalchemy.url", url.replace("%", "%%"))
    return config


def upgrade_database(engine: Engine) -> None:
    """Migrate to head and load the shipped SPDX list. Safe to run on every start."""
    config = alembic_config(engine.url.render_as_string(hide_password=False))
    with engine.begin() as connection:
        if connection.dialect.name == "postgresql":
            # Replicas starting together take turns; the lock ends with the transaction.
            connection.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": _LOCK_KEY})
        config.attributes["connection"] = connection
        command.upgrade(config, "head")
    with Session(engine) as session:
        sync_spdx_licences(session)
        session.commit()
