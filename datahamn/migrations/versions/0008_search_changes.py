"""search change log: triggers record which datasets changed, for in-process search snapshots

Revision ID: 0008
Revises: 0007

Search keeps an in-process copy of what it filters, counts and sorts by
(``catalog.search.snapshot``). Each process brings its copy up to date from
``search_changes``: every insert, update or delete of a dataset, its tags, themes, versions
or files appends the dataset's id in the same transaction (``NULL``: an organisation
changed). Triggers do it, so no writer can forget, whichever package it is in.

``search_state.epoch`` names the log: ``rebuild_index`` empties the log and sets a new epoch,
and so does a ``TRUNCATE`` (PostgreSQL), which fires no row triggers; a process that sees a
new epoch reloads its copy.

SQLite: row triggers, and the log's AUTOINCREMENT id orders it (SQLite has one writer at a
time, so ids are handed out in commit order). PostgreSQL: statement triggers with transition
tables (one log insert per statement, not per row), and the log is read by transaction id
against the reader's snapshot (``pg_snapshot_xmin``), because sequence order is not commit
order when writers overlap. No lock is shared between writers.
"""

from __future__ import annotations

import secrets

from alembic import op

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None

# table -> (how a row names its dataset, the join that needs)
_SOURCES = {
    "datasets": ("r.id", ""),
    "dataset_tags": ("r.dataset_id", ""),
    "dataset_themes": ("r.dataset_id", ""),
    "dataset_versions": ("r.dataset_id", ""),
    "dataset_files": ("v.dataset_id", "JOIN dataset_versions v ON v.id = r.version_id"),
}
_EVENTS = {"insert": "NEW", "update": "NEW", "delete": "OLD"}


def upgrade() -> None:
    sqlite = op.get_bind().dialect.name == "sqlite"
    epoch = secrets.token_hex(8)
    op.execute(
        "CREATE TABLE search_state (id INTEGER PRIMARY KEY CHECK (id = 1), epoch TEXT NOT NULL)"
    )
    op.execute(f"INSERT INTO search_state (id, epoch) VALUES (1, '{epoch}')")
    if sqlite:
        op.execute(
            "CREATE TABLE search_changes (id INTEGER PRIMARY KEY AUTOINCREMENT, dataset_id INTEGER)"
        )
        for table, (key, join) in _SOURCES.items():
            for event, row in _EVENTS.items():
                source = key.replace("r.", f"{row}.")
                if join:  # files: the version gives the dataset (gone with a cascade: skip)
                    values = f"SELECT dataset_id FROM dataset_versions WHERE id = {row}.version_id"
                else:
                    values = f"VALUES ({source})"
                op.execute(
                    f"CREATE TRIGGER search_log_{table}_{event} AFTER {event.upper()} ON {table} "
                    f"BEGIN INSERT INTO search_changes (dataset_id) {values}; END"
                )
        for event in _EVENTS:
            op.execute(
                f"CREATE TRIGGER search_log_organisations_{event} AFTER {event.upper()} "
                "ON organisations BEGIN INSERT INTO search_changes (dataset_id) VALUES (NULL); END"
            )
        return

    op.execute(
        "CREATE TABLE search_changes (id BIGSERIAL PRIMARY KEY, "
        # The writer's transaction id (xid8, which fits a bigint): a plain type that
        # SQLAlchemy reflects.
        "txid BIGINT NOT NULL DEFAULT CAST(CAST(pg_current_xact_id() AS text) AS bigint), "
        "dataset_id INTEGER)"
    )
    op.execute("CREATE INDEX ix_search_changes_txid ON search_changes (txid)")
    for table, (key, join) in _SOURCES.items():
        for event in _EVENTS:
            rows = "old_rows" if event == "delete" else "new_rows"
            function = f"search_log_{table}_{event}"
            op.execute(
                f"CREATE FUNCTION {function}() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN "
                f"INSERT INTO search_changes (dataset_id) SELECT DISTINCT {key} "
                f"FROM {rows} r {join}; RETURN NULL; END $$"
            )
            # Transition tables allow one event per trigger, hence three triggers a table.
            op.execute(
                f"CREATE TRIGGER {function} AFTER {event.upper()} ON {table} "
                f"REFERENCING {'OLD' if event == 'delete' else 'NEW'} TABLE AS {rows} "
                f"FOR EACH STATEMENT EXECUTE FUNCTION {function}()"
            )
    op.execute(
        "CREATE FUNCTION search_log_organisations() RETURNS trigger LANGUAGE plpgsql AS $$ "
        "BEGIN INSERT INTO search_changes (dataset_id) VALUES (NULL); RETURN NULL; END $$"
    )
    op.execute(
        "CREATE TRIGGER search_log_organisations AFTER INSERT OR UPDATE OR DELETE "
        "ON organisations FOR EACH STATEMENT EXECUTE FUNCTION search_log_organisations()"
    )
    # TRUNCATE fires no row or transition-table triggers: start a new epoch instead. The
    # AFTER TRUNCATE triggers run after every table of the statement is emptied, so this row
    # survives a TRUNCATE that lists search_state too.
    op.execute(
        "CREATE FUNCTION search_new_epoch() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN "
        "INSERT INTO search_state (id, epoch) VALUES (1, md5(random()::text)) "
        "ON CONFLICT (id) DO UPDATE SET epoch = EXCLUDED.epoch; RETURN NULL; END $$"
    )
    for table in (*_SOURCES, "organisations"):
        op.execute(
            f"CREATE TRIGGER search_truncate_{table} AFTER TRUNCATE ON {table} "
            "FOR EACH STATEMENT EXECUTE FUNCTION search_new_epoch()"
        )


def downgrade() -> None:
    sqlite = op.get_bind().dialect.name == "sqlite"
    if sqlite:
        for table in (*_SOURCES, "organisations"):
            for event in _EVENTS:
                op.execute(f"DROP TRIGGER IF EXISTS search_log_{table}_{event}")
    else:
        for table in _SOURCES:
            for event in _EVENTS:
                op.execute(f"DROP TRIGGER IF EXISTS search_log_{table}_{event} ON {table}")
                op.execute(f"DROP FUNCTION IF EXISTS search_log_{table}_{event}()")
        op.execute("DROP TRIGGER IF EXISTS search_log_organisations ON organisations")
        op.execute("DROP FUNCTION IF EXISTS search_log_organisations()")
        for table in (*_SOURCES, "organisations"):
            op.execute(f"DROP TRIGGER IF EXISTS search_truncate_{table} ON {table}")
        op.execute("DROP FUNCTION IF EXISTS search_new_epoch()")
    op.execute("DROP TABLE IF EXISTS search_changes")
    op.execute("DROP TABLE IF EXISTS search_state")
