"""Issue 4's journey in a real browser, in Swedish: a guest books an instant-book stay and pays
(manual provider: the board marks it paid), the host sees it, the guest cancels and sees the
refund the policy promises — before confirming, and on the booking afterwards."""

from __future__ import annotations

from datetime import timedelta

import pytest
from playwright.sync_api import expect
from sqlalchemy import select

from rentalcoop.bookings.models import Booking, BookingState
from rentalcoop.db import utcnow
from rentalcoop.extensions import db
from rentalcoop.i18n import money
from tests import factories
from tests.e2e.conftest import login_in_browser, logout_in_browser

pytestmark = pytest.mark.e2e


def test_guest_books_pays_host_sees_guest_cancels(app, page, live_server, snap):
    check_in = utcnow().date() + timedelta(days=40)
    check_out = check_in + timedelta(days=3)
    with app.app_context():
        host = factories.host(email="vard@example.org", name="Vera Värd")
        factories.user(email="gast@example.org", name="Gösta Gäst")
        factories.user(email="styrelse@example.org", name="Stina Styrelse", board=True)
        home = factories.listing(
            host=host,
            title="Stuga vid sjön",
            is_instant_book=True,
            nightly_price_ore=90_000,
            cleaning_fee_ore=25_000,
            cancellation_policy="moderate",
            house_rules="Inga husdjur.",
            street_address="Sjövägen 7",
            max_guests=4,
        )
        db.session.commit()
        listing_id = home.id

    # The guest finds the price on the listing page and continues to book.
    login_in_browser(page, live_server, "gast@example.org", factories.PASSWORD)
    page.goto(f"/listings/{listing_id}?check_in={check_in}&check_out={check_out}&guests=2")
    expect(page.locator("html")).to_have_attribute("lang", "sv")
    expect(page.locator("#quote-total")).to_be_visible()
    page.locator("#continue-booking").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Bekräfta och boka")
    expect(page.get_by_text("Inga husdjur.")).to_be_visible()
    snap("1-review")
    page.locator("#accept_rules").check()
    page.get_by_role("button", name="Boka och betala").click()
    snap("2-pay-page")

    with app.app_context():
        booking = db.session.scalars(select(Booking)).one()
        assert booking.state == BookingState.PENDING_PAYMENT
        booking_id, total = booking.id, booking.total_ore

    # The board marks the manual payment received.
    logout_in_browser(page)
    login_in_browser(page, live_server, "styrelse@example.org", factories.PASSWORD)
    page.goto("/board/payments")
    page.locator(f"#mark-paid-{booking_id}").click()
    snap("3-board-marked-paid")
    with app.app_context():
        assert db.session.get(Booking, booking_id).state == BookingState.CONFIRMED

    # The host sees the confirmed stay.
    logout_in_browser(page)
    login_in_browser(page, live_server, "vard@example.org", factories.PASSWORD)
    page.goto("/host/reservations")
    expect(page.get_by_text("Gösta Gäst")).to_be_visible()
    snap("4-host-reservations")

    # The guest sees the address now, then cancels and is shown the refund first.
    logout_in_browser(page)
    login_in_browser(page, live_server, "gast@example.org", factories.PASSWORD)
    page.goto(f"/bookings/{booking_id}")
    expect(page.locator("#address")).to_contain_text("Sjövägen 7")
    expect(page.locator("#booking-state")).to_have_text("Bekräftad")
    page.get_by_role("link", name="Avboka").click()
    # Moderate, 40 days ahead: everything back.
    with app.app_context():
        expected = money_in_swedish(app, total)
    expect(page.locator("#refund-total")).to_have_text(expected)
    snap("5-cancel-preview")
    page.get_by_role("button", name="Ja, avboka").click()
    expect(page.locator("#refund")).to_contain_text(expected)
    snap("6-cancelled")
    with app.app_context():
        booking = db.session.get(Booking, booking_id)
        assert booking.state == BookingState.CANCELLED_BY_GUEST
        assert booking.refund_total_ore == total


def money_in_swedish(app, amount_ore: int) -> str:
    from flask_babel import force_locale

    with app.test_request_context("/"), force_locale("sv"):
        return money(amount_ore)
