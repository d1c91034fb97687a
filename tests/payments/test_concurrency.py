"""Two of everything at once (DESIGN §15): concurrent deliveries of one webhook apply it once, and
two payout runners never send the same transfer twice — on SQLite and PostgreSQL alike.

These commit for real on the test's own database, from several threads.
"""

from __future__ import annotations

import threading
import time
from datetime import timedelta

import pytest
from sqlalchemy import func, select

from rentalcoop.accounts.models import User
from rentalcoop.bookings.models import Booking, BookingEvent, BookingState
from rentalcoop.db import utcnow
from rentalcoop.extensions import db
from rentalcoop.ledger.models import LedgerTransaction
from rentalcoop.listings.models import Listing
from rentalcoop.payments import services
from rentalcoop.payments.models import HostPaymentAccount, Payout, PayoutState, WebhookEvent
from tests import factories
from tests.payments.fake_stripe import FakeStripe, event, signature
from tests.payments.test_stripe import WEBHOOK_SECRET, _open_checkout


def _race(count: int, work) -> list:
    """Run `work(i)` in `count` threads released at the same moment; re-raise any failure."""
    start = threading.Barrier(count)
    results: list = [None] * count
    errors: list = []

    def run(i):
        try:
            start.wait()
            results[i] = work(i)
        except BaseException as err:  # noqa: BLE001 - reported below with its thread
            errors.append((i, err))

    threads = [threading.Thread(target=run, args=(i,)) for i in range(count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert not errors, errors
    return results


def _pending(application, people, *, days_ahead=30) -> int:
    with application.app_context():
        booking = factories.booking(
            listing=db.session.get(Listing, people["listing"]),
            guest=db.session.get(User, people["guest"]),
            check_in=utcnow().date() + timedelta(days=days_ahead),
            state="pending_payment",
        )
        db.session.commit()
        return booking.id


def test_concurrent_deliveries_of_one_event_apply_it_once(stripe_app, fake_stripe, stripe_people):
    booking_id = _pending(stripe_app, stripe_people)
    session_id = _open_checkout(stripe_app, booking_id)
    payload = event(
        "checkout.session.completed", fake_stripe.pay_session(session_id), event_id="evt_race"
    )
    header = signature(payload, WEBHOOK_SECRET)

    def deliver(_i):
        response = stripe_app.test_client().post(
            "/webhooks/stripe",
            data=payload.encode(),
            headers={"Stripe-Signature": header, "Content-Type": "application/json"},
        )
        return response.status_code, response.get_json()["duplicate"]

    results = _race(8, deliver)
    assert sorted(results) == [(200, False)] + [(200, True)] * 7
    with stripe_app.app_context():
        assert db.session.get(Booking, booking_id).state == BookingState.CONFIRMED
        confirmed = select(func.count()).where(BookingEvent.to_state == BookingState.CONFIRMED)
        assert db.session.scalar(confirmed) == 1
        assert db.session.scalar(select(func.count()).select_from(WebhookEvent)) == 1
        assert db.session.scalar(select(func.count()).select_from(Payout)) == 1
        ledger_rows = select(func.count()).where(LedgerTransaction.booking_id == booking_id)
        assert db.session.scalar(ledger_rows) == 1


class SlowStripe(FakeStripe):
    """Transfers take a moment, so a second runner arrives while the first is still waiting."""

    def request(self, method, url, headers, post_data=None, *, _usage=None):
        if url.endswith("/v1/transfers"):
            time.sleep(0.05)
        return super().request(method, url, headers, post_data, _usage=_usage)


@pytest.fixture
def fake_stripe():
    return SlowStripe()


def test_two_payout_runners_send_each_transfer_once(stripe_app, fake_stripe, stripe_people):
    application, slow = stripe_app, fake_stripe
    with application.app_context():
        db.session.add(
            HostPaymentAccount(
                user_id=stripe_people["host"],
                stripe_account_id="acct_test_host",
                payouts_enabled=True,
            )
        )
        db.session.commit()
    booking_ids = []
    for n in range(4):
        booking_id = _pending(application, stripe_people, days_ahead=10 + 4 * n)
        session = slow.pay_session(_open_checkout(application, booking_id))
        with application.app_context():
            booking = db.session.get(Booking, booking_id)
            services.record_payment_succeeded(
                booking, checkout_ref=session["id"], provider_ref=session["payment_intent"]
            )
            db.session.commit()
        booking_ids.append(booking_id)
    later = utcnow() + timedelta(days=60)

    def run(_i):
        with application.app_context():
            try:
                return services.release_due_payouts(later)
            finally:
                db.session.remove()

    results = _race(3, run)
    assert sum(results) == 4
    transfers = slow.calls("POST", "/v1/transfers")
    assert len(transfers) == 4  # not merely replayed by Stripe: each sent once
    assert sorted(r.idempotency_key for r in transfers) == sorted(
        f"payout-booking-{b}" for b in booking_ids
    )
    with application.app_context():
        states = db.session.scalars(select(Payout.state)).all()
        assert states == [PayoutState.PAID] * 4
