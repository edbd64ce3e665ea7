"""The search change log: which datasets changed since a process last looked.

Triggers (migration 0008) append a dataset's id to ``search_changes`` in the same transaction
as any insert, update or delete of the dataset, its tags, themes, versions or files (``NULL``:
an organisation changed); :func:`log_change` adds index writes. A reader asks for the entries
at or above its *horizon*: every entry below the horizon is final, committed or never to be.

- SQLite has one writer at a time, so AUTOINCREMENT ids are handed out in commit order: an
  entry's key is its id and the horizon is one past the highest id.
- PostgreSQL writers overlap, and ids are not handed out in commit order, so an entry's key
  is its transaction id and the horizon is the oldest transaction still running in the
  reader's snapshot (``pg_snapshot_xmin``). Entries at or above it come back until the
  horizon passes them, so the reader remembers which it has applied.

``search_state.epoch`` names the log: emptying it (:func:`new_epoch`, and a ``TRUNCATE`` on
PostgreSQL) sets a new one, and a reader that sees it change starts from scratch.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass

from sqlalchemy import text
from sqlalchemy.orm import Session

# More entries than this since the last look: reloading everything is cheaper.
MAX_ENTRIES = 5000
# Housekeeping empties the log (a new epoch) once it holds more entries than this.
COMPACT_ABOVE = 100_000

# Plain driver SQL (the driver's parameter style), run on the DBAPI cursor: one of these runs
# before every search, and SQLAlchemy's statement execution took more time than SQLite's.
_SQLITE_READ = (
    "SELECT (SELECT epoch FROM search_state WHERE id = 1), "
    "(SELECT coalesce(max(id), 0) + 1 FROM search_changes), 0, c.id, c.id, c.dataset_id "
    "FROM (SELECT 1) AS one LEFT JOIN (SELECT id, dataset_id FROM search_changes "
    "WHERE id >= :since ORDER BY id LIMIT :limit) AS c ON 1"
)
# One statement, so the horizon and the entries come from the same snapshot.
_PG_READ = (
    "SELECT (SELECT epoch FROM search_state WHERE id = 1), "
    "CAST(CAST(pg_snapshot_xmin(pg_current_snapshot()) AS text) AS bigint), "
    "CAST(pg_current_xact_id_if_assigned() IS NOT NULL AS integer), "
    "c.id, c.txid, c.dataset_id "
    "FROM (SELECT 1) AS one LEFT JOIN LATERAL (SELECT id, txid, dataset_id FROM search_changes "
    "WHERE txid >= %(since)s ORDER BY id LIMIT %(limit)s) AS c ON true"
)


@dataclass(frozen=True)
class Entry:
    id: int
    key: int  # the id (SQLite) or the writer's transaction id (PostgreSQL)
    dataset_id: int | None  # None: an organisation changed


@dataclass(frozen=True)
class Changes:
    epoch: str | None
    horizon: int
    entries: tuple[Entry, ...]
    truncated: bool  # more than MAX_ENTRIES: reload everything
    # The session's own transaction has written: what it sees is not yet everyone's.
    own_writes: bool


def read_changes(session: Session, *, since: int) -> Changes:
    """The log's epoch, horizon and entries with keys at or above ``since``."""
    connection = session.connection()
    sqlite = connection.dialect.name == "sqlite"
    cursor = connection.connection.cursor()
    try:
        cursor.execute(
            _SQLITE_READ if sqlite else _PG_READ, {"since": since, "limit": MAX_ENTRIES + 1}
        )
        rows = cursor.fetchall()
    finally:
        cursor.close()
    epoch, horizon, own = rows[0][0], rows[0][1], bool(rows[0][2])
    if sqlite:
        # The driver opens a transaction at the first write and keeps it until commit.
        own = bool(connection.connection.driver_connection.in_transaction)  # type: ignore[union-attr]
    entries = tuple(Entry(r[3], r[4], r[5]) for r in rows if r[3] is not None)
    return Changes(
        epoch=epoch,
        horizon=int(horizon),
        entries=entries[:MAX_ENTRIES],
        truncated=len(entries) > MAX_ENTRIES,
        own_writes=own,
    )


def log_change(session: Session, dataset_id: int) -> None:
    """Record a change the triggers cannot see (a write to the full-text index)."""
    session.execute(
        text("INSERT INTO search_changes (dataset_id) VALUES (:id)"), {"id": dataset_id}
    )


def compact_changes(session: Session, *, keep: int = COMPACT_ABOVE) -> bool:
    """Start a new epoch when the log holds more than ``keep`` entries (the caller commits).

    Triggers append to the log for ever; readers only need what they have not seen yet. A
    new epoch empties it at the price of one reload in every process, which is why it waits
    for this many entries rather than running on a clock. True when it compacted.
    """
    count = session.execute(
        text("SELECT count(*) FROM (SELECT 1 FROM search_changes LIMIT :n) AS c"), {"n": keep + 1}
    ).scalar_one()
    if count <= keep:
        return False
    new_epoch(session)
    return True


def new_epoch(session: Session) -> None:
    """Empty the log and name a new epoch: every process reloads (after a re-index)."""
    session.execute(text("DELETE FROM search_changes"))
    session.execute(
        text(
            "INSERT INTO search_state (id, epoch) VALUES (1, :epoch) "
            "ON CONFLICT (id) DO UPDATE SET epoch = excluded.epoch"
        ),
        {"epoch": secrets.token_hex(8)},
    )
