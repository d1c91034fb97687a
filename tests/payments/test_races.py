"""The guest cancels while Stripe reports the payment (issue 12), several rounds at a barrier:
either the stay was paid and then cancelled under the policy, or the cancellation came first and
the payment goes back in full — never a cancelled booking holding money without its refund."""

from __future__ import annotations

from sqlalchemy import select

from rentalcoop import invariants
from rentalcoop.bookings.models import Booking, BookingState
from rentalcoop.extensions import db
from rentalcoop.payments.models import Refund
from tests.helpers import csrf_token, login
from tests.payments.conftest import WEBHOOK_SECRET
from tests.payments.fake_stripe import event, signature
from tests.payments.test_concurrency import _pending
from tests.payments.test_stripe import _open_checkout
from tests.races import race

ROUNDS = 5


def test_guest_cancels_while_checkout_completes(stripe_app, fake_stripe, stripe_people):
    guest = stripe_app.test_client()
    login(guest, "guest@example.org")
    token = csrf_token(guest, "/account")
    stripe = stripe_app.test_client()
    for round_ in range(ROUNDS):
        booking_id = _pending(stripe_app, stripe_people, days_ahead=30 + 5 * round_)
        session = fake_stripe.pay_session(_open_checkout(stripe_app, booking_id))
        payload = event("checkout.session.completed", session, event_id=f"evt_race_{round_}")
        headers = {
            "Stripe-Signature": signature(payload, WEBHOOK_SECRET),
            "Content-Type": "application/json",
        }
        cancelled, delivered = race(
            lambda b=booking_id: (
                guest.post(f"/bookings/{b}/cancel", data={"csrf_token": token}).status_code
            ),
            lambda p=payload, h=headers: (
                stripe.post("/webhooks/stripe", data=p.encode(), headers=h).status_code
            ),
        )
        assert (cancelled, delivered) == (303, 200)
        with stripe_app.app_context():
            assert invariants.violations() == []
            booking = db.session.get(Booking, booking_id)
            assert booking.state == BookingState.CANCELLED_BY_GUEST
            assert booking.paid_at is not None
            refund = db.session.scalar(select(Refund).where(Refund.booking_id == booking_id))
            assert refund is not None
            assert refund.amount_ore == booking.refund_total_ore
