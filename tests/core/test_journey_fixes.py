"""The small stops of issue 16's walk (observation 9), each as the page shows it."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import select

from rentalcoop.bookings.models import Booking
from rentalcoop.extensions import db
from rentalcoop.listings.pricing import coop_date
from rentalcoop.messaging.models import Message
from rentalcoop.outbox import OutboxMessage
from tests import factories
from tests.helpers import login, post_form, text_of


@pytest.fixture
def town(app):
    with app.app_context():
        host = factories.host(email="host@example.org", name="Hanna Host")
        guest = factories.user(email="guest@example.org", name="Gustav Gäst")
        home = factories.listing(host=host, is_instant_book=False, title="Sjöboden")
        db.session.commit()
        return {"listing": home.id, "host": host.id, "guest": guest.id}


def _signed_in(app, email):
    client = app.test_client()
    assert login(client, email).status_code == 303
    return client


def test_a_request_page_is_titled_as_a_request(app, town):
    guest = _signed_in(app, "guest@example.org")
    start = coop_date() + timedelta(days=20)
    url = f"/listings/{town['listing']}/book?check_in={start}&check_out={start + timedelta(3)}"
    page = text_of(guest.get(url + "&lang=en"))
    assert "<h1>Request to book</h1>" in page
    assert "Confirm and book" not in page


def test_the_guests_request_message_opens_the_conversation(app, town):
    guest = _signed_in(app, "guest@example.org")
    start = coop_date() + timedelta(days=20)
    form_url = f"/listings/{town['listing']}/book?check_in={start}&check_out={start + timedelta(3)}"
    data = {
        "check_in": start.isoformat(),
        "check_out": (start + timedelta(3)).isoformat(),
        "guests": "1",
        "accept_rules": "y",
        "message": "Hej! Vi är två som vill paddla.",
    }
    response = post_form(guest, f"/listings/{town['listing']}/book", data, form_url=form_url)
    assert response.status_code == 303
    with app.app_context():
        booking = db.session.scalar(select(Booking))
        thread = db.session.scalars(select(Message).where(Message.booking_id == booking.id))
        assert [m.body for m in thread] == ["Hej! Vi är två som vill paddla."]
        # The request mail tells the host; the thread sends no second mail.
        kinds = [m.template for m in db.session.scalars(select(OutboxMessage))]
        assert "message_received" not in kinds
        booking_id = booking.id
    host = _signed_in(app, "host@example.org")
    page = text_of(host.get(f"/bookings/{booking_id}"))
    thread_part = page.split('id="messages"')[1]
    assert "Vi är två som vill paddla." in thread_part
    assert page.count("Vi är två som vill paddla.") == 1


def test_a_cancelled_booking_does_not_promise_the_address(app, town):
    with app.app_context():
        listing = db.session.get(factories.Listing, town["listing"])
        guest = db.session.get(factories.User, town["guest"])
        booking = factories.booking(listing=listing, guest=guest, state="cancelled_by_guest")
        db.session.commit()
        booking_id = booking.id
    page = text_of(_signed_in(app, "guest@example.org").get(f"/bookings/{booking_id}?lang=en"))
    assert "once the booking is confirmed" not in page
    assert "did not go ahead" in page


def test_a_plain_guest_sign_up_is_not_welcomed_into_the_cooperative(app):
    client = app.test_client()
    data = {
        "name": "Greta Gäst",
        "email": "greta@example.org",
        "password": "a long enough password",
        "confirm": "a long enough password",
        "locale": "en",
        "accept_terms": "y",
    }
    response = post_form(client, "/register", data)
    assert response.status_code == 303, text_of(response)
    page = text_of(client.get("/"))
    assert "Welcome, Greta Gäst!" in page
    assert "cooperative, Greta" not in page


def test_proposed_community_projects_are_visible_before_the_vote(app):
    from rentalcoop.governance import fund

    with app.app_context():
        member = factories.host(email="member@example.org")
        fund.propose_project(member, "Badbryggan", "En ny brygga vid sjön.")
        db.session.commit()
    for client in (app.test_client(), _signed_in(app, "member@example.org")):
        page = text_of(client.get("/community-fund?lang=en"))
        assert "Badbryggan" in page
        assert "Proposed projects" in page


def test_blocking_booked_nights_says_they_stay_booked(app, town):
    with app.app_context():
        listing = db.session.get(factories.Listing, town["listing"])
        guest = db.session.get(factories.User, town["guest"])
        start = coop_date() + timedelta(days=40)
        factories.booking(listing=listing, guest=guest, state="confirmed", check_in=start)
        db.session.commit()
    host = _signed_in(app, "host@example.org")
    url = f"/host/listings/{town['listing']}/calendar"
    data = {
        "first": (start - timedelta(1)).isoformat(),
        "last": (start + timedelta(3)).isoformat(),
        "action": "block",
    }
    response = post_form(host, f"{url}/block", data, form_url=url)
    assert response.status_code == 303
    page = text_of(host.get(response.location))
    assert "3 nätter är bokade av gäster och förblir bokade" in page


def test_the_journal_speaks_swedish_on_swedish_pages(app, town):
    from datetime import date

    from rentalcoop.governance import costs

    with app.app_context():
        listing = db.session.get(factories.Listing, town["listing"])
        guest = db.session.get(factories.User, town["guest"])
        board = factories.user(email="board@example.org", board=True)
        booking = factories.booking(listing=listing, guest=guest, state="confirmed")
        costs.enter_cost(date(coop_date().year, 1, 15), "it", 50_000, "Servrar", board)
        db.session.commit()
        code = booking.code
    page = text_of(_signed_in(app, "board@example.org").get("/board/ledger/journal"))
    assert f"Bokning {code}" in page
    assert f"Booking {code}" not in page
    assert "it: Servrar" not in page
    assert ": Servrar" in page


@pytest.mark.parametrize(
    ("typed", "bps"), [("15", 1500), ("12,5", 1250), ("12.25 %", 1225), ("0", 0)]
)
def test_the_board_types_fee_rates_in_per_cent(app, typed, bps):
    from werkzeug.datastructures import MultiDict

    from rentalcoop.governance.forms import MotionForm

    with app.test_request_context("/", method="POST"):
        form = MotionForm(formdata=MultiDict({"fee_bps": typed}), meta={"csrf": False})
        form.fee_bps.validate(form)
        assert form.fee_bps.data == bps
        assert not form.fee_bps.errors


@pytest.mark.parametrize("typed", ["150", "femton", "1,234"])
def test_a_rate_that_is_not_a_percentage_is_refused(app, typed):
    from werkzeug.datastructures import MultiDict

    from rentalcoop.governance.forms import MotionForm

    with app.test_request_context("/", method="POST"):
        form = MotionForm(formdata=MultiDict({"fee_bps": typed}), meta={"csrf": False})
        assert not form.fee_bps.validate(form)


def test_the_board_types_the_reserve_in_kronor(app):
    with app.app_context():
        factories.user(email="board@example.org", board=True)
        db.session.commit()
    board = _signed_in(app, "board@example.org")
    year = coop_date().year - 1
    page = text_of(board.get(f"/board/close/{year}?lang=en"))
    assert "Reserve R (kr)" in page
    assert "öre" not in page.split("<form", 2)[-1].split("</form>")[0]
    response = post_form(board, f"/board/close/{year}", {"reserve_ore": "1 500,50"})
    assert response.status_code in (200, 303)
    from rentalcoop.governance import close

    with app.app_context():
        assert close.year_close(year).reserve_ore == 150_050


def test_patronage_csv_headers_are_words_in_the_readers_language(app):
    from rentalcoop.governance.models import CloseState, PatronageShare, YearClose

    with app.app_context():
        board = factories.user(email="board@example.org", board=True, locale="sv")
        year = coop_date().year - 1
        db.session.add(
            YearClose(
                year=year,
                state=CloseState.POSTED,
                fees_ore=0,
                community_ore=0,
                costs_ore=0,
                surplus_ore=12_345,
                reserve_ore=0,
                distributed_ore=12_345,
                nights=3,
            )
        )
        db.session.flush()
        db.session.add(PatronageShare(year=year, member_id=board.id, nights=3, amount_ore=12_345))
        db.session.commit()
    client = _signed_in(app, "board@example.org")
    body = client.get(f"/board/close/{year}.csv").get_data(as_text=True)
    header, first = body.lstrip("\ufeff").splitlines()[:2]
    assert "amount_ore" not in header
    assert "Belopp (kr)" in header
    assert first.endswith(";3;123,45;Bokförd")
    statement = client.get(f"/member/statements/{year}.csv").get_data(as_text=True)
    assert (
        statement.lstrip("\ufeff").splitlines()[0] == "År;Bokade nätter;Per natt (kr);Belopp (kr)"
    )
    assert "123,45" in statement


def test_the_membership_page_explains_the_contribution_statutes_and_next_steps(app, town):
    page = text_of(_signed_in(app, "guest@example.org").get("/membership?lang=en"))
    assert "insats" in page
    assert "statutes" in page
    assert 'id="membership-next-steps"' in page
