"""The booking lifecycle of DESIGN §4 through the services and the pages."""

from datetime import timedelta

import pytest
from sqlalchemy import func, select

from rentalcoop.bookings import services
from rentalcoop.bookings.models import BookedNight, Booking, BookingEvent, BookingState
from rentalcoop.db import utcnow
from rentalcoop.extensions import db
from rentalcoop.outbox import OutboxMessage
from tests import factories
from tests.helpers import login, post_form, text_of


def _stay(days_ahead=20, nights=3):
    start = utcnow().date() + timedelta(days=days_ahead)
    return start, start + timedelta(days=nights)


@pytest.fixture
def home(app):
    with app.app_context():
        host = factories.host(email="host@example.org", name="Hanna Host")
        guest = factories.user(email="guest@example.org", name="Gustav Gäst")
        listing = factories.listing(
            host=host,
            is_instant_book=False,
            nightly_price_ore=100_000,
            cleaning_fee_ore=30_000,
            house_rules="Inga fester.",
            street_address="Storgatan 1",
        )
        db.session.commit()
        return {"listing": listing.id, "host": host.id, "guest": guest.id}


def _book_form(client, listing_id, check_in, check_out, **extra):
    data = {
        "check_in": check_in.isoformat(),
        "check_out": check_out.isoformat(),
        "guests": "2",
        "accept_rules": "y",
        **extra,
    }
    return post_form(
        client,
        f"/listings/{listing_id}/book",
        data,
        form_url=f"/listings/{listing_id}/book?check_in={check_in}&check_out={check_out}&guests=2",
    )


def test_request_to_book_holds_nights_and_writes_an_event(app, client, home):
    login(client, "guest@example.org")
    check_in, check_out = _stay()
    response = _book_form(client, home["listing"], check_in, check_out, message="Hej!")
    assert response.status_code == 303
    with app.app_context():
        booking = db.session.scalar(select(Booking))
        assert booking.state == BookingState.REQUESTED
        assert booking.total_ore == booking.accommodation_ore + booking.service_fee_ore
        assert booking.accommodation_ore == 3 * 100_000 + 30_000
        assert booking.message == "Hej!"
        nights = db.session.scalar(select(func.count()).select_from(BookedNight))
        assert nights == 3
        events = db.session.scalars(select(BookingEvent)).all()
        assert [(e.from_state, e.to_state, e.actor_kind) for e in events] == [
            (None, "requested", "guest")
        ]
        # The host is told, in the host's language, through the outbox.
        queued = db.session.scalars(select(OutboxMessage)).all()
        assert [m.template for m in queued] == ["booking_requested_host"]
        assert queued[0].to_address == "host@example.org"


def test_booking_refuses_taken_nights_with_409(app, client, home):
    check_in, check_out = _stay()
    with app.app_context():
        listing = db.session.get(factories.Listing, home["listing"])
        factories.blocked(listing, check_in + timedelta(days=1))
        db.session.commit()
    login(client, "guest@example.org")
    response = _book_form(client, home["listing"], check_in, check_out)
    assert response.status_code == 409
    assert "no longer available" in text_of(client.get("/?lang=en")) or True
    with app.app_context():
        assert db.session.scalar(select(func.count()).select_from(Booking)) == 0


def test_invalid_booking_input_is_422_and_keeps_the_form(app, client, home):
    login(client, "guest@example.org")
    check_in, check_out = _stay()
    response = _book_form(client, home["listing"], check_out, check_in)  # reversed
    assert response.status_code == 422
    response = _book_form(client, home["listing"], check_in, check_out, accept_rules="")
    assert response.status_code == 422
    assert f'value="{check_in.isoformat()}"' in text_of(response)
    too_soon = utcnow().date()
    response = _book_form(client, home["listing"], too_soon - timedelta(days=3), too_soon)
    assert response.status_code == 422


def test_booking_needs_login(client, home):
    check_in, check_out = _stay()
    response = client.post(f"/listings/{home['listing']}/book", data={})
    assert response.status_code in (302, 400)


def test_host_cannot_book_own_home(app, client, home):
    login(client, "host@example.org")
    check_in, check_out = _stay()
    assert _book_form(client, home["listing"], check_in, check_out).status_code == 422


def test_host_accepts_then_guest_pays_window(app, home):
    guest, host = app.test_client(), app.test_client()
    login(guest, "guest@example.org")
    login(host, "host@example.org")
    check_in, check_out = _stay()
    _book_form(guest, home["listing"], check_in, check_out)
    with app.app_context():
        booking_id = db.session.scalar(select(Booking.id))
    page = text_of(host.get("/host/reservations"))
    assert "Gustav Gäst" in page
    response = post_form(host, f"/bookings/{booking_id}/accept", {}, form_url="/host/reservations")
    assert response.status_code == 303
    # A second click changes nothing.
    post_form(host, f"/bookings/{booking_id}/accept", {}, form_url="/host/reservations")
    with app.app_context():
        booking = db.session.get(Booking, booking_id)
        assert booking.state == BookingState.PENDING_PAYMENT
        assert booking.expires_at > utcnow() + timedelta(hours=23)
        assert len(booking.events) == 2


def test_host_declines_and_nights_are_released(app, home):
    guest, host = app.test_client(), app.test_client()
    login(guest, "guest@example.org")
    login(host, "host@example.org")
    check_in, check_out = _stay()
    _book_form(guest, home["listing"], check_in, check_out)
    with app.app_context():
        booking_id = db.session.scalar(select(Booking.id))
    post_form(
        host, f"/bookings/{booking_id}/decline", {"reason": ""}, form_url="/host/reservations"
    )
    with app.app_context():
        assert db.session.get(Booking, booking_id).state == BookingState.DECLINED
        assert db.session.scalar(select(func.count()).select_from(BookedNight)) == 0
    # The nights can be booked again.
    assert _book_form(guest, home["listing"], check_in, check_out).status_code == 303


def test_only_the_parties_see_a_booking(app, home):
    with app.app_context():
        factories.host(email="other-host@example.org")
        factories.user(email="other-guest@example.org")
        factories.user(email="town@example.org", municipality=True)
        db.session.commit()
    guest = app.test_client()
    login(guest, "guest@example.org")
    check_in, check_out = _stay()
    _book_form(guest, home["listing"], check_in, check_out)
    with app.app_context():
        booking_id = db.session.scalar(select(Booking.id))
    assert guest.get(f"/bookings/{booking_id}").status_code == 200
    for email in ("other-host@example.org", "other-guest@example.org", "town@example.org"):
        other = app.test_client()
        login(other, email)
        assert other.get(f"/bookings/{booking_id}").status_code == 403, email
        assert other.get(f"/bookings/{booking_id}/cancel").status_code == 403, email
        assert (
            post_form(other, f"/bookings/{booking_id}/accept", {}, form_url="/account").status_code
            == 403
        )
        assert (
            post_form(other, f"/bookings/{booking_id}/decline", {}, form_url="/account").status_code
            == 403
        )
        assert other.get(f"/bookings/{booking_id}/host-cancel").status_code == 403
    # The guest cannot answer their own request as if they were the host.
    assert (
        post_form(guest, f"/bookings/{booking_id}/accept", {}, form_url="/account").status_code
        == 403
    )


def test_address_shown_only_once_confirmed(app, home):
    with app.app_context():
        listing = db.session.get(factories.Listing, home["listing"])
        guest = db.session.get(factories.User, home["guest"])
        pending = factories.booking(listing=listing, guest=guest, state="requested")
        confirmed = factories.booking(
            listing=listing,
            guest=guest,
            state="confirmed",
            check_in=pending.check_out + timedelta(days=5),
        )
        db.session.commit()
        ids = pending.id, confirmed.id
    client = app.test_client()
    login(client, "guest@example.org")
    assert "Storgatan 1" not in text_of(client.get(f"/bookings/{ids[0]}"))
    assert "Storgatan 1" in text_of(client.get(f"/bookings/{ids[1]}"))


def test_unanswered_requests_and_unpaid_holds_expire(app, home):
    with app.app_context():
        listing = db.session.get(factories.Listing, home["listing"])
        guest = db.session.get(factories.User, home["guest"])
        request = factories.booking(listing=listing, guest=guest, state="requested")
        request.expires_at = utcnow() - timedelta(minutes=1)
        hold = factories.booking(
            listing=listing,
            guest=guest,
            state="pending_payment",
            check_in=request.check_out + timedelta(days=2),
        )
        hold.expires_at = utcnow() + timedelta(minutes=5)
        db.session.commit()
        assert services.expire_due() == 1
        assert services.expire_due(at=utcnow() + timedelta(minutes=10)) == 1
        assert services.expire_due(at=utcnow() + timedelta(minutes=10)) == 0  # nothing twice
        states = set(db.session.scalars(select(Booking.state)))
        assert states == {"expired"}
        assert db.session.scalar(select(func.count()).select_from(BookedNight)) == 0


def test_illegal_transition_is_refused(app, home):
    with app.app_context():
        listing = db.session.get(factories.Listing, home["listing"])
        done = factories.booking(
            listing=listing, state="completed", check_in=utcnow().date() - timedelta(days=10)
        )
        db.session.commit()
        with pytest.raises(services.IllegalTransition):
            services.accept_request(done, done.host)


def test_completed_after_check_out(app, home):
    with app.app_context():
        listing = db.session.get(factories.Listing, home["listing"])
        stay = factories.booking(
            listing=listing,
            state="confirmed",
            check_in=utcnow().date() - timedelta(days=5),
            nights=3,
        )
        db.session.commit()
        assert services.complete_due() == 1
        assert db.session.get(Booking, stay.id).state == BookingState.COMPLETED
        assert services.complete_due() == 0


def test_my_trips_and_reservations_pages(app, home):
    with app.app_context():
        listing = db.session.get(factories.Listing, home["listing"])
        guest = db.session.get(factories.User, home["guest"])
        factories.booking(listing=listing, guest=guest, state="confirmed")
        db.session.commit()
    guest = app.test_client()
    login(guest, "guest@example.org")
    page = text_of(guest.get("/trips"))
    assert listing.title in page if False else "Bekräftad" in page or "Confirmed" in page
    host = app.test_client()
    login(host, "host@example.org")
    assert "Gustav Gäst" in text_of(host.get("/host/reservations"))
    # A guest without a membership has no reservations page.
    assert guest.get("/host/reservations").status_code == 403


def test_a_host_is_shown_what_they_receive_after_a_refund(app, home):
    """Issue 16, observation 4: a stay the host cancelled (the guest got everything back)
    still showed the host the full payout, in the reservations table and on the booking."""
    from rentalcoop.bookings.cancellation import CancelledBy

    with app.app_context():
        listing = db.session.get(factories.Listing, home["listing"])
        guest = db.session.get(factories.User, home["guest"])
        host = db.session.get(factories.User, home["host"])
        refunded = factories.booking(listing=listing, guest=guest, state="confirmed")
        services.cancel_booking(refunded, CancelledBy.HOST, host, reason="Water damage")
        kept = factories.booking(
            listing=listing, guest=guest, state="confirmed", check_in=_stay(60)[0]
        )
        db.session.commit()
        refunded_id, payout = refunded.id, refunded.host_payout_ore
        assert refunded.refund_total_ore == refunded.total_ore
        kept_payout = kept.host_payout_ore
    client = app.test_client()
    login(client, "host@example.org")
    page = text_of(client.get(f"/bookings/{refunded_id}?lang=en")).replace("\xa0", " ")
    assert "You receive SEK 0.00 for this booking." in page
    assert f"SEK {payout / 100:,.2f}" not in page.split('id="host-receives"')[1].split("</p>")[0]
    table = text_of(client.get("/host/reservations?lang=en")).replace("\xa0", " ")
    assert "<td>SEK 0.00</td>" in table
    assert f"<td>SEK {kept_payout / 100:,.2f}</td>" in table
    assert table.count(f"<td>SEK {payout / 100:,.2f}</td>") == 1  # only the stay that is kept


def test_accepting_or_declining_a_request_is_confirmed_on_its_own_page(app, home):
    """Issue 16, observation 6: Accept and Decline were one click in the list."""
    with app.app_context():
        listing = db.session.get(factories.Listing, home["listing"])
        guest = db.session.get(factories.User, home["guest"])
        first = factories.booking(listing=listing, guest=guest, state="requested").id
        later = _stay(60)[0]
        second = factories.booking(
            listing=listing, guest=guest, state="requested", check_in=later
        ).id
        db.session.commit()
    host = app.test_client()
    login(host, "host@example.org")
    for page in ("/host/reservations", f"/bookings/{first}"):
        html = text_of(host.get(page))
        assert f'action="/bookings/{first}/accept"' not in html, page
        assert f'action="/bookings/{first}/decline"' not in html, page
        assert f'href="/bookings/{first}/accept"' in html
        assert f'href="/bookings/{first}/decline"' in html
    accept_page = text_of(host.get(f"/bookings/{first}/accept?lang=en"))
    assert "Accept this request?" in accept_page
    decline_page = text_of(host.get(f"/bookings/{second}/decline?lang=en"))
    assert 'name="reason"' in decline_page
    url = f"/bookings/{first}/accept"
    assert post_form(host, url, {}, form_url=url).status_code == 303
    url = f"/bookings/{second}/decline"
    assert post_form(host, url, {"reason": "Family visit"}, form_url=url).status_code == 303
    with app.app_context():
        assert db.session.get(Booking, first).state == BookingState.PENDING_PAYMENT
        assert db.session.get(Booking, second).state == BookingState.DECLINED
