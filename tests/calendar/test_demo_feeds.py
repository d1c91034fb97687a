"""Demo feeds (issue 13): two demo homes follow imported calendars with nights, a last
success and one last error, made offline, and the host's panel shows them."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import func, select

from rentalcoop import safe_fetch
from rentalcoop.calendar.demo import load_demo_feeds
from rentalcoop.calendar.models import CalendarConflict, CalendarFeed, ImportedBlock
from rentalcoop.extensions import db
from rentalcoop.listings.pricing import coop_date
from tests import factories
from tests.helpers import login, text_of

DAY = timedelta(days=1)


@pytest.fixture
def demo(app, monkeypatch):
    def no_network(*args, **kwargs):
        raise AssertionError("the demo must not fetch anything")

    monkeypatch.setattr(safe_fetch, "fetch", no_network)
    with app.app_context():
        one = factories.listing(host=factories.host(email="one@example.org", locale="en"))
        two = factories.listing(host=factories.host(email="two@example.org", locale="en"))
        factories.booking(listing=one, check_in=coop_date() + 12 * DAY, nights=3)
        db.session.commit()
        assert load_demo_feeds() == 3
        assert load_demo_feeds() == 0  # once
        return one.id, two.id


def test_two_homes_have_feeds_with_nights_success_and_one_error(app, demo):
    with app.app_context():
        feeds = db.session.scalars(select(CalendarFeed).order_by(CalendarFeed.id)).all()
        assert {f.listing_id for f in feeds} == set(demo)
        nights = dict(
            db.session.execute(
                select(ImportedBlock.feed_id, func.count()).group_by(ImportedBlock.feed_id)
            ).all()
        )
        assert all(nights.get(f.id, 0) > 0 for f in feeds)
        assert all(f.last_success_at is not None for f in feeds)
        failed = [f for f in feeds if f.last_error]
        assert [f.name for f in failed] == ["Vrbo"]
        assert failed[0].last_error_at > failed[0].last_success_at
        assert all(".invalid" in (f.url.split("/")[2]) for f in feeds)
        # The demo nights leave the demo bookings alone.
        assert db.session.scalar(select(func.count()).select_from(CalendarConflict)) == 0


def test_the_panel_shows_success_error_and_a_warning_naming_the_event(app, client, demo):
    login(client, "two@example.org")
    page = text_of(client.get(f"/host/listings/{demo[1]}/calendar?lang=en"))
    assert "Booking.com" in page
    assert "Vrbo" in page
    assert "did not return a calendar" in page
    assert "Event demo-weekly@booking.com:" in page
    assert "could not be expanded" in page
