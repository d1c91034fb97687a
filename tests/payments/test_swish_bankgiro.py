"""Paying the cooperative directly (issue 15, part A): the coop's Swish number and bank giro as
board settings, shown on the pay page with the amount, the booking code as the message and a
Swish QR code; a hold per method (bank giro: bank days, with a reminder); the host told that
the nights await payment; the board marking a payment by its reference."""

from __future__ import annotations

import xml.etree.ElementTree as ET
from datetime import UTC, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest
import segno
from sqlalchemy import select

from rentalcoop import invariants
from rentalcoop.accounts.models import User
from rentalcoop.bookings import services as bookings
from rentalcoop.bookings.models import Booking, BookingState
from rentalcoop.db import utcnow
from rentalcoop.extensions import db
from rentalcoop.listings.models import Listing
from rentalcoop.outbox import OutboxMessage
from rentalcoop.payments.manual import formats
from rentalcoop.payments.manual import services as manual
from rentalcoop.payments.manual.models import PaymentChoice, PaymentMethod, PaymentSettings
from rentalcoop.payments.models import Payment, PaymentState
from tests import factories
from tests.helpers import login, post_form, text_of

STOCKHOLM = ZoneInfo("Europe/Stockholm")
SWISH = "1231181189"
BANKGIRO = "9991233"
PAYEE = "Ekby hemföreningen ek. för."


def _configure(app, *, swish=SWISH, bankgiro=BANKGIRO, payee=PAYEE, days=None):
    with app.app_context():
        row = db.session.get(PaymentSettings, 1)
        row.payee_name, row.swish_number, row.bankgiro_number = payee, swish, bankgiro
        row.bankgiro_hold_days = days
        db.session.commit()


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


def _code(app, booking_id):
    with app.app_context():
        return db.session.get(Booking, booking_id).code


def _client(app, email):
    client = app.test_client()
    login(client, email)
    return client


def _clean(app):
    with app.app_context():
        assert invariants.violations() == []


def _flat(html: str) -> str:
    return html.replace("\xa0", " ").replace("\u202f", " ")


# --- number formats ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("typed", "valid"),
    [("123 118 11 89", True), ("1231181189", True), ("0701234567", False), ("12311811", False)],
)
def test_swish_numbers_are_ten_digits_starting_123(typed, valid):
    assert formats.is_swish_number(formats.digits(typed)) is valid


@pytest.mark.parametrize(
    ("typed", "valid", "shown"),
    [
        ("160-9908", True, "160-9908"),  # Bankgirot's own
        ("999-1233", True, "999-1233"),
        ("5050-1055", True, "5050-1055"),
        ("999-1234", False, None),  # check digit wrong
        ("12345", False, None),
        ("123456789", False, None),
    ],
)
def test_bank_giro_numbers_have_seven_or_eight_digits_and_a_check_digit(typed, valid, shown):
    number = formats.digits(typed)
    assert formats.is_bankgiro_number(number) is valid
    if shown:
        assert formats.format_bankgiro(number) == shown


@pytest.mark.parametrize(
    ("typed", "ore"),
    [
        ("3 795,00", 379_500),
        ("3795", 379_500),
        ("3795,5", 379_550),
        ("SEK 3,795.00", 379_500),
        ("3.795,00 kr", 379_500),
        ("3\xa0795,00\xa0kr", 379_500),
        ("tre tusen", None),
        ("", None),
    ],
)
def test_amounts_as_the_board_types_them(typed, ore):
    assert formats.parse_amount_ore(typed) == ore


def test_swish_payload_is_the_c_format_with_everything_locked():
    # Swish QR specification §6.1: C<payee>;<amount, decimal comma>;<message>;<lock mask>
    assert formats.swish_payload(SWISH, 379_500, "AB3D5FGH") == "C1231181189;3795,00;AB3D5FGH;0"
    assert formats.swish_payload(SWISH, 30_005, "A B") == "C1231181189;300,05;A%20B;0"


def test_bank_holidays_are_not_bank_days():
    assert manual.easter_sunday(2027) == datetime(2027, 3, 28).date()
    assert not manual.is_bank_day(datetime(2027, 3, 26).date())  # Good Friday
    assert not manual.is_bank_day(datetime(2027, 6, 25).date())  # Midsummer Eve
    assert not manual.is_bank_day(datetime(2026, 12, 24).date())
    assert manual.is_bank_day(datetime(2026, 12, 23).date())
    # Chosen on Wednesday 23 Dec 2026: Christmas Eve and Day, then the weekend; the 3rd bank
    # day after is Wednesday 30 Dec, held to its end.
    chosen = datetime(2026, 12, 23, 10, tzinfo=STOCKHOLM)
    end = manual.bankgiro_deadline(chosen, 3).astimezone(STOCKHOLM)
    assert end == datetime(2026, 12, 31, 0, 0, tzinfo=STOCKHOLM)


# --- the board's settings ------------------------------------------------------------------------


def test_board_sets_the_payment_details_from_its_menu(app, people):
    board = _client(app, "board@example.org")
    assert 'id="nav-payment-details"' in text_of(board.get("/board/payments"))
    assert board.get("/board/payment-details").status_code == 200
    response = post_form(
        board,
        "/board/payment-details",
        {
            "payee_name": PAYEE,
            "swish_number": "123 118 11 89",
            "bankgiro_number": "999-1233",
            "bankgiro_hold_days": "4",
        },
    )
    assert response.status_code == 303
    with app.app_context():
        row = db.session.get(PaymentSettings, 1)
        assert (row.payee_name, row.swish_number, row.bankgiro_number) == (PAYEE, SWISH, BANKGIRO)
        assert row.bankgiro_hold_days == 4
        assert row.updated_by_id == people["board"]
    page = text_of(board.get("/board/payment-details"))
    assert 'value="123 118 11 89"' in page
    assert 'value="999-1233"' in page


@pytest.mark.parametrize(
    ("field", "value", "swedish"),
    [
        ("swish_number", "0701234567", "tio siffror"),
        ("bankgiro_number", "12-34", "sju eller åtta siffror"),
        ("bankgiro_number", "999-1234", "kontrollsiffra"),
        ("bankgiro_hold_days", "fjorton", None),
        ("bankgiro_hold_days", "40", "Mellan 1 och 10"),
        ("payee_name", "", "betalningsmottagare"),
    ],
)
def test_bad_payment_details_are_refused_in_swedish(app, people, field, value, swedish):
    board = _client(app, "board@example.org")
    data = {
        "payee_name": PAYEE,
        "swish_number": SWISH,
        "bankgiro_number": BANKGIRO,
        "bankgiro_hold_days": "",
        field: value,
    }
    response = post_form(board, "/board/payment-details", data)
    assert response.status_code == 422
    page = text_of(response)
    assert 'class="error-text"' in page
    if swedish:
        assert swedish in page
    with app.app_context():
        assert db.session.get(PaymentSettings, 1).swish_number == ""


@pytest.mark.parametrize("who", ["guest@example.org", "host@example.org", "town@example.org"])
def test_only_the_board_keeps_the_payment_details(app, people, who):
    client = _client(app, who)
    assert client.get("/board/payment-details").status_code == 403
    assert client.post("/board/payment-details", data={"swish_number": SWISH}).status_code in (
        400,
        403,
    )


# --- the guest's pay page ------------------------------------------------------------------------


def test_a_new_swedish_guest_sees_swish_bank_giro_reference_and_qr(app, people, monkeypatch):
    """Acceptance: the default provider, a guest in Swedish."""
    _configure(app)
    booking_id = _booking(app, people)
    code = _code(app, booking_id)
    guest = _client(app, "guest@example.org")
    page = _flat(text_of(guest.get(f"/bookings/{booking_id}/pay")))
    assert 'lang="sv"' in page
    assert f'id="pay-payee">{PAYEE}<' in page
    assert 'id="pay-swish-number">123 118 11 89<' in page
    assert 'id="pay-bankgiro-number">999-1233<' in page
    assert f'id="pay-message"><strong>{code}</strong>' in page
    assert 'id="pay-amount">3 795,00 kr<' in page  # Babel's Swedish money format
    assert "Swish" in page
    assert "Bankgiro" in page
    assert "meddelande" in page
    assert f'src="/bookings/{booking_id}/pay/swish.svg"' in page

    given = []
    real_make = segno.make
    monkeypatch.setattr(
        segno, "make", lambda payload, **kw: given.append(payload) or real_make(payload, **kw)
    )
    qr = guest.get(f"/bookings/{booking_id}/pay/swish.svg")
    assert qr.status_code == 200
    assert qr.headers["Content-Type"] == "image/svg+xml"
    assert given == [f"C{SWISH};3795,00;{code};0"]
    svg = ET.fromstring(qr.data)  # noqa: S314 - our own response
    assert svg.tag == "{http://www.w3.org/2000/svg}svg"
    paths = svg.findall("{http://www.w3.org/2000/svg}path")
    assert len(paths) == 1
    assert paths[0].get("d")
    assert b"<script" not in qr.data
    # The SVG is exactly segno's code of that payload.
    assert qr.data == formats.qr_svg(
        given[0], title=svg.find("{http://www.w3.org/2000/svg}title").text
    )
    _clean(app)


def test_the_qr_code_is_the_guests_own(app, people):
    _configure(app)
    booking_id = _booking(app, people)
    other = _client(app, "other@example.org")
    assert other.get(f"/bookings/{booking_id}/pay/swish.svg").status_code == 403


def test_without_details_the_pay_page_says_so_and_the_board_is_warned(app, people):
    booking_id = _booking(app, people)
    guest = _client(app, "guest@example.org")
    page = text_of(guest.get(f"/bookings/{booking_id}/pay"))
    assert 'id="pay-not-configured"' in page
    assert 'id="pay-swish-qr"' not in page
    assert guest.get(f"/bookings/{booking_id}/pay/swish.svg").status_code == 404
    board = _client(app, "board@example.org")
    warned = text_of(board.get("/board/payments"))
    assert 'id="payment-details-missing"' in warned
    assert 'href="/board/payment-details"' in warned
    _configure(app, bankgiro="")
    assert "bara betala med Swish" in text_of(board.get("/board/payments"))
    page = text_of(guest.get(f"/bookings/{booking_id}/pay"))
    assert 'id="pay-swish"' in page
    assert 'id="pay-bankgiro"' not in page


# --- holds per method ----------------------------------------------------------------------------


def _quiet_monday() -> datetime:
    """10:00 on a Monday at least a week ahead whose week has five bank days."""
    day = utcnow().astimezone(STOCKHOLM).date() + timedelta(days=7)
    while day.weekday() != 0 or not all(
        manual.is_bank_day(day + timedelta(days=n)) for n in range(5)
    ):
        day += timedelta(days=1)
    return datetime.combine(day, time(10), tzinfo=STOCKHOLM)


def _pending_at(app, people, at: datetime, *, days_ahead=20) -> int:
    """A booking waiting for payment since `at` (its 30-minute hold not yet over)."""
    with app.app_context():
        booking = factories.booking(
            listing=db.session.get(Listing, people["listing"]),
            guest=db.session.get(User, people["guest"]),
            check_in=at.date() + timedelta(days=days_ahead),
            state="pending_payment",
        )
        booking.expires_at = at + timedelta(minutes=30)
        db.session.commit()
        return booking.id


def _choose(app, booking_id, method, at):
    with app.app_context():
        booking = db.session.get(Booking, booking_id)
        changed = manual.choose_method(booking, method, at=at)
        db.session.commit()
        return changed, booking.expires_at


def _expire(app, booking_id, at) -> str:
    """The expiry job at `at`; the booking's state after it."""
    with app.app_context():
        bookings.expire_due(at=at)
        return db.session.get(Booking, booking_id).state


def test_a_bank_giro_booking_is_held_for_the_configured_bank_days(app, people):
    """Acceptance: chosen on Monday with 3 bank days, held to the end of Thursday; the expiry
    job on day N-1 (and late on day N) keeps it, just after day N releases it."""
    _configure(app)
    monday = _quiet_monday()
    booking_id = _pending_at(app, people, monday)
    changed, until = _choose(app, booking_id, PaymentMethod.BANKGIRO, monday)
    assert changed
    friday = datetime.combine(monday.date() + timedelta(days=4), time(0), tzinfo=STOCKHOLM)
    assert until == friday.astimezone(UTC)
    assert _expire(app, booking_id, monday + timedelta(hours=1)) == BookingState.PENDING_PAYMENT
    assert (
        _expire(app, booking_id, monday + timedelta(days=2)) == BookingState.PENDING_PAYMENT
    )  # day N-1
    assert _expire(app, booking_id, friday - timedelta(minutes=1)) == BookingState.PENDING_PAYMENT
    _clean(app)
    assert _expire(app, booking_id, friday + timedelta(seconds=1)) == BookingState.EXPIRED
    _clean(app)


def test_the_board_setting_changes_the_bank_days(app, people):
    _configure(app, days=1)
    monday = _quiet_monday()
    booking_id = _pending_at(app, people, monday)
    _changed, until = _choose(app, booking_id, PaymentMethod.BANKGIRO, monday)
    wednesday = datetime.combine(monday.date() + timedelta(days=2), time(0), tzinfo=STOCKHOLM)
    assert until == wednesday.astimezone(UTC)


def test_choosing_again_never_buys_more_time(app, people):
    _configure(app)
    monday = _quiet_monday()
    booking_id = _pending_at(app, people, monday)
    _changed, until = _choose(app, booking_id, PaymentMethod.SWISH, monday + timedelta(minutes=20))
    assert until == monday + timedelta(minutes=50)  # 30 minutes from the choice
    assert _choose(app, booking_id, PaymentMethod.SWISH, monday + timedelta(minutes=45)) == (
        False,
        until,
    )
    changed, bankgiro_until = _choose(
        app, booking_id, PaymentMethod.BANKGIRO, monday + timedelta(minutes=46)
    )
    assert changed
    assert bankgiro_until > until + timedelta(days=3)
    later = monday + timedelta(days=1)
    assert _choose(app, booking_id, PaymentMethod.SWISH, later) == (False, bankgiro_until)
    assert _choose(app, booking_id, PaymentMethod.BANKGIRO, later) == (False, bankgiro_until)
    with app.app_context():
        assert db.session.get(PaymentChoice, booking_id).method == PaymentMethod.BANKGIRO
    _clean(app)


def test_guest_chooses_bank_giro_on_the_pay_page(app, people):
    _configure(app)
    booking_id = _booking(app, people)
    guest = _client(app, "guest@example.org")
    url = f"/bookings/{booking_id}/pay"
    page = text_of(guest.get(url))
    assert 'id="choose-bankgiro"' in page
    assert 'id="choose-swish"' in page
    assert "3 bankdagar" in _flat(page)
    response = post_form(guest, f"{url}/method", {"method": "bankgiro"}, form_url=url)
    assert response.status_code == 303
    with app.app_context():
        booking = db.session.get(Booking, booking_id)
        assert booking.expires_at > utcnow() + timedelta(days=1)
        assert db.session.get(PaymentChoice, booking_id).method == "bankgiro"
    page = text_of(guest.get(url))
    assert 'id="pay-bankgiro-chosen"' in page
    assert 'id="choose-bankgiro"' not in page
    assert 'id="pay-swish-qr"' in page  # Swish still works
    bad = post_form(guest, f"{url}/method", {"method": "cash"}, form_url=url)
    assert bad.status_code == 400
    _clean(app)


def test_bank_giro_is_not_offered_for_a_stay_too_soon(app, people):
    _configure(app)
    booking_id = _booking(app, people, days_ahead=1)
    guest = _client(app, "guest@example.org")
    url = f"/bookings/{booking_id}/pay"
    page = text_of(guest.get(url))
    assert 'id="pay-bankgiro-too-late"' in page
    response = post_form(guest, f"{url}/method", {"method": "bankgiro"}, form_url=url)
    assert response.status_code == 422
    assert "Swish" in text_of(response)
    with app.app_context():
        assert db.session.get(PaymentChoice, booking_id) is None
        assert db.session.get(Booking, booking_id).expires_at < utcnow() + timedelta(hours=1)


def test_another_guest_cannot_choose(app, people):
    _configure(app)
    booking_id = _booking(app, people)
    other = _client(app, "other@example.org")
    response = post_form(
        other, f"/bookings/{booking_id}/pay/method", {"method": "bankgiro"}, form_url="/account"
    )
    assert response.status_code == 403


# --- the reminder --------------------------------------------------------------------------------


def test_a_reminder_goes_out_before_a_bank_giro_hold_lapses(app, people):
    _configure(app)
    monday = _quiet_monday()
    booking_id = _pending_at(app, people, monday)
    _changed, until = _choose(app, booking_id, PaymentMethod.BANKGIRO, monday)
    with app.app_context():
        assert manual.remind_bankgiro_due(at=monday + timedelta(hours=2)) == 0
        assert manual.remind_bankgiro_due(at=until - timedelta(hours=40)) == 1
        manual.remind_bankgiro_due(at=until - timedelta(hours=30))
        messages = db.session.scalars(
            select(OutboxMessage).where(OutboxMessage.template.like("%bankgiro%"))
        ).all()
        assert [m.key for m in messages] == [f"booking:{booking_id}:bankgiro_reminder:guest"]
        from rentalcoop import mail

        with app.test_request_context("/"):
            body = mail.compose(
                "guest@example.org", "sv", messages[0].template, **messages[0].context
            )
        text = _flat(body.get_content())
        code = db.session.get(Booking, booking_id).code
        assert "999-1233" in text
        assert code in text
        assert "3 795,00 kr" in text
        assert "Påminnelse" in body["Subject"]


def test_flask_jobs_run_sends_the_reminder(app, people, runner):
    _configure(app)
    booking_id = _booking(app, people)
    with app.app_context():
        booking = db.session.get(Booking, booking_id)
        now = utcnow()
        booking.expires_at = now + timedelta(hours=10)
        db.session.add(
            PaymentChoice(
                booking_id=booking_id, method="bankgiro", chosen_at=now - timedelta(days=2)
            )
        )
        db.session.commit()
    result = runner.invoke(args=["jobs", "run"])
    assert result.exit_code == 0, result.output
    assert "remind-bank-giro: 1" in result.output
    with app.app_context():
        message = db.session.scalar(
            select(OutboxMessage).where(OutboxMessage.template == "booking_bankgiro_reminder_guest")
        )
        assert message.sent_at is not None
        assert db.session.get(Booking, booking_id).state == BookingState.PENDING_PAYMENT


# --- the host sees the nights awaiting payment ---------------------------------------------------


def test_the_host_sees_nights_awaiting_payment(app, people):
    _configure(app)
    pending = _booking(app, people, days_ahead=3)
    _booking(app, people, days_ahead=10, state="confirmed")
    host = _client(app, "host@example.org")
    month = (utcnow().date() + timedelta(days=3)).strftime("%Y-%m")
    page = text_of(host.get(f"/host/listings/{people['listing']}/calendar?month={month}&lang=en"))
    assert 'data-state="awaiting"' in page
    assert "awaiting payment" in page
    assert "Awaiting payment" in page
    table = text_of(host.get("/host/reservations?lang=en"))
    assert f'id="awaiting-{pending}"' in table
    assert "Awaiting payment until" in table
    swedish = text_of(host.get("/host/reservations?lang=sv"))
    assert "Väntar på betalning till" in swedish
    # The guest's calendar still shows only "not available".
    guest = _client(app, "guest@example.org")
    listing_page = text_of(guest.get(f"/listings/{people['listing']}"))
    assert 'data-state="awaiting"' not in listing_page or "day--unavailable" in listing_page


# --- the board matches a payment by its reference ------------------------------------------------


def _match(client, reference, amount, form_url="/board/payments"):
    return post_form(
        client,
        "/board/payments/match",
        {"reference": reference, "amount": amount},
        form_url=form_url,
    )


def test_the_board_marks_a_bank_giro_booking_paid_by_its_reference(app, people):
    """Acceptance: a bank giro booking, held, then matched by its code."""
    _configure(app)
    booking_id = _booking(app, people)
    code = _code(app, booking_id)
    guest = _client(app, "guest@example.org")
    url = f"/bookings/{booking_id}/pay"
    post_form(guest, f"{url}/method", {"method": "bankgiro"}, form_url=url)
    board = _client(app, "board@example.org")
    desk = text_of(board.get("/board/payments"))
    assert 'id="match-submit"' in desk
    assert f'id="pays-by-{booking_id}">Bankgiro<' in desk
    response = _match(board, f"BG inbetalning 3795,00 medd: {code.lower()}", "3 795,00")
    assert response.status_code == 303
    with app.app_context():
        booking = db.session.get(Booking, booking_id)
        assert booking.state == BookingState.CONFIRMED
        payment = db.session.scalar(select(Payment).where(Payment.booking_id == booking_id))
        assert payment.state == PaymentState.SUCCEEDED
        assert payment.marked_by_id == people["board"]
    _clean(app)
    again = _match(board, code, "3795")
    assert again.status_code == 409
    assert "redan" in text_of(again)
    with app.app_context():
        assert len(db.session.scalars(select(Payment)).all()) == 1
    _clean(app)


def test_a_wrong_amount_or_unknown_reference_is_refused(app, people):
    _configure(app)
    booking_id = _booking(app, people)
    code = _code(app, booking_id)
    board = _client(app, "board@example.org")
    wrong = _match(board, code, "3 000,00")
    assert wrong.status_code == 422
    assert "stämmer inte" in _flat(text_of(wrong))
    assert "3 795,00 kr" in _flat(text_of(wrong))
    unknown = _match(board, "ZZZZZZZZ", "3 795,00")
    assert unknown.status_code == 422
    assert "ZZZZZZZZ" in text_of(unknown)
    garbage = _match(board, code, "mycket")
    assert garbage.status_code == 422
    with app.app_context():
        assert db.session.get(Booking, booking_id).state == BookingState.PENDING_PAYMENT
        assert db.session.scalars(select(Payment)).all() == []
    _clean(app)


def test_a_request_not_yet_accepted_cannot_be_matched(app, people):
    booking_id = _booking(app, people, state="requested")
    board = _client(app, "board@example.org")
    response = _match(board, _code(app, booking_id), "3795")
    assert response.status_code == 409
    with app.app_context():
        assert db.session.get(Booking, booking_id).paid_at is None


def test_a_payment_after_the_hold_lapsed_is_recorded_and_refunded(app, people):
    booking_id = _booking(app, people)
    with app.app_context():
        booking = db.session.get(Booking, booking_id)
        booking.expires_at = utcnow() - timedelta(minutes=1)
        db.session.commit()
        bookings.expire_due()
    board = _client(app, "board@example.org")
    assert _match(board, _code(app, booking_id), "3795").status_code == 303
    with app.app_context():
        booking = db.session.get(Booking, booking_id)
        assert booking.state == BookingState.EXPIRED
        assert booking.refund_total_ore == booking.total_ore
    _clean(app)


@pytest.mark.parametrize("who", ["guest@example.org", "host@example.org"])
def test_only_the_board_matches_payments(app, people, who):
    booking_id = _booking(app, people)
    client = _client(app, who)
    response = _match(client, _code(app, booking_id), "3795", form_url="/account")
    assert response.status_code == 403


def test_matching_is_refused_under_stripe(stripe_app, stripe_people):
    booking_id = _booking(stripe_app, stripe_people)
    board = _client(stripe_app, "board@example.org")
    response = _match(board, _code(stripe_app, booking_id), "3795", form_url="/account")
    assert response.status_code == 403
