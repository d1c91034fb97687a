"""rentalcoop: a short-term rental marketplace owned by its hosts."""

from __future__ import annotations

import logging

from flask import Flask
from werkzeug.middleware.proxy_fix import ProxyFix

from config import DEFAULT_SECRET_KEY, INSTANCE_DIR, Config

__version__ = "0.1.0"


class ConfigurationError(RuntimeError):
    pass


def create_app(config_class: type[Config] = Config, **overrides) -> Flask:
    """Build the application: settings, extensions, blueprints, error pages and commands."""
    app = Flask(__name__, instance_path=str(INSTANCE_DIR), instance_relative_config=True)
    app.config.from_object(config_class)
    if not app.config.get("TESTING"):
        app.config.from_pyfile("config.py", silent=True)
    app.config.update(overrides)
    _check_config(app)

    logging.basicConfig(
        level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s"
    )
    logging.getLogger("alembic.runtime.plugins").setLevel(logging.WARNING)  # a line per plugin
    if app.config.get("PROXY_FIX_X_FOR"):
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=app.config["PROXY_FIX_X_FOR"], x_proto=1)

    register_extensions(app)
    register_blueprints(app)
    register_errorhandlers(app)
    register_commands(app)
    return app


def _check_config(app: Flask) -> None:
    secure = app.config.get("SESSION_COOKIE_SECURE")
    if secure and app.config.get("SECRET_KEY") in (None, "", DEFAULT_SECRET_KEY):
        raise ConfigurationError("SECRET_KEY must be set to a long random value in production.")
    if secure and len(app.config["SECRET_KEY"]) < 32:
        raise ConfigurationError("SECRET_KEY must be at least 32 characters in production.")
    if app.config["SQLALCHEMY_DATABASE_URI"].startswith("postgresql://"):
        # psycopg 3 is the driver we ship.
        app.config["SQLALCHEMY_DATABASE_URI"] = app.config["SQLALCHEMY_DATABASE_URI"].replace(
            "postgresql://", "postgresql+psycopg://", 1
        )
    if app.config["SQLALCHEMY_DATABASE_URI"].startswith("sqlite:///"):
        INSTANCE_DIR.mkdir(exist_ok=True)
    _check_rate_limit_storage(app)


RATELIMIT_STORAGE_HELP = (
    "Rate limits are kept in memory (RATELIMIT_STORAGE_URI=memory://) while {workers} worker "
    "processes may serve requests: each keeps its own counters, so every limit is {workers} "
    "times looser. Set RATELIMIT_STORAGE_URI=redis://127.0.0.1:6379/0 (a Redis all workers "
    "share), or run one worker (WEB_CONCURRENCY=1). See README, 'Running several workers safely'."
)


def worker_count(environ=None, argv=None) -> int:
    """How many worker processes may serve this app, as far as its start can tell: the
    `WORKERS` setting, else gunicorn's `--workers`/`-w` (command line or GUNICORN_CMD_ARGS),
    else WEB_CONCURRENCY (which gunicorn also reads); 1 when nothing says more."""
    import os
    import shlex
    import sys

    environ = os.environ if environ is None else environ
    argv = sys.argv if argv is None else argv
    args = [*argv, *shlex.split(environ.get("GUNICORN_CMD_ARGS", ""))]
    for i, arg in enumerate(args):
        value = None
        if arg in ("-w", "--workers") and i + 1 < len(args):
            value = args[i + 1]
        elif arg.startswith("--workers="):
            value = arg.partition("=")[2]
        elif arg.startswith("-w") and arg[2:].isdigit():
            value = arg[2:]
        if value is not None and value.isdigit():
            return int(value)
    concurrency = environ.get("WEB_CONCURRENCY", "")
    return int(concurrency) if concurrency.isdigit() else 1


def _check_rate_limit_storage(app: Flask) -> None:
    """Production refuses per-worker (memory) rate-limit counters when several workers run."""
    storage = str(app.config.get("RATELIMIT_STORAGE_URI") or "memory://")
    if not storage.startswith("memory://") or not app.config.get("RATELIMIT_ENABLED", True):
        return
    workers = app.config.get("WORKERS") or worker_count()
    if workers <= 1:
        return
    message = RATELIMIT_STORAGE_HELP.format(workers=workers)
    if app.config.get("SESSION_COOKIE_SECURE"):  # production
        raise ConfigurationError(message)
    logging.getLogger("rentalcoop").warning(message)


def register_extensions(app: Flask) -> None:
    from rentalcoop import db as db_helpers
    from rentalcoop import i18n, input_guard, security
    from rentalcoop.access import confine_municipality
    from rentalcoop.extensions import babel, csrf, db, limiter, login_manager, migrate

    db.init_app(app)
    db_helpers.init_app(app)  # first: before any hook reads from the database
    migrate.init_app(
        app, db, directory=str(INSTANCE_DIR.parent / "migrations"), render_as_batch=True
    )
    babel.init_app(
        app, locale_selector=i18n.select_locale, timezone_selector=lambda: "Europe/Stockholm"
    )
    csrf.init_app(app)
    limiter.init_app(app)
    login_manager.init_app(app)
    login_manager.login_view = "accounts.login"
    login_manager.login_message = i18n._l("Please log in to see that page.")
    login_manager.login_message_category = "info"
    login_manager.session_protection = "basic"
    i18n.init_app(app)
    security.init_app(app)
    input_guard.init_app(app)  # before the blueprints: it defines the URL converters
    app.before_request(i18n.remember_language)
    app.before_request(confine_municipality)


def register_blueprints(app: Flask) -> None:
    from rentalcoop import (
        accounts,
        bookings,
        ledger,
        listings,
        main,
        membership,
        messaging,
        moderation,
        payments,
        portability,
        reviews,
        stats,
    )

    for module in (main, accounts, membership, listings, bookings, payments, ledger, stats):
        app.register_blueprint(module.bp)
    for module in (reviews, messaging, moderation, portability):
        app.register_blueprint(module.bp)
    from rentalcoop.calendar import bp as calendar_bp  # calendar feeds (issue 5)

    app.register_blueprint(calendar_bp)
    from rentalcoop.governance import bp as governance_bp  # meetings, fund, close (issue 6)

    app.register_blueprint(governance_bp)
    from rentalcoop.identity import bp as identity_bp  # privacy, terms, contact (issue 16)

    app.register_blueprint(identity_bp)
    from rentalcoop.wishlists import bp as wishlists_bp  # saved homes (issue 16)

    app.register_blueprint(wishlists_bp)


def register_errorhandlers(app: Flask) -> None:
    from rentalcoop.errors import register_errorhandlers as register

    register(app)


def register_commands(app: Flask) -> None:
    from rentalcoop import demo, invariants, jobs, outbox

    invariants.init_app(app)
    jobs.init_app(app)
    outbox.init_app(app)
    demo.init_app(app)
