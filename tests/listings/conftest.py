import pytest


@pytest.fixture
def rctx(app):
    """A request context (translated messages need a locale) for service-level tests."""
    with app.test_request_context("/?lang=en"):
        yield
