"""The manual provider (the default, no keys): the guest pays the cooperative by bank giro or
Swish, the board marks the booking paid, and refunds and payouts are owed until the board marks
them done. Plus who may see which payment page."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import select

from rentalcoop.accounts.models import User
from rentalcoop.bookings import services as bookings
from rentalcoop.bookings.cancellation import CancelledBy
from rentalcoop.bookings.models import Booking, BookingState
from rentalcoop.db import utcnow
from rentalcoop.extensions import db
from rentalcoop.ledger import services as ledger
from rentalcoop.ledger.models import Account
from rentalcoop.listings.models import Listing
from rentalcoop.payments import services
from rentalcoop.payments.models import (
    Payment,
    PaymentState,
    Payout,
    PayoutState,
    Refund,
    RefundState,
)
from tests import factories
from tests.helpers import login, post_form, text_of


def _booking(app, people, *, days_ahead=30, nights=3, state="pending_payment"):
    with app.app_context():
        booking = factories.booking(
            listing=db.session.get(Listing, people["listing"]),
            guest=db.session.get(User, people["guest"]),
            check_in=utcnow().date() + timedelta(days=days_ahead),
            nights=nights,
            state=state,
        )
        db.session.commit()
        return booking.id


def _board(app):
    client = app.test_client()
    login(client, "board@example.org")
    return client


def _mark_paid(app, booking_id):
    return post_form(
        _board(app), f"/board/payments/{booking_id}/paid", {}, form_url="/board/payments"
    )


# --- the guest's pay page ------------------------------------------------------------------------


def test_guest_sees_amount_due_time_and_how_to_pay(app, client, people):
    booking_id = _booking(app, people)
    login(client, "guest@example.org")
    page = client.get(f"/bookings/{booking_id}/pay?lang=en")
    assert page.status_code == 200
    html = text_of(page)
    with app.app_context():
        booking = db.session.get(Booking, booking_id)
        assert 'id="pay-amount">SEK\xa03,795.00<' in html  # 379 500 öre, the money filter
        assert booking.code in html
        assert 'id="pay-due"' in html
        # No Swish number or bank giro set yet (tests/payments/test_swish_bankgiro.py): it says so.
        assert 'id="pay-not-configured"' in html


def test_pay_instructions_come_from_the_configuration(make_app, people):
    configured = make_app(MANUAL_PAYMENT_INSTRUCTIONS="Bankgiro 123-4567, Swish 123 456 78 90")
    booking_id = _booking(configured, people)
    client = configured.test_client()
    login(client, "guest@example.org")
    assert "Bankgiro 123-4567" in text_of(client.get(f"/bookings/{booking_id}/pay"))


def test_booking_redirects_to_the_pay_page(app, client, people):
    """The lead's book/pay buttons send the guest to the internal pay page, no provider call."""
    booking_id = _booking(app, people)
    login(client, "guest@example.org")
    response = post_form(client, f"/bookings/{booking_id}/pay", {})
    assert response.status_code == 303
    assert response.location.endswith(f"/bookings/{booking_id}/pay")
    with app.app_context():
        assert db.session.scalars(select(Payment)).all() == []


def test_another_guest_may_not_see_the_pay_page(app, client, people):
    booking_id = _booking(app, people)
    login(client, "other@example.org")
    assert client.get(f"/bookings/{booking_id}/pay").status_code == 403


def test_pay_page_needs_login(client, people, app):
    booking_id = _booking(app, people)
    response = client.get(f"/bookings/{booking_id}/pay")
    assert response.status_code == 302
    assert "/login" in response.location


def test_pay_page_of_a_missing_booking_is_404(client, people):
    login(client, "guest@example.org")
    assert client.get("/bookings/999/pay").status_code == 404


# --- the board -----------------------------------------------------------------------------------


@pytest.mark.parametrize("who", ["guest@example.org", "host@example.org", "town@example.org"])
def test_only_the_board_sees_payments(app, client, people, who):
    booking_id = _booking(app, people)
    login(client, who)
    assert client.get("/board/payments").status_code == 403
    response = client.post(f"/board/payments/{booking_id}/paid", data={})
    assert response.status_code in (400, 403)
    with app.app_context():
        assert db.session.get(Booking, booking_id).state == BookingState.PENDING_PAYMENT


def test_a_guest_with_a_valid_token_still_cannot_mark_paid(app, client, people):
    booking_id = _booking(app, people)
    login(client, "guest@example.org")
    response = post_form(
        client, f"/board/payments/{booking_id}/paid", {}, form_url=f"/bookings/{booking_id}/pay"
    )
    assert response.status_code == 403
    with app.app_context():
        assert db.session.get(Booking, booking_id).state == BookingState.PENDING_PAYMENT


def test_board_page_needs_login(client):
    response = client.get("/board/payments")
    assert response.status_code == 302


def test_board_marks_paid_and_the_stay_is_confirmed(app, people):
    booking_id = _booking(app, people)
    board = _board(app)
    page = text_of(board.get("/board/payments"))
    assert f'id="mark-paid-{booking_id}"' in page
    response = post_form(
        board, f"/board/payments/{booking_id}/paid", {}, form_url="/board/payments"
    )
    assert response.status_code == 303
    with app.app_context():
        booking = db.session.get(Booking, booking_id)
        assert booking.state == BookingState.CONFIRMED
        payment = db.session.scalar(select(Payment))
        assert payment.state == PaymentState.SUCCEEDED
        assert payment.provider == "manual"
        assert payment.marked_by_id == people["board"]
        assert payment.amount_ore == booking.total_ore
        assert booking.events[-1].actor_kind == "board"
        assert booking.events[-1].actor_id == people["board"]
        payout = db.session.scalar(select(Payout))
        assert payout.state == PayoutState.SCHEDULED
        assert payout.amount_ore == booking.host_payout_ore
        assert ledger.account_balance(Account.CASH) == booking.total_ore
    # A second click changes nothing.
    _mark_paid(app, booking_id)
    with app.app_context():
        assert len(db.session.scalars(select(Payment)).all()) == 1
    assert f'id="mark-paid-{booking_id}"' not in text_of(board.get("/board/payments"))


def test_marking_paid_is_refused_under_stripe(stripe_app, stripe_people):
    booking_id = _booking(stripe_app, stripe_people)
    board = stripe_app.test_client()
    login(board, "board@example.org")
    response = post_form(
        board, f"/board/payments/{booking_id}/paid", {}, form_url="/board/payments"
    )
    assert response.status_code == 403


def test_refund_is_owed_then_marked_done_by_the_board(app, people):
    booking_id = _booking(app, people)
    _mark_paid(app, booking_id)
    guest = app.test_client()
    login(guest, "guest@example.org")
    assert post_form(guest, f"/bookings/{booking_id}/cancel", {}).status_code == 303
    with app.app_context():
        booking = db.session.get(Booking, booking_id)
        refund = db.session.scalar(select(Refund))
        assert refund.state == RefundState.OWED
        assert refund.amount_ore == booking.refund_total_ore == booking.total_ore
        assert db.session.scalar(select(Payout.state)) == PayoutState.CANCELLED
        refund_id = refund.id
    board = _board(app)
    assert f'id="mark-refunded-{refund_id}"' in text_of(board.get("/board/payments"))
    response = post_form(board, f"/board/refunds/{refund_id}/done", {}, form_url="/board/payments")
    assert response.status_code == 303
    with app.app_context():
        refund = db.session.get(Refund, refund_id)
        assert refund.state == RefundState.DONE
        assert refund.marked_by_id == people["board"]
        assert ledger.account_balance(Account.GUEST_REFUND_PAYABLE) == 0
        assert ledger.account_balance(Account.CASH) == 0
    assert f'id="mark-refunded-{refund_id}"' not in text_of(board.get("/board/payments"))


def test_payout_is_owed_when_due_then_marked_paid(app, people):
    booking_id = _booking(app, people)
    _mark_paid(app, booking_id)
    with app.app_context():
        payout = db.session.scalar(select(Payout))
        assert services.release_due_payouts(payout.due_at - timedelta(minutes=1)) == 0
        assert services.release_due_payouts(payout.due_at) == 1
        assert services.release_due_payouts(payout.due_at) == 0
        payout = db.session.scalar(select(Payout))
        assert payout.state == PayoutState.OWED
        payout_id, amount = payout.id, payout.amount_ore
    host = app.test_client()
    login(host, "host@example.org")
    assert "Owed" in text_of(host.get("/host/payouts?lang=en"))
    board = _board(app)
    assert f'id="mark-paid-out-{payout_id}"' in text_of(board.get("/board/payments"))
    response = post_form(board, f"/board/payouts/{payout_id}/paid", {}, form_url="/board/payments")
    assert response.status_code == 303
    with app.app_context():
        payout = db.session.get(Payout, payout_id)
        assert payout.state == PayoutState.PAID
        assert payout.marked_by_id == people["board"]
        assert ledger.account_balance(Account.HOST_PAYABLE, people["host"]) == 0
        assert ledger.find_transaction(f"booking:{booking_id}:payout") is not None
        assert amount == db.session.get(Booking, booking_id).host_payout_ore
    assert "Paid" in text_of(host.get("/host/payouts?lang=en"))


def test_refund_after_a_manual_payout_is_collected_from_the_host(app, people):
    booking_id = _booking(app, people, days_ahead=-1, nights=4)
    _mark_paid(app, booking_id)
    with app.app_context():
        services.release_due_payouts(utcnow())
        payout = db.session.scalar(select(Payout))
        services.mark_payout_paid(payout, ref="manual")
        db.session.commit()
        booking = db.session.get(Booking, booking_id)
        host = db.session.get(User, people["host"])
        bookings.cancel_booking(booking, CancelledBy.HOST, host, reason="Vattenskada")
        db.session.commit()
        payout = db.session.scalar(select(Payout))
        assert payout.state == PayoutState.REVERSED
        assert payout.reversal_ref is None
        assert services.reversal_amount(payout) == booking.host_payout_ore  # all of it
        payout_id = payout.id
    board = _board(app)
    assert f'id="mark-collected-{payout_id}"' in text_of(board.get("/board/payments"))
    response = post_form(
        board, f"/board/payouts/{payout_id}/collected", {}, form_url="/board/payments"
    )
    assert response.status_code == 303
    with app.app_context():
        assert db.session.get(Payout, payout_id).reversal_ref == "manual"
        assert ledger.account_balance(Account.HOST_PAYABLE, people["host"]) == 0


# --- the host's payouts page ---------------------------------------------------------------------


def test_host_payouts_page_lists_only_their_payouts(app, people):
    booking_id = _booking(app, people)
    _mark_paid(app, booking_id)
    with app.app_context():
        other_host = factories.host(email="second@example.org")
        other_home = factories.listing(host=other_host)
        other = factories.booking(listing=other_home, state="pending_payment")
        db.session.commit()
        other_id = other.id
    _mark_paid(app, other_id)
    host = app.test_client()
    login(host, "host@example.org")
    page = host.get("/host/payouts?lang=en")
    assert page.status_code == 200
    html = text_of(page)
    with app.app_context():
        mine = db.session.scalar(select(Payout).where(Payout.booking_id == booking_id))
        theirs = db.session.scalar(select(Payout).where(Payout.booking_id == other_id))
        assert f'id="payout-{mine.id}"' in html
        assert f'id="payout-{theirs.id}"' not in html
    assert "Scheduled" in html
    assert 'id="onboard"' not in html  # manual provider: no Stripe onboarding


@pytest.mark.parametrize("who", ["guest@example.org", "town@example.org"])
def test_host_payouts_are_for_members_only(client, people, who):
    login(client, who)
    assert client.get("/host/payouts").status_code == 403


def test_menu_links(app, people):
    board = _board(app)
    assert 'id="nav-payments"' in text_of(board.get("/"))
    guest = app.test_client()
    login(guest, "guest@example.org")
    html = text_of(guest.get("/"))
    assert 'id="nav-payments"' not in html
    assert 'id="nav-payouts"' not in html
    host = app.test_client()
    login(host, "host@example.org")
    assert 'id="nav-payouts"' in text_of(host.get("/"))


def test_onboarding_is_not_offered_without_stripe(app, people):
    host = app.test_client()
    login(host, "host@example.org")
    response = post_form(host, "/host/payouts/onboarding", {}, form_url="/host/payouts")
    assert response.status_code == 403
