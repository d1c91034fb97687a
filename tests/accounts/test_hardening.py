"""Accounts under attack (issue 12, item 6): equal work for unknown addresses, limits per
account, log-out that ends the session on the server, shared rate-limit storage."""

from __future__ import annotations

import uuid
from datetime import timedelta

import pytest
from sqlalchemy import select

from config import ProductionConfig, TestingConfig
from rentalcoop import ConfigurationError, worker_count
from rentalcoop.accounts import services
from rentalcoop.accounts.models import UserSession
from rentalcoop.db import utcnow
from rentalcoop.extensions import db
from rentalcoop.jobs import run_all
from tests import factories
from tests.helpers import login, logout, post_form


@pytest.fixture
def person(app):
    with app.app_context():
        factories.user(email="known@example.org")
        db.session.commit()


@pytest.fixture
def hash_calls(monkeypatch):
    """Counts of password hashes made and checked by the account services."""
    calls = {"generate": 0, "check": 0, "token": 0}
    generate, check, token = (
        services.generate_password_hash,
        services.check_password_hash,
        services._token_hash,
    )

    def counting(name, real):
        def wrapper(*args, **kwargs):
            calls[name] += 1
            return real(*args, **kwargs)

        return wrapper

    monkeypatch.setattr(services, "generate_password_hash", counting("generate", generate))
    monkeypatch.setattr(services, "check_password_hash", counting("check", check))
    monkeypatch.setattr(services, "_token_hash", counting("token", token))

    def taken():
        seen = dict(calls)
        for key in calls:
            calls[key] = 0
        return seen

    return taken


def test_log_in_costs_the_same_hash_work_for_an_unknown_address(client, person, hash_calls):
    work = {}
    for email, password in [
        ("nobody@example.org", "whatever password"),
        ("known@example.org", "wrong password here"),
        ("nobody2@example.org", "whatever password"),
    ]:
        token_page = client.get("/login")
        assert token_page.status_code == 200
        hash_calls()
        assert login(client, email, password).status_code == 422
        work[email] = hash_calls()
    assert work["nobody@example.org"] == work["known@example.org"] == work["nobody2@example.org"]
    assert work["known@example.org"] == {"generate": 0, "check": 1, "token": 0}


def test_reset_request_costs_the_same_hash_work_for_an_unknown_address(client, person, hash_calls):
    work = {}
    for email in ("nobody@example.org", "known@example.org"):
        client.get("/reset")
        hash_calls()
        assert post_form(client, "/reset", {"email": email}).status_code == 303
        work[email] = hash_calls()
    assert work["nobody@example.org"] == work["known@example.org"]
    assert work["known@example.org"]["token"] == 1


def _limited_app(make_app, **limits):
    settings = {
        "RATELIMIT_ENABLED": True,
        "RATELIMIT_STORAGE_URI": "memory://",
        "LOGIN_RATE_LIMIT": "100 per hour",
        "LOGIN_ACCOUNT_RATE_LIMIT": "100 per hour",
        **limits,
    }
    return make_app(TestingConfig, **settings)


def _client_from(app, address):
    client = app.test_client()
    client.environ_base["REMOTE_ADDR"] = address
    return client


def test_failed_log_ins_are_limited_per_account_across_addresses(make_app, person):
    app = _limited_app(make_app, LOGIN_ACCOUNT_RATE_LIMIT="3 per hour")
    with app.app_context():
        factories.user(email="other@example.org")
        db.session.commit()
    statuses = [
        login(_client_from(app, f"10.0.0.{n}"), "known@example.org", "wrong password!").status_code
        for n in range(1, 6)
    ]
    assert statuses == [422, 422, 422, 429, 429]
    # Another account is not held back, from one of the same addresses.
    assert (
        login(_client_from(app, "10.0.0.1"), "other@example.org", "nope nope!").status_code == 422
    )
    # Nor does a correct password count against its own account.
    assert login(_client_from(app, "10.0.0.9"), "other@example.org").status_code == 303


def test_log_ins_are_limited_per_address_across_accounts(make_app, person):
    app = _limited_app(make_app, LOGIN_RATE_LIMIT="2 per hour")
    client = _client_from(app, "10.0.1.1")
    statuses = [login(client, f"u{n}@example.org", "wrong password!").status_code for n in range(3)]
    assert statuses == [422, 422, 429]
    assert login(_client_from(app, "10.0.1.2"), "known@example.org").status_code == 303


def _copy_cookies(source, target):
    for cookie in source._cookies.values():
        target.set_cookie(cookie.key, cookie.value, domain=cookie.domain, path=cookie.path)


def test_a_session_cookie_copied_before_log_out_stops_working(app, client, person):
    assert login(client, "known@example.org").status_code == 303
    thief = app.test_client()
    _copy_cookies(client, thief)
    other_device = app.test_client()
    assert login(other_device, "known@example.org").status_code == 303
    assert thief.get("/account").status_code == 200  # the copy works while the session lives
    assert logout(client).status_code == 303
    assert thief.get("/account").status_code == 302  # to the log-in page
    assert client.get("/account").status_code == 302
    # A plain log-out ends this session only: the user's other device stays logged in.
    assert other_device.get("/account").status_code == 200
    with app.app_context():
        rows = db.session.scalars(select(UserSession)).all()
        assert sorted(r.ended_at is None for r in rows) == [False, True]


def test_a_remember_me_cookie_copied_before_log_out_stops_working(app, client, person):
    assert login(client, "known@example.org", remember="y").status_code == 303
    remember = client.get_cookie("remember_token")
    assert remember is not None
    thief = app.test_client()
    thief.set_cookie("remember_token", remember.value)
    assert thief.get("/account").status_code == 200
    thief2 = app.test_client()
    thief2.set_cookie("remember_token", remember.value)
    logout(client)
    assert thief2.get("/account").status_code == 302


def test_log_out_everywhere_still_ends_every_session(app, client, person):
    login(client, "known@example.org")
    other_device = app.test_client()
    login(other_device, "known@example.org")
    post_form(client, "/account/logout-everywhere", {}, form_url="/account")
    assert other_device.get("/account").status_code == 302


def test_a_session_id_from_before_server_sessions_is_not_accepted(app, person):
    client = app.test_client()
    with app.app_context():
        user = services.find_user_by_email("known@example.org")
        old_style = f"{user.id}:{user.session_version}"
    with client.session_transaction() as session:
        session["_user_id"] = old_style
        session["_fresh"] = True
    assert client.get("/account").status_code == 302


def test_a_session_older_than_its_max_age_no_longer_logs_in(app, client, person):
    assert login(client, "known@example.org", remember="y").status_code == 303
    assert client.get("/account").status_code == 200
    with app.app_context():
        row = db.session.scalars(select(UserSession)).one()
        row.created_at = utcnow() - timedelta(days=app.config["SESSION_MAX_AGE_DAYS"], minutes=1)
        db.session.commit()
    assert client.get("/account").status_code == 302  # the remember-me cookie lapsed with it


def test_the_jobs_forget_ended_and_lapsed_sessions_and_keep_live_ones(app, person):
    max_age = timedelta(days=app.config["SESSION_MAX_AGE_DAYS"])
    with app.app_context():
        user = services.find_user_by_email("known@example.org")
        now = utcnow()
        rows = {
            "live": UserSession(user_id=user.id, key_hash="a" * 64, created_at=now),
            "just ended": UserSession(
                user_id=user.id, key_hash="b" * 64, created_at=now, ended_at=now
            ),
            "ended two days ago": UserSession(
                user_id=user.id,
                key_hash="c" * 64,
                created_at=now - timedelta(days=3),
                ended_at=now - timedelta(days=2),
            ),
            "lapsed": UserSession(
                user_id=user.id, key_hash="d" * 64, created_at=now - max_age - timedelta(hours=1)
            ),
        }
        db.session.add_all(rows.values())
        db.session.commit()
        assert run_all("purge-sessions") == {"purge-sessions": 2}
        left = set(db.session.scalars(select(UserSession.key_hash)))
        assert left == {"a" * 64, "b" * 64}


PRODUCTION = {"SECRET_KEY": "x" * 40, "RATELIMIT_ENABLED": True}


def test_production_refuses_memory_rate_limits_with_several_workers(make_app):
    with pytest.raises(ConfigurationError, match="RATELIMIT_STORAGE_URI=redis://"):
        make_app(ProductionConfig, **PRODUCTION, RATELIMIT_STORAGE_URI="memory://", WORKERS=4)


def test_production_starts_with_one_worker_or_shared_storage(make_app):
    make_app(ProductionConfig, **PRODUCTION, RATELIMIT_STORAGE_URI="memory://", WORKERS=1)
    make_app(
        ProductionConfig, **PRODUCTION, RATELIMIT_STORAGE_URI="redis://127.0.0.1:6379/15", WORKERS=4
    )


def test_development_warns_loudly_instead(make_app, caplog):
    make_app(TestingConfig, RATELIMIT_ENABLED=True, RATELIMIT_STORAGE_URI="memory://", WORKERS=3)
    assert any("3 times looser" in r.getMessage() for r in caplog.records)


@pytest.mark.parametrize(
    ("argv", "environ", "expected"),
    [
        (["gunicorn", "-w", "4", "wsgi:app"], {}, 4),
        (["gunicorn", "--workers=3", "wsgi:app"], {}, 3),
        (["gunicorn", "-w2", "wsgi:app"], {}, 2),
        (["gunicorn", "wsgi:app"], {"GUNICORN_CMD_ARGS": "--workers 5"}, 5),
        (["gunicorn", "wsgi:app"], {"WEB_CONCURRENCY": "6"}, 6),
        (["flask", "run"], {}, 1),
    ],
)
def test_worker_count_reads_gunicorn_and_web_concurrency(argv, environ, expected):
    assert worker_count(environ, argv) == expected


def _redis_available() -> bool:
    try:
        import redis

        redis.Redis(host="127.0.0.1", port=6379, socket_connect_timeout=0.5).ping()
    except Exception:  # noqa: BLE001 - any failure: no Redis here
        return False
    return True


@pytest.mark.skipif(not _redis_available(), reason="no Redis on 127.0.0.1:6379")
def test_limits_are_counted_in_redis_when_configured(make_app):
    import redis

    # An account of this run's own: other runs (both passes of `make test` run at once, other
    # checkouts too) count in the same Redis, so this test neither flushes it nor shares keys.
    run = uuid.uuid4()
    email = f"redis-{run.hex[:12]}@example.org"
    network = f"10.{run.bytes[0]}.{run.bytes[1]}"  # the per-address limit counts in Redis too
    store = redis.Redis(host="127.0.0.1", port=6379, db=15)
    app = _limited_app(
        make_app,
        RATELIMIT_STORAGE_URI="redis://127.0.0.1:6379/15",
        LOGIN_ACCOUNT_RATE_LIMIT="2 per hour",
    )
    with app.app_context():
        factories.user(email=email)
        db.session.commit()
    try:
        statuses = [
            login(_client_from(app, f"{network}.{n}"), email, "wrong password!").status_code
            for n in range(3)
        ]
        assert statuses == [422, 422, 429]
        assert store.keys(f"*login-account:{email}*")
    finally:
        for key in store.keys(f"*login-account:{email}*") + store.keys(f"*{network}.*"):
            store.delete(key)
