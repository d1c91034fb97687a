"""DESIGN §8: availability is re-checked when a payment completes, because other platforms
refresh with hours of lag — so a night imported over a held booking must stop its confirmation.

The booking's own held nights are "booked"; the re-check asks every other source directly so an
imported night under them is not hidden behind that kind.
"""

from datetime import timedelta

from rentalcoop.bookings import services as bookings
from rentalcoop.bookings.models import BookingState
from rentalcoop.calendar.models import CalendarFeed, ImportedBlock
from rentalcoop.extensions import db
from rentalcoop.listings.pricing import coop_date
from tests import factories


def test_payment_after_an_import_over_the_hold_does_not_confirm(app):
    with app.test_request_context("/?lang=en"):
        listing = factories.listing()
        booking = factories.booking(
            listing=listing,
            check_in=coop_date() + timedelta(days=10),
            nights=2,
            state="pending_payment",
        )
        feed = CalendarFeed(listing_id=listing.id, name="Airbnb", url="https://example.org/a")
        db.session.add(feed)
        db.session.flush()
        db.session.add(
            ImportedBlock(feed_id=feed.id, uid="hm", night=booking.check_in, listing_id=listing.id)
        )
        db.session.flush()
        assert not bookings.confirm_paid(booking)
        assert booking.state != BookingState.CONFIRMED
