"""The annual seller report (DAC7): sums against the bookings and the ledger over a year with
cancellations and refunds, the hosts' own details, the board-only pages."""

from __future__ import annotations

from collections import Counter
from datetime import date, timedelta

import pytest
from sqlalchemy import select

from rentalcoop.bookings import services as bookings
from rentalcoop.bookings.models import Booking
from rentalcoop.extensions import db
from rentalcoop.governance import dac7
from rentalcoop.governance.models import SellerDetails
from rentalcoop.ledger.models import Account, LedgerEntry, LedgerTransaction
from tests import factories
from tests.governance.test_whole_year import _at, _book, _complete_and_pay
from tests.helpers import login, post_form, text_of

YEAR = 2025
PERSONNUMMER = "19811218-9876"  # Skatteverket's published test number


@pytest.fixture
def req(app):
    """A request context: the payment step builds the pay page's address."""
    with app.test_request_context():
        yield


def _org_number(first_nine: str) -> str:
    """A valid organisationsnummer: the nine digits and their Luhn check digit."""
    for check in "0123456789":
        if dac7._luhn_ok(first_nine + check):
            return first_nine + check
    raise AssertionError


def _year(board):
    flexible_host, strict_host = factories.host(), factories.host()
    flexible = factories.listing(
        host=flexible_host,
        nightly_price_ore=100_000,
        cleaning_fee_ore=30_000,
        cancellation_policy="flexible",
        street_address="Storgatan 1",
        max_nights=60,
    )
    strict = factories.listing(
        host=strict_host, nightly_price_ore=70_000, cancellation_policy="strict", max_nights=60
    )
    guests = [factories.user() for _ in range(4)]
    db.session.commit()
    made = [
        _book(flexible, guests[0], date(YEAR, 3, 3), 3, date(YEAR, 1, 10), board),
        _book(flexible, guests[1], date(YEAR, 5, 5), 4, date(YEAR, 2, 1), board),
        _book(strict, guests[2], date(YEAR, 7, 7), 5, date(YEAR, 6, 1), board),
        _book(strict, guests[3], date(YEAR, 8, 4), 2, date(YEAR, 6, 2), board),
        _book(strict, guests[0], date(YEAR, 12, 20), 21, date(YEAR, 11, 1), board),
    ]
    # A full refund in the next quarter (flexible, weeks ahead) and none (strict, days before).
    bookings.cancel_booking(made[1], "guest", guests[1], at=_at(date(YEAR, 4, 20)))
    bookings.cancel_booking(made[3], "guest", guests[3], at=_at(date(YEAR, 8, 1)))
    db.session.commit()
    _complete_and_pay(date(YEAR, 12, 31), board)
    # The next year's booking is not this year's.
    _book(flexible, guests[2], date(YEAR + 1, 3, 2), 2, date(YEAR + 1, 1, 5), board)
    return flexible_host, strict_host, [db.session.get(Booking, b.id) for b in made]


def _expected(made):
    """The figures from the bookings themselves, by quarter: credited at payment, debited by
    the refund of nights and cleaning at cancellation; nights of stays not cancelled."""
    consideration, activities, nights = Counter(), Counter(), Counter()
    for b in made:
        paid_q = dac7.quarter(b.paid_at.date())
        consideration[(b.listing_id, paid_q)] += b.accommodation_ore
        activities[(b.listing_id, paid_q)] += 1
        if b.cancelled_at is not None:
            refunded = b.refund_nights_ore + b.refund_cleaning_ore
            consideration[(b.listing_id, dac7.quarter(b.cancelled_at.date()))] -= refunded
        else:
            night = b.check_in
            while night < min(b.check_out, date(YEAR + 1, 1, 1)):
                nights[(b.listing_id, dac7.quarter(night))] += 1
                night += timedelta(days=1)
    return consideration, activities, nights


def test_the_report_sums_match_the_bookings_and_the_ledger(req):
    board = factories.user(board=True)
    flexible_host, strict_host, made = _year(board)
    assert made[1].refund_nights_ore > 0
    assert made[3].refund_nights_ore == 0
    consideration, activities, nights = _expected(made)

    report = dac7.seller_report(YEAR)

    assert [s.host.id for s in report] == [flexible_host.id, strict_host.id]
    for seller in report:
        for line in seller.listings:
            lid = line.listing.id
            assert line.consideration_ore == [consideration[(lid, q)] for q in range(4)]
            assert line.activities == [activities[(lid, q)] for q in range(4)]
            assert line.nights == [nights[(lid, q)] for q in range(4)]
            assert line.fees_ore == [0, 0, 0, 0]  # hosts pay no fee (DESIGN §5)
    flexible_line = report[0].listings[0]
    assert (
        flexible_line.consideration_ore[0] == made[0].accommodation_ore + made[1].accommodation_ore
    )
    assert flexible_line.consideration_ore[1] == -made[1].accommodation_ore  # Q2: the refund
    assert report[1].listings[0].nights[3] == 12  # 20–31 December of the year-end stay
    # The same total as the ledger's credits to the hosts in the year (payouts excluded).
    credited = -db.session.scalar(
        select(db.func.sum(LedgerEntry.amount_ore))
        .join(LedgerTransaction)
        .where(
            LedgerTransaction.fiscal_year == YEAR,
            LedgerTransaction.kind.in_(("payment", "refund")),
            LedgerEntry.account == Account.HOST_PAYABLE,
        )
    )
    assert sum(s.total("consideration_ore") for s in report) == credited


def test_missing_identifying_fields_are_listed_until_the_host_gives_them(req):
    board = factories.user(board=True)
    flexible_host, _strict_host, _made = _year(board)
    seller = dac7.seller_report(YEAR)[0]
    assert seller.missing == ["address", "tin", "date_of_birth"]
    assert seller.listings[0].missing == ["land_registration"]  # the address is there
    dac7.save_seller_details(
        flexible_host, kind="individual", address="Storgatan 1, Ekby", national_id=PERSONNUMMER
    )
    seller = dac7.seller_report(YEAR)[0]
    assert seller.missing == []
    assert dac7.birth_date(seller.details) == date(1981, 12, 18)


@pytest.mark.parametrize(
    ("kind", "given", "stored"),
    [
        ("individual", "19811218-9876", "198112189876"),
        ("individual", "811218-9876", "198112189876"),
        ("individual", "19811218-9875", None),
        ("individual", "12345", None),
        ("entity", _org_number("556677889"), _org_number("556677889")),
        ("entity", _org_number("556677889")[:-1] + "x", None),  # not digits: too short
        ("entity", _org_number("551677889"), None),  # third digit below 2: a person's number
    ],
)
def test_identity_numbers_are_checked(ctx, kind, given, stored):
    host = factories.host()
    if stored is None:
        with pytest.raises(dac7.SellerDetailsError):
            dac7.save_seller_details(host, kind=kind, national_id=given)
    else:
        assert dac7.save_seller_details(host, kind=kind, national_id=given).national_id == stored


def test_a_samordningsnummer_gives_the_date_of_birth(ctx):
    number = next(f"19811278{n:04d}" for n in range(10_000) if dac7._luhn_ok(f"811278{n:04d}"))
    row = dac7.save_seller_details(factories.host(), kind="individual", national_id=number)
    assert dac7.birth_date(row) == date(1981, 12, 18)


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("iban", "SE45 5000 0000 0583 9825 7467"),  # the wrong check digits
        ("vat_number", "SE5566778899"),
        ("tin_country", "Sverige"),
    ],
)
def test_other_fields_are_checked(ctx, field, value):
    with pytest.raises(dac7.SellerDetailsError):
        dac7.save_seller_details(factories.host(), kind="individual", **{field: value})


def test_a_valid_iban_is_kept(ctx):
    row = dac7.save_seller_details(
        factories.host(), kind="individual", iban="SE45 5000 0000 0583 9825 7466"
    )
    assert row.iban == "SE4550000000058398257466"


def test_the_host_enters_their_details_on_their_page(client, app):
    with app.app_context():
        factories.host(email="host@example.org")
        factories.user(email="guest@example.org")
        db.session.commit()
    login(client, "guest@example.org")
    assert client.get("/member/seller-details").status_code == 403
    client = app.test_client()  # a fresh browser for the host
    login(client, "host@example.org")
    page = "/member/seller-details"
    bad = post_form(client, page, {"kind": "individual", "national_id": "19811218-9875"})
    assert bad.status_code == 422
    assert "personnummer" in text_of(bad)
    ok = post_form(
        client,
        page,
        {"kind": "individual", "address": "Storgatan 1", "national_id": PERSONNUMMER},
    )
    assert ok.status_code == 303
    with app.app_context():
        row = db.session.scalars(select(SellerDetails)).one()
        assert (row.national_id, row.address) == ("198112189876", "Storgatan 1")


def test_only_the_board_sees_and_downloads_the_report(client, app):
    with app.test_request_context():
        board = factories.user(board=True, email="board@example.org")
        _year(board)
        factories.host(email="host@example.org")
        factories.user(email="guest@example.org")
        factories.user(municipality=True, email="town@example.org")
        db.session.commit()
    for email in ("host@example.org", "guest@example.org", "town@example.org"):
        other = app.test_client()
        login(other, email)
        assert other.get(f"/board/seller-report/{YEAR}").status_code == 403
        assert other.get(f"/board/seller-report/{YEAR}.csv").status_code == 403
    login(client, "board@example.org")
    assert client.get(f"/board/seller-report/{YEAR}").status_code == 200
    swedish = text_of(client.get(f"/board/seller-report/{YEAR}.csv"))
    english = text_of(client.get(f"/board/seller-report/{YEAR}.csv?lang=en"))
    header_en = english.splitlines()[0]
    assert "Consideration (SEK) Q1" in header_en
    assert "Nights Q4" in header_en
    assert swedish.splitlines()[0] != header_en  # the board's language decides
    rows = english.splitlines()[1:]
    assert len(rows) == 2  # one per listing with figures this year
    assert "land registration number (not collected)" in rows[0]
