"""Test fixtures: every test gets a real, migrated database of its own state.

SQLite: the migrations run once into a template file, which each test copies.
PostgreSQL (`TEST_DATABASE_URL`): the migrations run once into a database for the whole run;
after each test every table is emptied and what the migrations seeded is put back, identities
restarting at 1, so each test starts as on a fresh database. (Creating a database per test from
a template cost about a second a test on this machine; TRUNCATE as much: it makes new files.)
Either way the schema comes from Alembic, code under test commits for real, and concurrency
tests can use several connections.
"""

from __future__ import annotations

import os
import shutil
import uuid

import pytest
from sqlalchemy import create_engine, event, text
from sqlalchemy.engine import make_url
from sqlalchemy.pool import NullPool

from config import TestingConfig
from rentalcoop import create_app
from rentalcoop.extensions import db, limiter

TEST_DATABASE_URL = os.environ.get("TEST_DATABASE_URL")
DIALECT = "postgresql" if TEST_DATABASE_URL else "sqlite"


def _upgrade(url: str) -> None:
    from flask_migrate import upgrade

    app = create_app(TestingConfig, SQLALCHEMY_DATABASE_URI=url)
    with app.app_context():
        upgrade()
        db.engine.dispose()


def _admin_engine():
    return create_engine(TEST_DATABASE_URL, isolation_level="AUTOCOMMIT", poolclass=NullPool)


class PostgresReset:
    """Empties a migrated PostgreSQL database back to its just-migrated state."""

    def __init__(self, url: str):
        self.engine = create_engine(url, poolclass=NullPool)
        with self.engine.connect() as conn:
            self.tables = [
                name
                for (name,) in conn.execute(
                    text(
                        "SELECT tablename FROM pg_tables WHERE schemaname = 'public' "
                        "AND tablename <> 'alembic_version'"
                    )
                )
            ]
            self.seed = {}
            for table in self.tables:
                rows = conn.execute(text(f'SELECT * FROM "{table}"')).mappings().all()
                if rows:
                    self.seed[table] = [dict(row) for row in rows]
            self.sequences = conn.execute(
                text(
                    "SELECT c.relname, t.relname, a.attname FROM pg_class c "
                    "JOIN pg_depend d ON d.objid = c.oid AND d.deptype IN ('a', 'i') "
                    "JOIN pg_class t ON t.oid = d.refobjid "
                    "JOIN pg_attribute a ON a.attrelid = t.oid AND a.attnum = d.refobjsubid "
                    "WHERE c.relkind = 'S'"
                )
            ).all()

    def __call__(self) -> None:
        with self.engine.begin() as conn:
            # Whatever a test left connected (threads, apps it built) must not hold locks.
            conn.execute(
                text(
                    "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                    "WHERE datname = current_database() AND pid <> pg_backend_pid()"
                )
            )
            conn.execute(text("SET LOCAL lock_timeout = '10s'"))
            # Triggers off for this transaction: the ledger's append-only guard and the
            # foreign keys (so the order of deletion does not matter).
            conn.execute(text("SET LOCAL session_replication_role = replica"))
            for table in self.tables:
                conn.execute(text(f'DELETE FROM "{table}"'))
            for table, rows in self.seed.items():
                columns = list(rows[0])
                names = ", ".join(f'"{c}"' for c in columns)
                values = ", ".join(f":{c}" for c in columns)
                conn.execute(text(f'INSERT INTO "{table}" ({names}) VALUES ({values})'), rows)
            for sequence, table, column in self.sequences:
                seeded = [row[column] for row in self.seed.get(table, [])]
                if seeded:
                    conn.execute(
                        text("SELECT setval(:s, :v, true)"), {"s": sequence, "v": max(seeded)}
                    )
                else:
                    conn.execute(text("SELECT setval(:s, 1, false)"), {"s": sequence})


@pytest.fixture(scope="session")
def template_database(tmp_path_factory):
    """SQLite: a migrated file to copy. PostgreSQL: the run's migrated database and its reset."""
    if DIALECT == "sqlite":
        path = tmp_path_factory.mktemp("db") / "template.sqlite"
        _upgrade(f"sqlite:///{path}")
        yield path
        return
    name = f"rc_test_{uuid.uuid4().hex[:10]}"
    admin = _admin_engine()
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    url = make_url(TEST_DATABASE_URL).set(database=name).render_as_string(hide_password=False)
    _upgrade(url)
    reset = PostgresReset(url)
    yield url, reset
    reset.engine.dispose()
    with admin.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    admin.dispose()


@pytest.fixture
def database_url(template_database, tmp_path):
    """A database with the whole schema and only what the migrations put in it."""
    if DIALECT == "sqlite":
        path = tmp_path / "test.sqlite"
        shutil.copyfile(template_database, path)
        yield f"sqlite:///{path}"
        return
    url, reset = template_database
    yield url
    reset()


@pytest.fixture
def app_config():
    """Per-test configuration overrides (a test module may override this fixture)."""
    return {}


@pytest.fixture
def make_app(database_url):
    """Build extra applications (other configs) on this test's database; all closed after."""
    made = []

    def build(config_class=TestingConfig, **overrides):
        overrides.setdefault("SQLALCHEMY_DATABASE_URI", database_url)
        application = create_app(config_class, **overrides)
        made.append(application)
        return application

    yield build
    for application in made:
        with application.app_context():
            db.engine.dispose()
        if application.config["RATELIMIT_ENABLED"]:
            limiter.reset()


@pytest.fixture
def app(make_app, app_config):
    return make_app(TestingConfig, **app_config)


@pytest.fixture
def client(app):
    return app.test_client()


@pytest.fixture
def runner(app):
    return app.test_cli_runner()


@pytest.fixture
def ctx(app):
    """An application context for setting up data (not held across requests)."""
    with app.app_context():
        yield


class QueryCounter:
    def __init__(self):
        self.statements: list[str] = []

    def __call__(self, conn, cursor, statement, parameters, context, executemany):
        if (
            not statement.lstrip()
            .upper()
            .startswith(("BEGIN", "COMMIT", "ROLLBACK", "SAVEPOINT", "RELEASE"))
        ):
            self.statements.append(statement)

    @property
    def count(self) -> int:
        return len(self.statements)


@pytest.fixture
def count_queries(app):
    """`with count_queries() as q: ...` then `q.count`: SQL statements sent to the database."""
    from contextlib import contextmanager

    @contextmanager
    def counting():
        counter = QueryCounter()
        with app.app_context():
            engine = db.engine
        event.listen(engine, "before_cursor_execute", counter)
        try:
            yield counter
        finally:
            event.remove(engine, "before_cursor_execute", counter)

    return counting
