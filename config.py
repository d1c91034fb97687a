"""Application settings.

Values are read from the environment (and `instance/config.py`, which may set the same names).
Values the cooperative decides itself (fee levels, caps) live in the database, versioned, not here.
"""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

BASE_DIR = Path(__file__).resolve().parent
INSTANCE_DIR = BASE_DIR / "instance"

DEFAULT_SECRET_KEY = "dev-only-change-me"  # noqa: S105 - the value production refuses


def _env_bool(name: str, default: bool = False) -> bool:
    value = os.environ.get(name)
    if value is None:
        return default
    return value.strip().lower() in {"1", "true", "yes", "on"}


def _sqlite_url(name: str) -> str:
    return f"sqlite:///{INSTANCE_DIR / name}"


class Config:
    SECRET_KEY = os.environ.get("SECRET_KEY", DEFAULT_SECRET_KEY)
    SQLALCHEMY_DATABASE_URI = os.environ.get("DATABASE_URL") or _sqlite_url("rentalcoop.sqlite")
    SQLALCHEMY_ENGINE_OPTIONS: dict = {"pool_pre_ping": True}

    # Language (DESIGN §14): Swedish first, English the alternative.
    LANGUAGES = ("sv", "en")
    BABEL_DEFAULT_LOCALE = "sv"
    BABEL_DEFAULT_TIMEZONE = "Europe/Stockholm"
    BABEL_TRANSLATION_DIRECTORIES = "../translations"

    # Sessions and cookies.
    SESSION_COOKIE_HTTPONLY = True
    SESSION_COOKIE_SAMESITE = "Lax"
    SESSION_COOKIE_SECURE = False
    REMEMBER_COOKIE_HTTPONLY = True
    REMEMBER_COOKIE_SAMESITE = "Lax"
    REMEMBER_COOKIE_SECURE = False
    PERMANENT_SESSION_LIFETIME = 60 * 60 * 24 * 14
    # A log-in (its `user_sessions` row) lasts at most this long, remembered or not; the
    # remember-me cookie lasts as long. `flask jobs run` deletes older and ended sessions.
    SESSION_MAX_AGE_DAYS = 90
    REMEMBER_COOKIE_DURATION = 60 * 60 * 24 * SESSION_MAX_AGE_DAYS

    # Passwords: Werkzeug's scrypt (≈ 90 ms a check on this machine kind, DESIGN §15).
    PASSWORD_HASH_METHOD = "scrypt"  # noqa: S105 - a method name, not a secret
    PASSWORD_RESET_MAX_AGE_SECONDS = 60 * 60

    # Rate limits (Flask-Limiter). In memory by default; a shared storage for several workers.
    RATELIMIT_STORAGE_URI = os.environ.get("RATELIMIT_STORAGE_URI", "memory://")
    # How many worker processes serve the app (unset: read from gunicorn's arguments or
    # WEB_CONCURRENCY). With more than one, production refuses memory:// rate limits.
    WORKERS = int(os.environ["WORKERS"]) if os.environ.get("WORKERS", "").isdigit() else None
    RATELIMIT_ENABLED = True
    RATELIMIT_HEADERS_ENABLED = True
    LOGIN_RATE_LIMIT = "10 per minute;50 per hour"  # per IP address
    LOGIN_ACCOUNT_RATE_LIMIT = "5 per minute;20 per hour"  # failed log-ins per account
    REGISTER_RATE_LIMIT = "5 per minute;30 per hour"
    RESET_RATE_LIMIT = "5 per minute;20 per hour"

    WTF_CSRF_TIME_LIMIT = None  # the token lives as long as the session

    # Mail: unset MAIL_SERVER = written to the log.
    MAIL_SERVER = os.environ.get("MAIL_SERVER")
    MAIL_PORT = int(os.environ.get("MAIL_PORT", "25"))
    MAIL_USERNAME = os.environ.get("MAIL_USERNAME")
    MAIL_PASSWORD = os.environ.get("MAIL_PASSWORD")
    MAIL_USE_TLS = _env_bool("MAIL_USE_TLS")
    MAIL_FROM = os.environ.get("MAIL_FROM", "rentalcoop <noreply@rentalcoop.example>")

    # Booking lifecycle (DESIGN §4): how long an unpaid hold and an unanswered request last,
    # and how long a guest has to pay once the host accepted a request.
    PAYMENT_HOLD_MINUTES = int(os.environ.get("PAYMENT_HOLD_MINUTES", "30"))
    REQUEST_ANSWER_HOURS = int(os.environ.get("REQUEST_ANSWER_HOURS", "24"))
    ACCEPTED_REQUEST_PAYMENT_HOURS = int(os.environ.get("ACCEPTED_REQUEST_PAYMENT_HOURS", "24"))
    # A conversation, not a mailing list: enough for a lively chat, not for spam.
    MESSAGE_RATE_LIMIT = "20 per minute;300 per day"
    # Each booking request holds nights and prices a stay: per account, whatever the address.
    BOOKING_RATE_LIMIT = "10 per minute;40 per day"
    # Building the data export reads every table and copies photos: limited per person.
    EXPORT_RATE_LIMIT = "3 per minute;10 per day"
    # Trusted reverse proxies in front of the app (nginx: 1), so rate limits see client IPs.
    PROXY_FIX_X_FOR = int(os.environ.get("PROXY_FIX_X_FOR", "0"))

    PAYMENT_PROVIDER = os.environ.get("PAYMENT_PROVIDER", "manual")
    STRIPE_SECRET_KEY = os.environ.get("STRIPE_SECRET_KEY")
    STRIPE_WEBHOOK_SECRET = os.environ.get("STRIPE_WEBHOOK_SECRET")
    STRIPE_CONNECT_WEBHOOK_SECRET = os.environ.get("STRIPE_CONNECT_WEBHOOK_SECRET")
    # Optional: another API address (a local mock); tests inject STRIPE_HTTP_CLIENT instead.
    STRIPE_API_BASE = os.environ.get("STRIPE_API_BASE")
    STRIPE_HTTP_CLIENT = None  # a `stripe.HTTPClient` instance (tests: an offline fake)
    STRIPE_MAX_NETWORK_RETRIES = 2
    STRIPE_CONNECT_COUNTRY = os.environ.get("STRIPE_CONNECT_COUNTRY", "SE")
    # Which of the methods turned on in the Stripe dashboard Checkout offers (comma-separated;
    # empty: all of them). README, "Going live with Stripe".
    STRIPE_PAYMENT_METHODS = os.environ.get("STRIPE_PAYMENT_METHODS", "card,klarna,swish")
    # A delayed method (a bank debit) keeps the nights held until Stripe's outcome, at most
    # this long after the guest completed Checkout and never past check-in.
    DELAYED_PAYMENT_HOLD_HOURS = int(os.environ.get("DELAYED_PAYMENT_HOLD_HOURS", "336"))
    # Manual provider: how a guest pays the cooperative (bank giro, Swish). Unset: a
    # translated default text on the pay page.
    MANUAL_PAYMENT_INSTRUCTIONS = os.environ.get("MANUAL_PAYMENT_INSTRUCTIONS")
    # Manual provider holds per method (the Swish number and bank giro are board settings in
    # the database, /board/payment-details). Swish arrives at once: minutes. A bank giro
    # payment arrives the bank day after it is made: the hold runs to the end of the N-th bank
    # day after the guest chose it (the board may set N); a reminder goes out within the last
    # BANKGIRO_REMINDER_HOURS.
    SWISH_HOLD_MINUTES = int(os.environ.get("SWISH_HOLD_MINUTES", "30"))
    BANKGIRO_HOLD_DAYS = int(os.environ.get("BANKGIRO_HOLD_DAYS", "3"))
    BANKGIRO_REMINDER_HOURS = int(os.environ.get("BANKGIRO_REMINDER_HOURS", "48"))

    MAX_CONTENT_LENGTH = 12 * 1024 * 1024
    # Listing photos (re-encoded uploads), served by the app with long cache lifetimes.
    UPLOAD_DIR = os.environ.get("UPLOAD_DIR") or str(INSTANCE_DIR / "uploads")
    # DESIGN §2 "one host, one home". The meeting decides this; until governance stores its
    # decisions in the database, this setting is the default.
    MAX_ACTIVE_LISTINGS_PER_HOST = int(os.environ.get("MAX_ACTIVE_LISTINGS_PER_HOST", "1"))
    # Calendar sync (DESIGN §8): how often feeds are read, back-off after errors, threads and
    # fetches per remote host, how long a runner's claim on a feed lasts, "sync now" limit.
    CALENDAR_SYNC_INTERVAL_MINUTES = int(os.environ.get("CALENDAR_SYNC_INTERVAL_MINUTES", "15"))
    CALENDAR_SYNC_MAX_BACKOFF_HOURS = 24
    CALENDAR_SYNC_WORKERS = int(os.environ.get("CALENDAR_SYNC_WORKERS", "16"))
    CALENDAR_SYNC_PER_HOST = int(os.environ.get("CALENDAR_SYNC_PER_HOST", "4"))
    # Feeds are parsed in this many processes (None = the CPUs, at most 4), each feed under a
    # CPU budget; past it the parser is killed and the feed keeps its last good nights.
    CALENDAR_SYNC_PARSE_PROCESSES: int | None = None
    CALENDAR_PARSE_CPU_SECONDS = 10
    CALENDAR_PARSE_WALL_SECONDS: float | None = None  # None = max(3 × CPU budget, budget + 20)
    # A sync run starts no new feed after this long (the rest stay due for the next run).
    CALENDAR_SYNC_RUN_SECONDS = 120
    CALENDAR_SYNC_LEASE_SECONDS = 300
    CALENDAR_SYNC_NOW_LIMIT = "6 per hour"
    # Tests and the benchmark only: let feeds live on 127.0.0.0/8. Production never sets it.
    CALENDAR_ALLOW_LOOPBACK = False
    # The domain in exported UIDs (`booking-<id>@<domain>`); unset = the request's host name.
    CALENDAR_UID_DOMAIN = os.environ.get("CALENDAR_UID_DOMAIN")
    # The public address, for links in mail sent by `flask jobs run` (no request to take it from).
    BASE_URL = os.environ.get("BASE_URL", "http://127.0.0.1:5000")
    # The start page's district map is drawn here (works offline). Real map tiles are shown as
    # well only when the coop names a tile server: a URL template with {z}/{x}/{y}, the town's
    # centre "lat,lon", a zoom level and the attribution its licence asks for.
    MAP_TILE_URL = os.environ.get("MAP_TILE_URL")
    MAP_CENTER = os.environ.get("MAP_CENTER")
    MAP_ZOOM = int(os.environ.get("MAP_ZOOM", "13"))
    MAP_ATTRIBUTION = os.environ.get("MAP_ATTRIBUTION", "")
    SITE_NAME = "rentalcoop"
    TOWN_NAME = os.environ.get("TOWN_NAME", "Ekby")
    ALLOW_DEMO_DATA = False
    # Municipality statistics disclosure control (DESIGN §13); each release stores what it used.
    STATS_MIN_UNITS = int(os.environ.get("STATS_MIN_UNITS", "5"))
    STATS_MIN_HOSTS = int(os.environ.get("STATS_MIN_HOSTS", "3"))
    STATS_DOMINANCE_PCT = int(os.environ.get("STATS_DOMINANCE_PCT", "85"))
    STATS_ROUND_COUNTS = int(os.environ.get("STATS_ROUND_COUNTS", "5"))
    STATS_ROUND_NIGHTS = int(os.environ.get("STATS_ROUND_NIGHTS", "10"))


class DevelopmentConfig(Config):
    DEBUG = False
    ALLOW_DEMO_DATA = True


class TestingConfig(Config):
    TESTING = True
    SECRET_KEY = "testing-secret-key"  # noqa: S105
    SQLALCHEMY_DATABASE_URI = "sqlite://"
    PASSWORD_HASH_METHOD = "pbkdf2:sha256:1000"  # noqa: S105 - fast in tests; production: scrypt
    RATELIMIT_ENABLED = False
    ALLOW_DEMO_DATA = True
    MAIL_SERVER = None
    # Never into the real instance folder (tests of listings use their own tmp_path).
    UPLOAD_DIR = str(Path(tempfile.gettempdir()) / "rentalcoop-test-uploads")


class ProductionConfig(Config):
    SESSION_COOKIE_SECURE = True
    REMEMBER_COOKIE_SECURE = True
    PREFERRED_URL_SCHEME = "https"


CONFIGS = {
    "development": DevelopmentConfig,
    "testing": TestingConfig,
    "production": ProductionConfig,
}


def config_from_env() -> type[Config]:
    """The config class named by RENTALCOOP_ENV (development unless told otherwise)."""
    return CONFIGS[os.environ.get("RENTALCOOP_ENV", "development")]
