"""20 guests race for overlapping nights of one listing: exactly one wins (DESIGN §3, §15).

Real threads, real commits, one real database (SQLite file or PostgreSQL): the same shape as the
measurement that showed "check, then insert" double-booking 30 of 30 rounds.
"""

import threading
import traceback
from datetime import timedelta

import pytest
from sqlalchemy import func, select

from rentalcoop.bookings.models import BookedNight, Booking, BookingEvent
from rentalcoop.db import utcnow
from rentalcoop.extensions import db
from tests import factories
from tests.helpers import csrf_token, login, text_of

RACERS = 20


@pytest.mark.parametrize("instant", [False, True])
def test_twenty_guests_racing_for_overlapping_nights(app, instant):
    start = utcnow().date() + timedelta(days=40)
    with app.app_context():
        home = factories.listing(is_instant_book=instant, max_guests=4)
        for n in range(RACERS):
            factories.user(email=f"racer{n}@example.org")
        db.session.commit()
        listing_id = home.id

    clients = []
    for n in range(RACERS):
        client = app.test_client()
        login(client, f"racer{n}@example.org")
        # Stays that all share the night start+2 but otherwise differ.
        check_in = start + timedelta(days=n % 3)
        check_out = check_in + timedelta(days=3)
        url = f"/listings/{listing_id}/book?check_in={check_in}&check_out={check_out}&guests=1"
        data = {
            "csrf_token": csrf_token(client, url),
            "check_in": check_in.isoformat(),
            "check_out": check_out.isoformat(),
            "guests": "1",
            "accept_rules": "y",
        }
        clients.append((client, data))

    barrier = threading.Barrier(RACERS)
    results: list = [None] * RACERS

    def race(n):
        client, data = clients[n]
        barrier.wait()
        try:
            response = client.post(f"/listings/{listing_id}/book?lang=en", data=data)
            results[n] = (response.status_code, text_of(response))
        except Exception:  # noqa: BLE001 - reported below
            results[n] = (None, traceback.format_exc())

    threads = [threading.Thread(target=race, args=(n,)) for n in range(RACERS)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)

    errors = [body for status, body in results if status is None]
    assert not errors, errors[:3]
    statuses = sorted(status for status, _body in results)
    assert statuses.count(303) == 1, results
    assert statuses.count(409) == RACERS - 1, statuses
    for status, body in results:
        if status == 409:
            assert "no longer available" in body

    with app.app_context():
        assert db.session.scalar(select(func.count()).select_from(Booking)) == 1
        booking = db.session.scalar(select(Booking))
        nights = db.session.scalars(
            select(BookedNight.night).where(BookedNight.listing_id == listing_id)
        ).all()
        assert sorted(nights) == [booking.check_in + timedelta(days=d) for d in range(3)]
        # No orphans: every night row and event belongs to the one booking.
        assert db.session.scalar(select(func.count()).select_from(BookingEvent)) == 1
        assert (
            db.session.scalar(
                select(func.count())
                .select_from(BookedNight)
                .where(BookedNight.booking_id != booking.id)
            )
            == 0
        )


def test_the_database_itself_refuses_a_double_booking(app):
    """Even with the pre-check skipped, the primary key refuses a second hold of a night."""
    from sqlalchemy.exc import IntegrityError

    with app.app_context():
        first = factories.booking(state="confirmed")
        night = first.check_in
        db.session.commit()
        db.session.add(BookedNight(listing_id=first.listing_id, night=night, booking_id=first.id))
        with pytest.raises(IntegrityError):
            db.session.commit()
        db.session.rollback()
