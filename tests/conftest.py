"""Test fixtures: every test gets its own real, migrated database.

SQLite: the migrations run once into a template file, which each test copies.
PostgreSQL (`TEST_DATABASE_URL`): the migrations run once into a template database, which each
test clones with `CREATE DATABASE … TEMPLATE`. Either way the schema comes from Alembic, code
under test commits for real, and concurrency tests can use several connections.
"""

from __future__ import annotations

import itertools
import os
import shutil
import uuid

import pytest
from sqlalchemy import create_engine, event, text
from sqlalchemy.engine import make_url

from config import TestingConfig
from rentalcoop import create_app
from rentalcoop.extensions import db, limiter

TEST_DATABASE_URL = os.environ.get("TEST_DATABASE_URL")
DIALECT = "postgresql" if TEST_DATABASE_URL else "sqlite"
_counter = itertools.count()


def _upgrade(url: str) -> None:
    from flask_migrate import upgrade

    app = create_app(TestingConfig, SQLALCHEMY_DATABASE_URI=url)
    with app.app_context():
        upgrade()
        db.engine.dispose()


def _admin_engine():
    return create_engine(TEST_DATABASE_URL, isolation_level="AUTOCOMMIT", poolclass=None)


@pytest.fixture(scope="session")
def template_database(tmp_path_factory):
    """A database migrated to head, to be copied for each test."""
    if DIALECT == "sqlite":
        path = tmp_path_factory.mktemp("db") / "template.sqlite"
        _upgrade(f"sqlite:///{path}")
        yield path
        return
    name = f"rc_tmpl_{uuid.uuid4().hex[:10]}"
    admin = _admin_engine()
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    _upgrade(make_url(TEST_DATABASE_URL).set(database=name).render_as_string(hide_password=False))
    yield name
    with admin.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    admin.dispose()


@pytest.fixture
def database_url(template_database, tmp_path):
    """A fresh database with the whole schema, for this test only."""
    if DIALECT == "sqlite":
        path = tmp_path / "test.sqlite"
        shutil.copyfile(template_database, path)
        yield f"sqlite:///{path}"
        return
    name = f"rc_t_{os.getpid()}_{next(_counter)}"
    admin = _admin_engine()
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}" TEMPLATE "{template_database}"'))
    yield make_url(TEST_DATABASE_URL).set(database=name).render_as_string(hide_password=False)
    with admin.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    admin.dispose()


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
