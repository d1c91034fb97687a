"""DESIGN §8: availability is re-checked when a payment completes, because other platforms
refresh with hours of lag — so a night imported over a held booking must stop its confirmation.

Known gap (reported, not fixed here: bookings/services.py is another feature's): `confirm_paid`
re-checks through `availability.unavailable_nights`, which keeps one kind per night with
"booked" first (KIND_PRIORITY), so an imported night under the booking's own hold reads as
"booked" and the payment confirms the stay anyway. Remove the xfail once `_only_own_nights`
asks every other source directly.
"""

from datetime import timedelta

import pytest

from rentalcoop.bookings import services as bookings
from rentalcoop.bookings.models import BookingState
from rentalcoop.calendar.models import CalendarFeed, ImportedBlock
from rentalcoop.extensions import db
from rentalcoop.listings.pricing import coop_date
from tests import factories


@pytest.mark.xfail(
    strict=True, reason="confirm_paid's re-check does not see imported nights under its hold"
)
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
