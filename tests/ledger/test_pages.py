"""The board's ledger pages: only the board gets in; balances, trial balance, journal, CSV."""

from __future__ import annotations

import csv
import io
from datetime import UTC, date, datetime

import pytest

from rentalcoop.extensions import db
from rentalcoop.ledger import services
from tests import factories
from tests.helpers import login, text_of

PAGES = ["/board/ledger", "/board/ledger/journal", "/board/ledger/journal.csv"]


@pytest.fixture
def books(app):
    """People, and one paid stay over the new year that has been completed and paid out."""
    with app.app_context():
        factories.user(email="guest@example.org")
        factories.user(email="board@example.org", board=True)
        factories.user(email="town@example.org", municipality=True)
        host = factories.host(email="host@example.org", name="Hanna Värd")
        home = factories.listing(host=host, nightly_price_ore=80_000, cleaning_fee_ore=30_000)
        booking = factories.booking(
            listing=home,
            check_in=date(2026, 12, 30),
            created_at=datetime(2026, 11, 1, 9, tzinfo=UTC),
        )
        services.post_payment_received(booking)
        services.post_stay_completed(booking)
        services.post_payout(booking, on=date(2027, 1, 2))
        services.post_transaction(
            "cost:formula",
            "operating_cost",
            date(2027, 1, 3),
            [("operating_costs", None, 1_000), ("cash", None, -1_000)],
            memo='=HYPERLINK("http://evil")',
        )
        db.session.commit()
        return {"host_id": host.id, "booking_id": booking.id}


def client_for(app, email):
    client = app.test_client()
    assert login(client, email).status_code == 303
    return client


@pytest.mark.usefixtures("books")
@pytest.mark.parametrize("email", ["guest@example.org", "host@example.org", "town@example.org"])
def test_only_the_board_may_see_the_books(app, email):
    client = client_for(app, email)
    for url in PAGES:
        assert client.get(url).status_code == 403, url


@pytest.mark.usefixtures("books")
def test_anonymous_visitors_are_sent_to_log_in(client):
    for url in PAGES:
        response = client.get(url)
        assert response.status_code == 302
        assert "/login" in response.headers["Location"]


@pytest.mark.usefixtures("books")
def test_the_board_sees_balances_and_balanced_trial_balances(app):
    client = client_for(app, "board@example.org")
    page = text_of(client.get("/board/ledger?lang=en"))
    assert "Hanna Värd" not in page  # the host is paid: nothing owed, no line of theirs
    assert "Trial balance 2026" in page
    assert "Trial balance 2027" in page
    assert page.count("Debits equal credits") == 2
    assert "Out of balance" not in page
    # 2026: the payment (3 105 kr) and two thirds of the fee earned (216 + 108 kr).
    assert "SEK\xa03,429.00" in page
    assert 'href="/board/ledger"' in text_of(client.get("/account?lang=en"))

    swedish = text_of(client.get("/board/ledger?lang=sv"))
    assert "3\xa0429,00\xa0kr" in swedish


def test_the_journal_lists_each_transaction_with_its_lines(app, books, count_queries):
    client = client_for(app, "board@example.org")
    response = client.get("/board/ledger/journal?lang=en")
    assert response.status_code == 200
    page = text_of(response)
    assert "Hanna Värd" in page
    assert "Guest payment" in page
    assert "Host payout" in page
    assert "Stay completed, fee earned" in page

    with count_queries() as few:
        client.get("/board/ledger/journal")
    with app.app_context():
        for n in range(60):  # 60 more, each with a host's line
            services.post_transaction(
                f"test:{n}",
                "test",
                date(2027, 2, 1),
                [("cash", None, 100), ("host_payable", books["host_id"], -100)],
            )
        db.session.commit()
    with count_queries() as many:
        full = client.get("/board/ledger/journal")
    assert text_of(full).count("Hanna Värd") == 50
    assert client.get("/board/ledger/journal?page=2").status_code == 200
    assert client.get("/board/ledger/journal?page=3").status_code == 404
    assert many.count == few.count  # the entries and names are loaded per page, not per line


@pytest.mark.usefixtures("books")
def test_the_csv_is_for_swedish_excel(app):
    client = client_for(app, "board@example.org")
    response = client.get("/board/ledger/journal.csv")
    assert response.status_code == 200
    assert response.mimetype == "text/csv"
    assert response.headers["Content-Type"] == "text/csv; charset=utf-8"
    assert "attachment" in response.headers["Content-Disposition"]
    body = response.get_data()
    assert body.startswith(b"\xef\xbb\xbf")
    rows = list(csv.reader(io.StringIO(body.decode("utf-8-sig")), delimiter=";"))
    assert rows[0] == [
        "date",
        "fiscal_year",
        "transaction_id",
        "key",
        "kind",
        "account",
        "party_id",
        "party",
        "amount_ore",
        "amount_kr",
        "memo",
    ]
    lines = rows[1:]
    payment = [row for row in lines if row[4] == "payment"]
    assert [row[5] for row in payment] == ["cash", "host_payable", "vat_payable", "unearned_fee"]
    assert payment[0][8:10] == ["310500", "3105,00"]
    assert payment[1][7] == "Hanna Värd"
    assert payment[1][8:10] == ["-270000", "-2700,00"]
    assert sum(int(row[8]) for row in lines) == 0
    formula = [row for row in lines if row[3] == "cost:formula"][0]
    assert formula[10].startswith("'=")  # not run as a formula

    only_2027 = client.get("/board/ledger/journal.csv?year=2027").get_data().decode("utf-8-sig")
    years = {row[1] for row in csv.reader(io.StringIO(only_2027), delimiter=";")}
    assert years == {"fiscal_year", "2027"}
