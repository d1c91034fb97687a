"""`flask jobs run` in two processes at once does nothing twice (issue 4, item 7)."""

import threading
from datetime import timedelta

from sqlalchemy import func, select

from rentalcoop.bookings import services
from rentalcoop.bookings.models import Booking, BookingEvent, BookingState
from rentalcoop.db import utcnow
from rentalcoop.extensions import db
from rentalcoop.ledger.models import LedgerTransaction
from tests import factories


def _twice_at_once(app, job):
    barrier = threading.Barrier(2)
    counts, errors = [], []

    def run():
        with app.app_context():
            barrier.wait()
            try:
                counts.append(job())
            except Exception as err:  # noqa: BLE001 - reported below
                errors.append(repr(err))
            finally:
                db.session.remove()

    threads = [threading.Thread(target=run) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    assert errors == []
    return counts


def test_two_runners_expire_each_hold_once(app):
    with app.app_context():
        home = factories.listing()
        start = utcnow().date() + timedelta(days=30)
        for n in range(12):
            hold = factories.booking(
                listing=home,
                state="pending_payment",
                check_in=start + timedelta(days=3 * n),
                nights=2,
            )
            hold.expires_at = utcnow() - timedelta(minutes=1)
        db.session.commit()
    counts = _twice_at_once(app, services.expire_due)
    assert sum(counts) == 12
    with app.app_context():
        assert set(db.session.scalars(select(Booking.state))) == {BookingState.EXPIRED}
        expired_events = db.session.scalar(
            select(func.count()).select_from(BookingEvent).where(BookingEvent.to_state == "expired")
        )
        assert expired_events == 12


def test_two_runners_complete_each_stay_once(app):
    with app.app_context():
        home = factories.listing()
        start = utcnow().date() - timedelta(days=60)
        for n in range(10):
            factories.booking(
                listing=home,
                state="confirmed",
                check_in=start + timedelta(days=4 * n),
                nights=2,
                created_at=utcnow() - timedelta(days=90),
            )
        db.session.commit()
    counts = _twice_at_once(app, services.complete_due)
    assert sum(counts) == 10
    with app.app_context():
        assert set(db.session.scalars(select(Booking.state))) == {BookingState.COMPLETED}
        earned = db.session.scalar(
            select(func.count())
            .select_from(LedgerTransaction)
            .where(LedgerTransaction.kind == "stay_completed")
        )
        assert earned >= 10  # one per night-year of each stay, never twice (unique keys)
