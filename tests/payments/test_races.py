"""The guest cancels while Stripe reports the payment (issue 12), several rounds at a barrier:
either the stay was paid and then cancelled under the policy, or the cancellation came first and
the payment goes back in full — never a cancelled booking holding money without its refund."""

from __future__ import annotations

from sqlalchemy import select

from rentalcoop import invariants
from rentalcoop.bookings.models import Booking, BookingEvent, BookingState
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


# --- issue 15 (B) ------------------------------------------------------------------------------


def _headers(payload: str) -> dict:
    return {
        "Stripe-Signature": signature(payload, WEBHOOK_SECRET),
        "Content-Type": "application/json",
    }


def test_async_payment_succeeded_while_the_expiry_job_runs(stripe_app, fake_stripe, stripe_people):
    """The delayed hold ran out just as the money arrived: either the stay is confirmed (the
    webhook first) or it expired and the late money goes back in full — never both, never a
    confirmed stay without its nights."""
    from rentalcoop.bookings import services as bookings
    from rentalcoop.db import utcnow

    stripe = stripe_app.test_client()
    outcomes = set()
    for round_ in range(ROUNDS):
        booking_id = _pending(stripe_app, stripe_people, days_ahead=30 + 5 * round_)
        session_id = _open_checkout(stripe_app, booking_id)
        unpaid = fake_stripe.pay_session(session_id, method="sepa_debit", delayed=True)
        done = event("checkout.session.completed", unpaid, event_id=f"evt_unpaid_{round_}")
        assert (
            stripe.post("/webhooks/stripe", data=done.encode(), headers=_headers(done)).status_code
            == 200
        )
        with stripe_app.app_context():
            db.session.execute(
                Booking.__table__.update()
                .where(Booking.id == booking_id)
                .values(expires_at=utcnow())
            )
            db.session.commit()
        paid = fake_stripe.settle_delayed(session_id, succeeded=True)
        payload = event(
            "checkout.session.async_payment_succeeded", paid, event_id=f"evt_ok_{round_}"
        )

        def expire():
            with stripe_app.app_context():
                try:
                    return bookings.expire_due()
                finally:
                    db.session.remove()

        delivered, _expired = race(
            lambda p=payload: (
                stripe.post("/webhooks/stripe", data=p.encode(), headers=_headers(p)).status_code
            ),
            expire,
        )
        assert delivered == 200
        with stripe_app.app_context():
            assert invariants.violations() == []
            booking = db.session.get(Booking, booking_id)
            assert booking.paid_at is not None
            outcomes.add(booking.state)
            if booking.state == BookingState.EXPIRED:
                refund = db.session.scalar(select(Refund).where(Refund.booking_id == booking_id))
                assert refund.amount_ore == booking.total_ore
            else:
                assert booking.state == BookingState.CONFIRMED
                assert booking.refund_total_ore == 0
    assert outcomes <= {BookingState.CONFIRMED, BookingState.EXPIRED}


def test_dispute_created_while_payouts_are_released(stripe_app, fake_stripe, stripe_people):
    """The payout is either held (the dispute first) or paid and the host's share taken back
    (the run first, or while it was sending) — never paid and left with the host."""
    from rentalcoop.db import utcnow
    from rentalcoop.payments import services
    from rentalcoop.payments.models import Dispute, HostPaymentAccount, Payout, PayoutState

    with stripe_app.app_context():
        db.session.add(
            HostPaymentAccount(
                user_id=stripe_people["host"],
                stripe_account_id="acct_test_host",
                payouts_enabled=True,
            )
        )
        db.session.commit()
    stripe = stripe_app.test_client()
    seen = set()
    for round_ in range(ROUNDS):
        booking_id = _pending(stripe_app, stripe_people, days_ahead=-30 + 4 * round_)
        session = fake_stripe.pay_session(_open_checkout(stripe_app, booking_id))
        paid = event("checkout.session.completed", session, event_id=f"evt_pd_{round_}")
        assert (
            stripe.post("/webhooks/stripe", data=paid.encode(), headers=_headers(paid)).status_code
            == 200
        )
        payload = event(
            "charge.dispute.created",
            fake_stripe.dispute(session["id"]),
            event_id=f"evt_dr_{round_}",
        )

        def release():
            with stripe_app.app_context():
                try:
                    return services.release_due_payouts(utcnow())
                finally:
                    db.session.remove()

        delivered, _released = race(
            lambda p=payload: (
                stripe.post("/webhooks/stripe", data=p.encode(), headers=_headers(p)).status_code
            ),
            release,
        )
        assert delivered == 200
        with stripe_app.app_context():
            services.send_pending()  # what the request's after-commit sending may have missed
            db.session.commit()
            assert invariants.violations() == []
            payout = db.session.scalar(select(Payout).where(Payout.booking_id == booking_id))
            dispute = db.session.scalar(select(Dispute).where(Dispute.booking_id == booking_id))
            seen.add(payout.state)
            if payout.state == PayoutState.PAID:
                assert dispute.reversal_ore == payout.amount_ore
                assert dispute.reversal_ref is not None
            else:
                assert payout.state == PayoutState.HELD
    assert seen <= {PayoutState.PAID, PayoutState.HELD}


def test_two_deliveries_of_an_event_that_must_wait(stripe_app, fake_stripe, stripe_people):
    """`charge.refunded` before its payment, delivered twice at once: kept once, applied once."""
    from rentalcoop.payments.models import WebhookEvent, WebhookState

    booking_id = _pending(stripe_app, stripe_people)
    session_id = _open_checkout(stripe_app, booking_id)
    session = fake_stripe.pay_session(session_id)
    charge = dict(fake_stripe.charge_of_session(session_id), amount_refunded=1)
    payload = event("charge.refunded", charge, event_id="evt_wait_twice")
    clients = [stripe_app.test_client() for _ in range(2)]
    results = race(
        *[
            lambda c=c: c.post(
                "/webhooks/stripe", data=payload.encode(), headers=_headers(payload)
            ).get_json()["duplicate"]
            for c in clients
        ]
    )
    assert sorted(results) == [False, True]
    with stripe_app.app_context():
        assert db.session.get(WebhookEvent, "evt_wait_twice").state == WebhookState.PENDING
    done = event("checkout.session.completed", session, event_id="evt_wait_done")
    assert (
        clients[0].post("/webhooks/stripe", data=done.encode(), headers=_headers(done)).status_code
        == 200
    )
    with stripe_app.app_context():
        assert db.session.get(WebhookEvent, "evt_wait_twice").state == WebhookState.APPLIED
        notes = db.session.scalars(
            select(BookingEvent.note).where(BookingEvent.note.contains("refunded in Stripe"))
        ).all()
        assert len(notes) == 1
        assert invariants.violations() == []
