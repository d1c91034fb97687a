"""Hosts see what they will really receive on every page and in every mail, from one function,
`Booking.host_receives_ore` (issue 15, build 6): a stay the guest cancelled with everything
back shows 0 kr, a late cancellation the part the host keeps."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import select

from rentalcoop import invariants, mail
from rentalcoop.accounts.models import User
from rentalcoop.bookings import services as bookings
from rentalcoop.bookings.cancellation import CancelledBy
from rentalcoop.bookings.models import Booking
from rentalcoop.db import utcnow
from rentalcoop.extensions import db
from rentalcoop.listings.models import Listing
from rentalcoop.outbox import OutboxMessage
from rentalcoop.payments import services as payments
from tests import factories
from tests.helpers import login, text_of


def _sek(ore: int) -> str:
    return f"SEK {ore // 100:,}.{ore % 100:02d}"


def _flat(html: str) -> str:
    return html.replace("\xa0", " ")


def _paid_then_cancelled(app, people, *, late: bool) -> tuple[int, int]:
    """A stay paid through the board, then cancelled by the guest: a week ahead (all back), or
    two hours before check-in (the flexible policy keeps the next night). Returns the booking
    id and what the host receives."""
    with app.app_context():
        booking = factories.booking(
            listing=db.session.get(Listing, people["listing"]),
            guest=db.session.get(User, people["guest"]),
            check_in=utcnow().date() + timedelta(days=7),
            state="pending_payment",
        )
        board = db.session.get(User, people["board"])
        payments.record_payment_succeeded(booking, by=board)
        at = bookings.check_in_instant(booking) - (
            timedelta(hours=2) if late else timedelta(days=6)
        )
        guest = db.session.get(User, people["guest"])
        bookings.cancel_booking(booking, CancelledBy.GUEST, guest, at=at)
        db.session.commit()
        assert invariants.violations() == []
        return booking.id, booking.host_receives_ore


@pytest.mark.parametrize("late", [False, True], ids=["all-refunded", "partly-refunded"])
def test_every_host_page_and_mail_shows_what_the_host_keeps(app, people, late):
    booking_id, kept = _paid_then_cancelled(app, people, late=late)
    with app.app_context():
        booking = db.session.get(Booking, booking_id)
        full = booking.host_payout_ore
        if late:
            assert kept == booking.night_prices[0]  # the next night stays with the host
        else:
            assert kept == 0
    host = app.test_client()
    login(host, "host@example.org")

    reservations = _flat(text_of(host.get("/host/reservations?lang=en")))
    assert f"<td>{_sek(kept)}</td>" in reservations
    assert f"<td>{_sek(full)}</td>" not in reservations

    page = _flat(text_of(host.get(f"/bookings/{booking_id}?lang=en")))
    receives = page.split('id="host-receives"')[1].split("</p>")[0]
    assert f"You receive {_sek(kept)} for this booking." in receives

    payouts = _flat(text_of(host.get("/host/payouts?lang=en")))
    row = payouts.split('id="payout-')[1].split("</tr>")[0]
    assert f"<td>{_sek(kept)}</td>" in row

    with app.app_context():
        message = db.session.scalar(
            select(OutboxMessage).where(OutboxMessage.template == "booking_cancelled_host")
        )
        with app.test_request_context("/"):
            body = mail.compose("host@example.org", "en", message.template, **message.context)
        assert f"You receive {_sek(kept)} for this booking." in _flat(body.get_content())


def test_the_confirmation_mail_and_accept_page_use_the_same_amount(app, people):
    with app.app_context():
        booking = factories.booking(
            listing=db.session.get(Listing, people["listing"]),
            guest=db.session.get(User, people["guest"]),
            state="pending_payment",
        )
        request = factories.booking(
            listing=db.session.get(Listing, people["listing"]),
            guest=db.session.get(User, people["guest"]),
            check_in=utcnow().date() + timedelta(days=60),
            state="requested",
        )
        payments.record_payment_succeeded(booking, by=db.session.get(User, people["board"]))
        db.session.commit()
        amount, request_id, request_amount = (
            booking.host_receives_ore,
            request.id,
            request.host_receives_ore,
        )
        message = db.session.scalar(
            select(OutboxMessage).where(OutboxMessage.template == "booking_confirmed_host")
        )
        with app.test_request_context("/"):
            body = mail.compose("host@example.org", "en", message.template, **message.context)
        assert f"You will receive {_sek(amount)}" in _flat(body.get_content())
    host = app.test_client()
    login(host, "host@example.org")
    accept = _flat(text_of(host.get(f"/bookings/{request_id}/accept?lang=en")))
    assert f"you receive {_sek(request_amount)}." in accept
    listed = _flat(text_of(host.get("/host/reservations?lang=en")))
    assert f"· {_sek(request_amount)}</p>" in listed
