"""Calendar sync tests fetch from local servers: loopback is allowed here, and only here."""

import pytest

from rentalcoop import safe_fetch
from tests.calendar.feedserver import FeedServer


@pytest.fixture
def app_config():
    return {"CALENDAR_ALLOW_LOOPBACK": True}


@pytest.fixture
def feeds():
    """A running local feed server on 127.0.0.1."""
    with FeedServer() as server:
        yield server


@pytest.fixture
def short_timeouts(monkeypatch):
    monkeypatch.setattr(safe_fetch, "CONNECT_TIMEOUT", 0.5)
    monkeypatch.setattr(safe_fetch, "TOTAL_TIMEOUT", 0.6)


@pytest.fixture
def rctx(app):
    """A request context (translated messages need a locale) for service-level tests."""
    with app.test_request_context("/?lang=en"):
        yield
