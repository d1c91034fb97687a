"""Fixtures for payment tests: an app on the manual provider (default) or on Stripe over an
in-process fake transport, and the people and homes a payment needs."""

from __future__ import annotations

import pytest
import stripe

from rentalcoop.extensions import db
from tests import factories
from tests.payments.fake_stripe import API_BASE, FakeStripe

WEBHOOK_SECRET = "whsec_test_account"
CONNECT_SECRET = "whsec_test_connect"


@pytest.fixture(autouse=True)
def _no_stripe_network(monkeypatch):
    """Should anything reach for Stripe's global client, it finds an address that never
    resolves and no key (the fake transport is what the provider uses)."""
    monkeypatch.setattr(stripe, "api_base", API_BASE)
    monkeypatch.setattr(stripe, "api_key", None)


@pytest.fixture
def fake_stripe():
    return FakeStripe()


@pytest.fixture
def stripe_app(make_app, fake_stripe):
    return make_app(
        PAYMENT_PROVIDER="stripe",
        STRIPE_SECRET_KEY="sk_test_rentalcoop",
        STRIPE_WEBHOOK_SECRET=WEBHOOK_SECRET,
        STRIPE_CONNECT_WEBHOOK_SECRET=CONNECT_SECRET,
        STRIPE_API_BASE=API_BASE,
        STRIPE_HTTP_CLIENT=fake_stripe,
        STRIPE_MAX_NETWORK_RETRIES=0,
        SERVER_NAME="rentalcoop.test",
    )


@pytest.fixture
def people(app):
    """A board member, a host with a home, a guest and a second guest (ids)."""
    return _people(app)


@pytest.fixture
def stripe_people(stripe_app):
    return _people(stripe_app)


def _people(application):
    with application.app_context():
        board = factories.user(email="board@example.org", name="Britt Board", board=True)
        host = factories.host(email="host@example.org", name="Hanna Host")
        guest = factories.user(email="guest@example.org", name="Gustav Gäst")
        other = factories.user(email="other@example.org", name="Olga Other")
        municipality = factories.user(email="town@example.org", municipality=True)
        home = factories.listing(
            host=host,
            nightly_price_ore=100_000,
            cleaning_fee_ore=30_000,
            cancellation_policy="flexible",
        )
        db.session.commit()
        return {
            "board": board.id,
            "host": host.id,
            "guest": guest.id,
            "other": other.id,
            "municipality": municipality.id,
            "listing": home.id,
        }
