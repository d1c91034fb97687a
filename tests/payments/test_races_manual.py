"""The board matching a payment by its reference while something else acts on the booking
(issue 15, part A), several rounds at a barrier with real commits: the expiry job lapsing the
hold, and a second board member entering the same payment. Whoever wins, the books, nights and
refunds agree (`rentalcoop.invariants`) and nobody gets a 500."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import select

from rentalcoop import invariants
from rentalcoop.accounts.models import User
from rentalcoop.bookings import services as bookings
from rentalcoop.bookings.models import Booking, BookingState
from rentalcoop.db import utcnow
from rentalcoop.extensions import db
from rentalcoop.listings.models import Listing
from rentalcoop.payments.models import Payment, PaymentState
from tests import factories
from tests.helpers import csrf_token, login
from tests.races import post, race

ROUNDS = 5


@pytest.fixture
def boards(app):
    """Two board members logged in, each with a form token, and a guest's home."""
    with app.app_context():
        factories.user(email="board@example.org", board=True)
        factories.user(email="treasurer@example.org", board=True)
        host = factories.host(email="host@example.org")
        factories.user(email="guest@example.org")
        factories.listing(host=host, nightly_price_ore=100_000, cancellation_policy="flexible")
        db.session.commit()
    people = []
    for email in ("board@example.org", "treasurer@example.org"):
        client = app.test_client()
        login(client, email)
        people.append((client, csrf_token(client, "/board/payments")))
    return people


def _pending(app, round_: int, *, lapsed: bool = False) -> tuple[int, str, str]:
    with app.app_context():
        booking = factories.booking(
            listing=db.session.scalar(select(Listing)),
            guest=db.session.scalar(select(User).where(User.email == "guest@example.org")),
            check_in=utcnow().date() + timedelta(days=40 + 5 * round_),
            state="pending_payment",
        )
        if lapsed:
            booking.expires_at = utcnow() - timedelta(minutes=1)
        db.session.commit()
        return booking.id, booking.code, f"{booking.total_ore // 100},{booking.total_ore % 100:02d}"


def _consistent(app, booking_id: int) -> Booking:
    with app.app_context():
        assert invariants.violations() == []
        booking = db.session.get(Booking, booking_id)
        payments = db.session.scalars(select(Payment).where(Payment.booking_id == booking_id)).all()
        assert [p.state for p in payments] == [PaymentState.SUCCEEDED]
        db.session.expunge(booking)
        return booking


def test_two_board_members_enter_the_same_payment(app, boards):
    (first, first_token), (second, second_token) = boards
    for round_ in range(ROUNDS):
        booking_id, code, amount = _pending(app, round_)
        statuses = race(
            post(
                first,
                "/board/payments/match",
                {"csrf_token": first_token, "reference": code, "amount": amount},
            ),
            post(
                second,
                "/board/payments/match",
                {"csrf_token": second_token, "reference": code, "amount": amount},
            ),
        )
        assert sorted(statuses) == [303, 409], statuses  # one marks it, the other is told
        booking = _consistent(app, booking_id)
        assert booking.state == BookingState.CONFIRMED


def test_the_expiry_job_lapses_the_hold_while_the_board_enters_the_payment(app, boards):
    board, token = boards[0]

    def expire():
        with app.app_context():
            try:
                return bookings.expire_due()
            finally:
                db.session.remove()

    for round_ in range(ROUNDS):
        booking_id, code, amount = _pending(app, round_, lapsed=True)
        expired, status = race(
            expire,
            post(
                board,
                "/board/payments/match",
                {"csrf_token": token, "reference": code, "amount": amount},
            ),
        )
        assert status == 303
        booking = _consistent(app, booking_id)
        assert booking.paid_at is not None
        if expired:  # the hold ended first: the money goes back in full
            assert booking.state == BookingState.EXPIRED
            assert booking.refund_total_ore == booking.total_ore
        else:
            assert booking.state == BookingState.CONFIRMED


def test_the_guest_picks_bank_giro_while_the_board_enters_the_payment(app, boards):
    from rentalcoop.payments.manual.models import PaymentSettings

    board, board_token = boards[0]
    guest = app.test_client()
    login(guest, "guest@example.org")
    guest_token = csrf_token(guest, "/account")
    with app.app_context():
        row = db.session.get(PaymentSettings, 1)
        row.payee_name, row.swish_number, row.bankgiro_number = (
            "Föreningen",
            "1231181189",
            "9991233",
        )
        db.session.commit()
    for round_ in range(ROUNDS):
        booking_id, code, amount = _pending(app, round_)
        chose, marked = race(
            post(
                guest,
                f"/bookings/{booking_id}/pay/method",
                {"csrf_token": guest_token, "method": "bankgiro"},
            ),
            post(
                board,
                "/board/payments/match",
                {"csrf_token": board_token, "reference": code, "amount": amount},
            ),
        )
        assert marked == 303
        assert chose in (303, 409)  # too late once the stay is paid
        booking = _consistent(app, booking_id)
        assert booking.state == BookingState.CONFIRMED
        assert booking.expires_at is None
