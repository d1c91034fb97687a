"""Calendar sync tests fetch from local servers: loopback is allowed here, and only here."""

import pytest

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
def rctx(app):
    """A request context (translated messages need a locale) for service-level tests."""
    with app.test_request_context("/?lang=en"):
        yield
