"""Two people act on one booking at the same instant (issue 12): each pair of conflicting
actions, several rounds, real commits, threads at a barrier. Whoever wins, the booking, its
nights, its refund, its payout and the books must agree (`rentalcoop.invariants`), the loser
gets a 409 or the outcome a serial order would give, and nobody gets a 500.

On PostgreSQL (READ COMMITTED) these failed before every change locked the booking: the guest's
cancellation decided on a state read before the board's payment committed, and both stood.
SQLite serialises every POST with its write lock, so there they pass either way.
"""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import func, select

from rentalcoop import invariants
from rentalcoop.accounts.models import User
from rentalcoop.bookings import services
from rentalcoop.bookings.models import Booking, BookingEvent, BookingState
from rentalcoop.db import utcnow
from rentalcoop.extensions import db
from rentalcoop.listings.models import Listing
from rentalcoop.payments import services as payments
from rentalcoop.payments.models import Refund
from tests import factories
from tests.helpers import csrf_token, login
from tests.races import post, race

ROUNDS = 5


@pytest.fixture
def cast(app):
    """The people of a booking, logged in, each with a form token: {role: (client, token)}."""
    with app.app_context():
        factories.user(email="board@example.org", board=True)
        host = factories.host(email="host@example.org")
        factories.user(email="guest@example.org")
        factories.listing(host=host, nightly_price_ore=100_000, cancellation_policy="flexible")
        db.session.commit()
    people = {}
    for role in ("board", "host", "guest"):
        client = app.test_client()
        login(client, f"{role}@example.org")
        people[role] = (client, csrf_token(client, "/account"))
    return people


def _booking(app, round_: int, state: str, *, paid: bool = False) -> int:
    """A booking of the guest's, `state`; paid through the board (a Payment row, the ledger and
    the payout, as in production) when `paid`."""
    with app.app_context():
        guest = db.session.scalar(select(User).where(User.email == "guest@example.org"))
        booking = factories.booking(
            listing=db.session.scalar(select(Listing)),
            guest=guest,
            check_in=utcnow().date() + timedelta(days=40 + 5 * round_),
            state="pending_payment" if paid else state,
            paid=False,
        )
        if paid:
            board = db.session.scalar(select(User).where(User.is_board))
            payments.record_payment_succeeded(booking, by=board)
            assert booking.state == state
        db.session.commit()
        return booking.id


def _assert_consistent(app, booking_id: int) -> Booking:
    with app.app_context():
        assert invariants.violations() == []
        booking = db.session.get(Booking, booking_id)
        db.session.expunge(booking)
        return booking


def _events_out_of(app, booking_id: int, state: str) -> int:
    with app.app_context():
        return db.session.scalar(
            select(func.count()).where(
                BookingEvent.booking_id == booking_id, BookingEvent.from_state == state
            )
        )


def test_guest_cancels_while_the_board_marks_it_paid(app, cast):
    (guest, guest_token), (board, board_token) = cast["guest"], cast["board"]
    for round_ in range(ROUNDS):
        booking_id = _booking(app, round_, "pending_payment")
        statuses = race(
            post(guest, f"/bookings/{booking_id}/cancel", {"csrf_token": guest_token}),
            post(board, f"/board/payments/{booking_id}/paid", {"csrf_token": board_token}),
        )
        assert statuses == [303, 303]  # either order is a legal story
        booking = _assert_consistent(app, booking_id)
        assert booking.state == BookingState.CANCELLED_BY_GUEST
        assert booking.paid_at is not None
        # Paid, then cancelled under the policy; or cancelled, then the payment all refunded.
        assert _events_out_of(app, booking_id, BookingState.PENDING_PAYMENT) == 1


def test_guest_and_host_cancel_a_paid_stay_at_once(app, cast):
    (guest, guest_token), (host, host_token) = cast["guest"], cast["host"]
    for round_ in range(ROUNDS):
        booking_id = _booking(app, round_, "confirmed", paid=True)
        statuses = race(
            post(guest, f"/bookings/{booking_id}/cancel", {"csrf_token": guest_token}),
            post(
                host,
                f"/bookings/{booking_id}/host-cancel",
                {"csrf_token": host_token, "reason": "Vattenläcka"},
            ),
        )
        assert sorted(statuses) == [303, 409], statuses  # one cancels, the other is told no
        booking = _assert_consistent(app, booking_id)
        winner = (
            BookingState.CANCELLED_BY_GUEST
            if statuses[0] == 303
            else BookingState.CANCELLED_BY_HOST
        )
        assert booking.state == winner
        with app.app_context():
            refunds = db.session.scalars(select(Refund).where(Refund.booking_id == booking_id))
            assert [r.amount_ore for r in refunds] == [booking.refund_total_ore]


def test_host_accepts_while_the_guest_cancels_the_request(app, cast):
    (guest, guest_token), (host, host_token) = cast["guest"], cast["host"]
    for round_ in range(ROUNDS):
        booking_id = _booking(app, round_, "requested")
        accepted, cancelled = race(
            post(host, f"/bookings/{booking_id}/accept", {"csrf_token": host_token}),
            post(guest, f"/bookings/{booking_id}/cancel", {"csrf_token": guest_token}),
        )
        # The guest can always cancel; the host's yes comes too late if the guest went first.
        assert cancelled == 303
        assert accepted in (303, 409)
        booking = _assert_consistent(app, booking_id)
        assert booking.state == BookingState.CANCELLED_BY_GUEST
        assert _events_out_of(app, booking_id, BookingState.REQUESTED) == 1


def test_the_expiry_job_runs_while_the_board_marks_it_paid(app, cast):
    board, board_token = cast["board"]

    def expire():
        with app.app_context():
            try:
                return services.expire_due()
            finally:
                db.session.remove()

    for round_ in range(ROUNDS):
        booking_id = _booking(app, round_, "pending_payment")
        with app.app_context():
            booking = db.session.get(Booking, booking_id)
            booking.expires_at = utcnow() - timedelta(minutes=1)  # the hold has just lapsed
            db.session.commit()
        expired, status = race(
            expire, post(board, f"/board/payments/{booking_id}/paid", {"csrf_token": board_token})
        )
        assert status == 303
        booking = _assert_consistent(app, booking_id)
        assert booking.paid_at is not None
        if expired:  # the hold ended first: the late payment goes back in full
            assert booking.state == BookingState.EXPIRED
            assert booking.refund_total_ore == booking.total_ore
        else:
            assert booking.state == BookingState.CONFIRMED


def test_a_second_click_is_a_no_op_and_a_conflicting_action_a_409(app, cast):
    """DESIGN §4: a repeat of the same action changes nothing and is no error; an action the
    booking no longer allows is refused with the translated reason."""
    (guest, guest_token), (host, host_token) = cast["guest"], cast["host"]
    booking_id = _booking(app, 0, "requested")
    cancel = {"csrf_token": guest_token}
    assert guest.post(f"/bookings/{booking_id}/cancel", data=cancel).status_code == 303
    assert guest.post(f"/bookings/{booking_id}/cancel", data=cancel).status_code == 303
    response = host.post(f"/bookings/{booking_id}/accept?lang=en", data={"csrf_token": host_token})
    assert response.status_code == 409
    assert "This booking can no longer be changed that way." in response.get_data(as_text=True)
    assert _events_out_of(app, booking_id, BookingState.REQUESTED) == 1
    _assert_consistent(app, booking_id)
