"""Rate limits, error pages and production configuration."""

import pytest

from config import ProductionConfig, TestingConfig
from rentalcoop import ConfigurationError, create_app
from tests.helpers import csrf_token, text_of


@pytest.fixture
def app_config():
    return {
        "RATELIMIT_ENABLED": True,
        "LOGIN_RATE_LIMIT": "3 per minute",
        "RESET_RATE_LIMIT": "2 per minute",
    }


def test_login_is_rate_limited(client):
    token = csrf_token(client, "/login")
    data = {"csrf_token": token, "email": "x@example.org", "password": "wrong password"}
    statuses = [client.post("/login", data=data).status_code for _ in range(4)]
    assert statuses == [422, 422, 422, 429]
    page = client.post("/login?lang=en", data=data)
    assert page.status_code == 429
    assert "Too many attempts" in text_of(page)
    assert client.get("/login").status_code == 200  # reading the form is not limited


def test_reset_is_rate_limited(client):
    token = csrf_token(client, "/reset")
    data = {"csrf_token": token, "email": "x@example.org"}
    statuses = [client.post("/reset", data=data).status_code for _ in range(3)]
    assert statuses == [303, 303, 429]


def test_production_refuses_the_default_secret(monkeypatch, make_app):
    monkeypatch.setattr(ProductionConfig, "SECRET_KEY", "dev-only-change-me")
    with pytest.raises(ConfigurationError):
        create_app(ProductionConfig, SQLALCHEMY_DATABASE_URI="sqlite://")
    with pytest.raises(ConfigurationError):
        create_app(ProductionConfig, SQLALCHEMY_DATABASE_URI="sqlite://", SECRET_KEY="short")
    app = make_app(ProductionConfig, SECRET_KEY="x" * 40)
    assert app.config["SESSION_COOKIE_SECURE"] is True
    assert app.config["SESSION_COOKIE_HTTPONLY"] is True
    assert app.config["SESSION_COOKIE_SAMESITE"] == "Lax"


def test_production_sends_hsts(make_app):
    app = make_app(ProductionConfig, SECRET_KEY="y" * 40)
    response = app.test_client().get("/healthz")
    assert "max-age" in response.headers["Strict-Transport-Security"]


def test_demo_data_is_refused_in_production(make_app):
    app = make_app(ProductionConfig, SECRET_KEY="z" * 40)
    result = app.test_cli_runner().invoke(args=["demo-data"])
    assert result.exit_code != 0
    assert "development only" in result.output


@pytest.mark.parametrize(
    ("code", "english"),
    [
        (400, "Bad request"),
        (403, "Access denied"),
        (404, "Page not found"),
        (405, "Method not allowed"),
        (409, "Conflict"),
        (422, "Invalid input"),
        (429, "Too many attempts"),
        (500, "Something went wrong"),
    ],
)
def test_error_pages_are_translated_and_hide_details(make_app, code, english):
    from flask import abort

    app = make_app(TestingConfig, RENDER_500_IN_TESTS=True)

    @app.get("/boom/<int:status>")
    def boom(status):
        if status == 500:
            raise RuntimeError("secret internals")
        abort(status)

    client = app.test_client()
    response = client.get(f"/boom/{code}?lang=en")
    assert response.status_code == code
    assert english in text_of(response)
    assert "secret internals" not in text_of(response)
    assert "Traceback" not in text_of(response)
    swedish = client.get(f"/boom/{code}?lang=sv")
    assert english not in text_of(swedish)


def test_405_on_wrong_method(client):
    response = client.delete("/")
    assert response.status_code == 405
    assert "GET" in response.headers["Allow"]


def test_json_clients_get_json_errors(client):
    response = client.get("/no-such-page", headers={"Accept": "application/json"})
    assert response.status_code == 404
    assert response.get_json()["error"]
