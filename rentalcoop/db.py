"""Database foundations: the declarative base, time and money helpers, SQLite transactions."""

from __future__ import annotations

import sqlite3
from datetime import UTC, datetime

from sqlalchemy import DateTime, MetaData, event, select
from sqlalchemy.engine import Engine
from sqlalchemy.orm import DeclarativeBase, Session
from sqlalchemy.types import TypeDecorator

# Constraint names must be identical on SQLite and PostgreSQL so migrations can name them.
NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING_CONVENTION)


def in_values(column: str, values) -> str:
    """SQL for a CHECK constraint: `column` holds one of an enum's values."""
    return f"{column} IN ({', '.join(repr(str(v)) for v in values)})"


def utcnow() -> datetime:
    """The current instant, timezone-aware in UTC (the only kind of timestamp we store)."""
    return datetime.now(UTC)


class UTCDateTime(TypeDecorator):
    """A timestamp stored in UTC and always read back timezone-aware.

    SQLite has no time zones, so values are stored as naive UTC there; PostgreSQL keeps
    `timestamp with time zone`.
    """

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value, dialect):
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given where UTC is required")
        value = value.astimezone(UTC)
        if dialect.name == "sqlite":
            return value.replace(tzinfo=None)
        return value

    def process_result_value(self, value, dialect):
        if value is None:
            return None
        if value.tzinfo is None:
            return value.replace(tzinfo=UTC)
        return value.astimezone(UTC)


# --- SQLite transaction control (DESIGN §15) --------------------------------------------------
# pysqlite's legacy transaction handling sends no BEGIN before a SELECT, so a read-then-write is
# not one transaction, and a deferred transaction that upgrades to a write fails at once with
# "database is locked". We turn that off and emit BEGIN ourselves (SQLAlchemy docs: "Transactions
# with SQLite and the sqlite3 driver"). A connection flagged `sqlite_immediate` begins with
# BEGIN IMMEDIATE, taking the write lock up front (used for booking writes).


@event.listens_for(Engine, "connect")
def _sqlite_on_connect(dbapi_connection, connection_record) -> None:
    if not isinstance(dbapi_connection, sqlite3.Connection):
        return
    dbapi_connection.isolation_level = None
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA foreign_keys = ON")
    cursor.execute("PRAGMA busy_timeout = 10000")
    if cursor.execute("PRAGMA journal_mode").fetchone()[0] != "memory":
        cursor.execute("PRAGMA journal_mode = WAL")
    cursor.execute("PRAGMA synchronous = NORMAL")
    # 16 MB of page cache a connection (the default is 2 MB): the search's availability probes
    # walk the nights index, and with 2 MB it was read again through pread on every search.
    cursor.execute("PRAGMA cache_size = -16000")
    cursor.close()


@event.listens_for(Engine, "begin")
def _sqlite_on_begin(connection) -> None:
    if connection.dialect.name != "sqlite":
        return
    if connection.get_execution_options().get("sqlite_immediate"):
        connection.exec_driver_sql("BEGIN IMMEDIATE")
    else:
        connection.exec_driver_sql("BEGIN")


def begin_write(session) -> None:
    """Make the session's next transaction a writer's: `BEGIN IMMEDIATE` on SQLite.

    A deferred SQLite transaction that reads and then writes fails at once with "database is
    locked" when another writer got there first, ignoring the busy timeout (DESIGN §15). Taking
    the write lock up front makes concurrent writers wait their turn instead. The read-only work
    done so far in this request is committed first (there must be nothing unflushed).
    """
    if hasattr(session, "registry"):  # a scoped_session: work on the current Session
        session = session()
    if session.get_bind().dialect.name != "sqlite":
        return
    if session.new or session.dirty or session.deleted:
        raise RuntimeError("begin_write() with unflushed changes")
    if session.in_transaction():
        if session.connection().get_execution_options().get("sqlite_immediate"):
            return  # already the writer
        session.commit()
    session.connection(execution_options={"sqlite_immediate": True})


def lock_row(session, model, row_id: int):
    """Start a transaction holding one row, for jobs that several runners may run at once:
    `FOR UPDATE SKIP LOCKED` on PostgreSQL (another runner's row is skipped: None), `BEGIN
    IMMEDIATE` on SQLite (writers take turns). What the session held is committed first, and
    the row is read afresh."""
    if hasattr(session, "registry"):  # a scoped_session: work on the current Session
        session = session()
    if session.in_transaction():
        session.commit()
    query = select(model).where(model.id == row_id).execution_options(populate_existing=True)
    if session.get_bind().dialect.name == "postgresql":
        query = query.with_for_update(skip_locked=True)
    else:
        begin_write(session)
    return session.scalar(query)


LOCKED_KEY = "rentalcoop_locked_rows"


def lock_for_change(session, obj):
    """Hold `obj`'s row for the rest of the current transaction and read it afresh.

    Two people acting on one row at once (a guest cancelling while the board marks the booking
    paid) must not both decide on what they read before the other committed. PostgreSQL: `SELECT
    … FOR NO KEY UPDATE` (the other waits for our commit, then reads our result; the weaker lock
    still lets foreign-key checks of the ledger rows we insert pass, so it cannot deadlock on
    them). SQLite: the write lock (`BEGIN IMMEDIATE`), which serialises every writer. The loaded
    attributes of `obj` are read again (pending changes are flushed first, by autoflush).
    Returns `obj` (None if the row is gone)."""
    if hasattr(session, "registry"):  # a scoped_session: work on the current Session
        session = session()
    model = type(obj)
    if session.get_bind().dialect.name == "sqlite" and not session.in_transaction():
        begin_write(session)
    # On SQLite a transaction already under way is left as it is: committing it here would
    # commit half of the caller's work. A POST request and every job already hold the write
    # lock; elsewhere SQLite itself refuses a write from a stale snapshot (SQLITE_BUSY_SNAPSHOT),
    # so a stale decision can fail there but never commit.
    query = (
        select(model)
        .where(model.id == obj.id)
        .execution_options(populate_existing=True)
        .with_for_update(key_share=True)  # rendered only on PostgreSQL
    )
    row = session.scalar(query)
    if row is not None:
        session.info.setdefault(LOCKED_KEY, set()).add((model.__name__, row.id))
    return row


def holds_lock(session, obj) -> bool:
    """Whether `lock_for_change(obj)` was called in the session's current transaction."""
    if hasattr(session, "registry"):
        session = session()
    return (type(obj).__name__, obj.id) in session.info.get(LOCKED_KEY, ())


@event.listens_for(Session, "after_transaction_end")
def _forget_locks(session, transaction) -> None:
    if transaction.parent is None:  # the outermost transaction: its row locks are gone
        session.info.pop(LOCKED_KEY, None)


def init_app(app) -> None:
    """On SQLite, a request that may change state takes the write lock when it starts.

    Every POST reads (the user, the object) before it writes; in a deferred transaction that
    upgrade fails at once under concurrency. Read-only requests stay deferred, so readers never
    wait for writers (WAL).
    """
    from flask import request

    from rentalcoop.extensions import db

    @app.before_request
    def writes_take_the_lock() -> None:
        if request.method not in ("GET", "HEAD", "OPTIONS") and db.engine.dialect.name == "sqlite":
            begin_write(db.session)
