import pytest


@pytest.fixture
def app_config(tmp_path):
    """Photos go to this test's own directory."""
    return {"UPLOAD_DIR": str(tmp_path / "uploads")}


@pytest.fixture
def rctx(app):
    """A request context (translated messages need a locale) for service-level tests."""
    with app.test_request_context("/?lang=en"):
        yield
