"""Test fixtures: every test gets a real, migrated database of its own state.

SQLite: the migrations run once into a template file, which each test copies.
PostgreSQL (`TEST_DATABASE_URL`): the migrations run once into a database for the whole run;
after each test every table that holds rows is emptied and what the migrations seeded is put
back, identities restarting at 1, so each test starts as on a fresh database. (Creating a
database per test from a template cost about a second a test on this machine; TRUNCATE as much:
it makes new files.) Either way the schema comes from Alembic, code under test commits for real,
and concurrency tests can use several connections.

Under pytest-xdist (`make test` runs `-n 2`) each worker is a run of its own here: its own
template file or database, in its own temporary folder. Only the demo town is shared (see
`demo_source`). Tests on the demo town ask for the `demo_town` fixture.
"""

from __future__ import annotations

import fcntl
import json
import os
import shutil
import uuid
from contextlib import contextmanager

import pytest
from jinja2 import BytecodeCache
from sqlalchemy import create_engine, event, text
from sqlalchemy.engine import make_url
from sqlalchemy.pool import NullPool
from werkzeug.routing import Rule

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


def _create_database(name: str, template: str | None = None) -> str:
    """A new PostgreSQL database (a copy of `template` if given); its URL.

    Its commits do not wait for the WAL to reach the disk (`synchronous_commit = off`): a
    crash of the server would lose the last commits of a test database, and nothing else
    changes, while the suite spends less time waiting on the disk.
    """
    admin = _admin_engine()
    with admin.connect() as conn:
        copy = f' TEMPLATE "{template}"' if template else ""
        conn.execute(text(f'CREATE DATABASE "{name}"{copy}'))
        conn.execute(text(f'ALTER DATABASE "{name}" SET synchronous_commit = off'))
    admin.dispose()
    return make_url(TEST_DATABASE_URL).set(database=name).render_as_string(hide_password=False)


def _drop_database(name: str) -> None:
    admin = _admin_engine()
    with admin.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    admin.dispose()


class PostgresReset:
    """Empties a migrated PostgreSQL database back to its just-migrated state."""

    def __init__(self, url: str):
        self.engine = create_engine(url, pool_size=1, pool_pre_ping=True)  # one kept connection
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

        # One query tells which tables hold rows: only those are emptied (most tests touch few).
        self.filled_sql = " UNION ALL ".join(
            f"SELECT '{table}' WHERE EXISTS (SELECT 1 FROM \"{table}\")" for table in self.tables
        )
        # What pg_sequences shows just after the migrations: the seeded maximum, or NULL for a
        # sequence never used (setval(..., false) shows NULL as well).
        self.sequence_values = {}
        for sequence, table, column in self.sequences:
            seeded = [row[column] for row in self.seed.get(table, [])]
            self.sequence_values[sequence] = max(seeded) if seeded else None

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
            filled = {table for (table,) in conn.execute(text(self.filled_sql))}
            for table in self.tables:
                if table in filled or table in self.seed:
                    conn.execute(text(f'DELETE FROM "{table}"'))
            for table, rows in self.seed.items():
                columns = list(rows[0])
                names = ", ".join(f'"{c}"' for c in columns)
                values = ", ".join(f":{c}" for c in columns)
                conn.execute(text(f'INSERT INTO "{table}" ({names}) VALUES ({values})'), rows)
            moved = conn.execute(
                text(
                    "SELECT sequencename, last_value FROM pg_sequences WHERE schemaname = 'public'"
                )
            ).all()
            for sequence, value in moved:
                if sequence not in self.sequence_values:
                    continue
                seeded = self.sequence_values[sequence]
                if value == seeded:
                    continue
                if seeded is None:
                    conn.execute(text("SELECT setval(:s, 1, false)"), {"s": sequence})
                else:
                    conn.execute(text("SELECT setval(:s, :v, true)"), {"s": sequence, "v": seeded})


@pytest.fixture(scope="session")
def template_database(tmp_path_factory):
    """SQLite: a migrated file to copy. PostgreSQL: the run's migrated database and its reset."""
    if DIALECT == "sqlite":
        path = tmp_path_factory.mktemp("db") / "template.sqlite"
        _upgrade(f"sqlite:///{path}")
        yield path
        return
    name = f"rc_test_{uuid.uuid4().hex[:10]}"
    url = _create_database(name)
    _upgrade(url)
    reset = PostgresReset(url)
    yield url, reset
    reset.engine.dispose()
    _drop_database(name)


class DemoTown:
    """The demo town, loaded once per run through `flask demo-data`, to copy.

    Loading it costs half a minute (most of it drawing and encoding photos); each test that
    needs it gets a copy of the loaded database instead: a file copy on SQLite, a
    `CREATE DATABASE ... TEMPLATE` on PostgreSQL. Every copy shares the photos in
    `upload_dir`, which no test deletes.
    """

    def __init__(self, url: str, upload_dir: str, output: str):
        self.url = url
        self.upload_dir = upload_dir
        self.output = output  # what the first `flask demo-data` printed

    def copy(self, folder) -> str:
        """A new database holding the demo town; `drop` it when done."""
        if DIALECT == "sqlite":
            path = folder / f"demo-{uuid.uuid4().hex[:10]}.sqlite"
            shutil.copyfile(make_url(self.url).database, path)
            return f"sqlite:///{path}"
        return _create_database(f"rc_demo_{uuid.uuid4().hex[:10]}", make_url(self.url).database)

    @staticmethod
    def drop(url: str) -> None:
        if DIALECT == "postgresql":  # SQLite's copies are in tmp_path folders of pytest's
            _drop_database(make_url(url).database)


@pytest.fixture(scope="session")
def demo_source(template_database, tmp_path_factory):
    """The run's demo town, loaded as `make run` loads it: `flask demo-data` on a migrated
    database. Under pytest-xdist the workers share one load: the first to need it loads it
    into the run's common temporary folder while holding a lock there, the others wait for
    it; the last to finish drops it."""
    base = tmp_path_factory.getbasetemp()
    shared = base.parent if os.environ.get("PYTEST_XDIST_WORKER") else base
    state_file = shared / "demo-town.json"
    with _locked(shared / "demo-town.lock"):
        if state_file.exists():
            state = json.loads(state_file.read_text())
        else:
            state = _load_demo_town(template_database, shared / "demo-town")
        state["users"] += 1
        state_file.write_text(json.dumps(state))
    yield DemoTown(state["url"], state["upload_dir"], state["output"])
    with _locked(shared / "demo-town.lock"):
        state = json.loads(state_file.read_text())
        state["users"] -= 1
        if state["users"]:
            state_file.write_text(json.dumps(state))
        else:
            DemoTown.drop(state["url"])
            state_file.unlink()


@contextmanager
def _locked(path):
    with open(path, "a") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def _load_demo_town(template_database, folder) -> dict:
    folder.mkdir()
    if DIALECT == "sqlite":
        path = folder / "demo.sqlite"
        shutil.copyfile(template_database, path)
        url = f"sqlite:///{path}"
    else:
        url = _create_database(f"rc_demo_{uuid.uuid4().hex[:10]}")
        _upgrade(url)
    upload_dir = str(folder / "uploads")
    app = create_app(TestingConfig, SQLALCHEMY_DATABASE_URI=url, UPLOAD_DIR=upload_dir)
    result = app.test_cli_runner().invoke(args=["demo-data"])
    with app.app_context():
        db.engine.dispose()  # a template database must have no connections
    if result.exit_code != 0:
        DemoTown.drop(url)
        raise AssertionError(f"flask demo-data failed:\n{result.output}")
    return {"url": url, "upload_dir": upload_dir, "output": result.output, "users": 0}


@pytest.fixture
def demo_town(demo_source):
    """Ask for this fixture and the test's database (`app`, `client`, ...) holds the demo town,
    its apps using the demo's photos. The `DemoTown` tells what `flask demo-data` printed."""
    return demo_source


@pytest.fixture
def database_url(request, template_database, tmp_path):
    """A database with the whole schema and only what the migrations put in it (with the
    demo town in it too when the test asks for `demo_town`)."""
    if "demo_town" in request.fixturenames:
        demo = request.getfixturevalue("demo_town")
        url = demo.copy(tmp_path)
        yield url
        demo.drop(url)
        return
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


class SharedTemplateCache(BytecodeCache):
    """Compiled templates shared by the run's apps (a test builds an app or more of its own,
    each with its own Jinja environment, which would otherwise compile every template it renders
    again: about a fifth of the suite's time). Keyed by the template's source checksum and the
    environment's compile options, so a changed template or option compiles anew."""

    def __init__(self):
        self.compiled: dict = {}

    @staticmethod
    def _key(bucket) -> tuple:
        env = bucket.environment
        options = (
            tuple(sorted(env.extensions)),
            getattr(env, "newstyle_gettext", None),
            tuple(
                sorted(
                    (k, v)
                    for k, v in env.policies.items()
                    if isinstance(v, str | int | bool | type(None))
                )
            ),
            env.trim_blocks,
            env.lstrip_blocks,
            env.keep_trailing_newline,
            env.optimized,
            env.undefined,
        )
        return bucket.key, bucket.checksum, options

    def load_bytecode(self, bucket) -> None:
        code = self.compiled.get(self._key(bucket))
        if code is not None:
            bucket.code = code

    def dump_bytecode(self, bucket) -> None:
        self.compiled[self._key(bucket)] = bucket.code


TEMPLATE_CACHE = SharedTemplateCache()

# Each app binds its ~110 URL rules, and Werkzeug writes and compiles Python code for the URL
# builder of each (`Rule._compile_builder`, a fifth of a typical test's time). That function is
# the same for every rule of the same text, parts and defaults (it takes the rule as an
# argument), so the run's apps share it.
_compile_builder = Rule._compile_builder
_builders: dict = {}


def _shared_builder(self, append_unknown=True):
    defaults = sorted((self.defaults or {}).items(), key=lambda item: item[0])
    key = (self.rule, tuple(self._trace), repr(defaults), append_unknown)
    if key not in _builders:
        _builders[key] = _compile_builder(self, append_unknown)
    return _builders[key]


Rule._compile_builder = _shared_builder


@pytest.fixture
def make_app(request, database_url):
    """Build extra applications (other configs) on this test's database; all closed after."""
    made = []
    demo = request.getfixturevalue("demo_town") if "demo_town" in request.fixturenames else None

    def build(config_class=TestingConfig, **overrides):
        overrides.setdefault("SQLALCHEMY_DATABASE_URI", database_url)
        if demo is not None:
            overrides.setdefault("UPLOAD_DIR", demo.upload_dir)
        application = create_app(config_class, **overrides)
        application.jinja_env.bytecode_cache = TEMPLATE_CACHE
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
