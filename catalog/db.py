"""Metadata database: engine and session factory for SQLite (embedded) and PostgreSQL."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from select import POLLIN, poll
from typing import Any

from psycopg import pq
from sqlalchemy import Engine, MetaData, create_engine, event, exc, make_url
from sqlalchemy.orm import DeclarativeBase, Session, sessionmaker

# Constraint names are explicit so Alembic migrations are the same on both engines.
NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING_CONVENTION)


def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
    cursor = dbapi_connection.cursor()
    # WAL lets readers proceed while the worker writes; foreign keys are off by default.
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA busy_timeout=10000")
    cursor.execute("PRAGMA synchronous=NORMAL")
    # The 2 MB default page cache thrashes on search over a large catalogue (docs/benchmarks.md).
    cursor.execute("PRAGMA mmap_size=268435456")
    cursor.execute("PRAGMA cache_size=-65536")
    cursor.close()


def _drop_dead_connection(dbapi_connection: Any, _record: Any, _proxy: Any) -> None:
    """Refuse a pooled PostgreSQL connection the server has closed, without a round trip.

    An idle connection has nothing to read: when a server restarts, or terminates the
    backend (``pg_terminate_backend``, ``idle_session_timeout``, a failover), the socket turns
    readable (the server's last message, or end of file). Raising DisconnectionError makes
    the pool discard the connection and check out a fresh one. This replaces
    ``pool_pre_ping``, which sent ``BEGIN`` and ``SELECT 1`` on every checkout: two of the
    five round trips of a search (docs/benchmarks.md, "Catalog search").
    """
    pgconn = dbapi_connection.pgconn
    if dbapi_connection.closed or pgconn.status != pq.ConnStatus.OK:
        raise exc.DisconnectionError("the connection is closed")
    # poll, not select: select fails on descriptors above 1023 in a busy process.
    poller = poll()
    poller.register(pgconn.socket, POLLIN)
    if poller.poll(0):
        raise exc.DisconnectionError("the server closed the connection")


def make_engine(url: str) -> Engine:
    if url.startswith("sqlite"):
        engine = create_engine(url, connect_args={"check_same_thread": False})
        event.listen(engine, "connect", _sqlite_pragmas)
        return engine
    if make_url(url).get_driver_name() != "psycopg":  # no socket to look at: ask the server
        return create_engine(url, pool_pre_ping=True, pool_size=10, max_overflow=20)
    engine = create_engine(url, pool_size=10, max_overflow=20)
    event.listen(engine, "checkout", _drop_dead_connection)
    return engine


def make_session_factory(engine: Engine) -> sessionmaker[Session]:
    return sessionmaker(bind=engine, expire_on_commit=False)


@contextmanager
def session_scope(factory: sessionmaker[Session]) -> Iterator[Session]:
    """A session that commits on success and rolls back on any error."""
    session = factory()
    try:
        yield session
        session.commit()
    except BaseException:
        session.rollback()
        raise
    finally:
        session.close()
