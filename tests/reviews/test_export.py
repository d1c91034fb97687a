"""Data portability: the export ZIP holds the person's data, in JSON and CSV, and nothing of
anyone else's (no other person's email, no other guests' bookings, no unpublished review)."""

from __future__ import annotations

import csv
import io
import json
import zipfile
from datetime import timedelta
from pathlib import Path

import pytest

from rentalcoop.bookings.models import Booking
from rentalcoop.db import utcnow
from rentalcoop.extensions import db
from rentalcoop.listings.models import Listing
from tests import factories
from tests.helpers import login

PHOTO_BYTES = b"\xff\xd8\xff\xe0 not really a jpeg but a file"


@pytest.fixture
def app_config(tmp_path):
    return {"UPLOAD_DIR": str(tmp_path / "uploads")}


@pytest.fixture
def town(app):
    """Two hosts, their guests, stays, reviews, messages, payouts and ledger entries."""
    from rentalcoop.ledger.models import LedgerEntry, LedgerTransaction
    from rentalcoop.listings.models import ListingPhoto
    from rentalcoop.payments.models import Payout

    with app.app_context():
        hanna = factories.host(name="Hanna Värd", email="hanna@example.org")
        gustav = factories.user(name="Gustav Gäst", email="gustav@example.org")
        xenia = factories.user(name="Xenia Annan", email="xenia@example.org")
        henrik = factories.host(name="Henrik Främling", email="henrik@example.org")
        greta = factories.user(name="Greta Främling", email="greta@example.org")
        hilding = factories.host(name="Hilding Tredje", email="hilding@example.org")

        home = factories.listing(host=hanna, title="Sjöbod vid hamnen")
        photo = ListingPhoto(listing_id=home.id, position=0, token="a" * 32, width=10, height=10)
        db.session.add(photo)
        folder = Path(app.config["UPLOAD_DIR"]) / "listings"
        folder.mkdir(parents=True, exist_ok=True)
        (folder / f"{'a' * 32}-l.jpg").write_bytes(PHOTO_BYTES)
        day = utcnow().date() + timedelta(days=90)
        factories.blocked(home, day)
        factories.night_price(home, day + timedelta(days=1), 123_400)

        stay = factories.completed_stay(listing=home, guest=gustav, completed_at=utcnow())
        factories.review(stay, side="guest", text="Gustav about the boathouse")
        factories.review(stay, side="host", stars=4, text="Hanna about Gustav")
        factories.message(stay, body="Gustav writes to Hanna")
        factories.message(stay, sender=hanna, body="Hanna answers Gustav")
        factories.booking(listing=home, guest=xenia, state="confirmed")

        # Another host's world: nothing of it may reach Hanna or Gustav.
        other_home = factories.listing(host=henrik, title="Främlingens torp")
        other = factories.completed_stay(listing=other_home, guest=greta, completed_at=utcnow())
        factories.review(other, side="guest", text="Greta about the croft")
        factories.message(other, body="Greta writes to Henrik")

        # Hilding has reviewed Gustav, but Gustav has not reviewed back and the window is open:
        # the review is not published, so not even Gustav's export may contain it.
        third = factories.completed_stay(
            listing=factories.listing(host=hilding), guest=gustav, completed_at=utcnow()
        )
        factories.review(third, side="host", stars=2, text="UNPUBLISHED-HILDING-WORDS")

        for booking, host, amount in ((stay, hanna, 111_100), (other, henrik, 999_900)):
            db.session.add(
                Payout(booking_id=booking.id, host_id=host.id, amount_ore=amount, due_at=utcnow())
            )
            transaction = LedgerTransaction(
                key=f"test:{booking.id}",
                kind="payment",
                booking_id=booking.id,
                booked_on=utcnow().date(),
                fiscal_year=utcnow().year,
                memo=f"Booking {booking.code}",
            )
            db.session.add(transaction)
            db.session.flush()
            db.session.add_all(
                [
                    LedgerEntry(transaction_id=transaction.id, account="cash", amount_ore=amount),
                    LedgerEntry(
                        transaction_id=transaction.id,
                        account="host_payable",
                        party_id=host.id,
                        amount_ore=-amount,
                    ),
                ]
            )
        db.session.commit()
        return {"stay": stay.id, "listing": home.id}


def _export(client, email) -> zipfile.ZipFile:
    login(client, email)
    response = client.get("/account/export.zip")
    assert response.status_code == 200
    assert response.mimetype == "application/zip"
    assert "attachment" in response.headers["Content-Disposition"]
    return zipfile.ZipFile(io.BytesIO(response.data))


def _all_text(archive: zipfile.ZipFile) -> str:
    return "\n".join(archive.read(name).decode("utf-8", "replace") for name in archive.namelist())


def test_host_export_holds_their_data(app, client, town):
    archive = _export(client, "hanna@example.org")
    names = set(archive.namelist())
    assert {
        "README.txt",
        "profile.json",
        "listings.json",
        "listings.csv",
        "calendar/blocked_nights.csv",
        "calendar/night_prices.json",
        "bookings_as_host.json",
        "bookings_as_guest.json",
        "messages.json",
        "messages.csv",
        "reviews_written.json",
        "reviews_about_me.json",
        "money/payouts.json",
        "money/ledger_entries.csv",
    } <= names
    profile = json.loads(archive.read("profile.json"))
    assert profile["email"] == "hanna@example.org"
    assert profile["membership"]["member_number"]
    assert "password_hash" not in profile

    listings = json.loads(archive.read("listings.json"))
    assert [listing["title"] for listing in listings] == ["Sjöbod vid hamnen"]
    photo_file = listings[0]["photos"][0]["file"]
    assert archive.read(photo_file) == PHOTO_BYTES
    prices = json.loads(archive.read("calendar/night_prices.json"))
    assert [p["price_ore"] for p in prices] == [123_400]

    as_host = json.loads(archive.read("bookings_as_host.json"))
    assert sorted(b["guest_name"] for b in as_host) == ["Gustav Gäst", "Xenia Annan"]
    assert all("guest_id" not in b for b in as_host)
    messages = json.loads(archive.read("messages.json"))
    assert {(m["direction"], m["body"]) for m in messages} == {
        ("received", "Gustav writes to Hanna"),
        ("sent", "Hanna answers Gustav"),
    }
    about = json.loads(archive.read("reviews_about_me.json"))
    assert [r["text"] for r in about] == ["Gustav about the boathouse"]
    payouts = json.loads(archive.read("money/payouts.json"))
    assert [p["amount_ore"] for p in payouts] == [111_100]
    ledger = list(
        csv.DictReader(io.StringIO(archive.read("money/ledger_entries.csv").decode("utf-8-sig")))
    )
    assert {row["account"] for row in ledger} == {"host_payable"}
    assert "-111100" in {row["amount_ore"] for row in ledger}

    text = _all_text(archive)
    for foreign in (
        "gustav@example.org",
        "xenia@example.org",
        "henrik@example.org",
        "greta@example.org",
        "hilding@example.org",
        "Henrik",
        "Greta",
        "Hilding",
        "Främling",
        "999900",
        "UNPUBLISHED-HILDING-WORDS",
    ):
        assert foreign not in text, foreign


def test_guest_export_holds_trips_messages_and_reviews_only(app, client, town):
    archive = _export(client, "gustav@example.org")
    profile = json.loads(archive.read("profile.json"))
    assert profile["email"] == "gustav@example.org"
    assert profile["membership"] is None
    trips = json.loads(archive.read("bookings_as_guest.json"))
    assert len(trips) == 2
    assert {t["host_name"] for t in trips} == {"Hanna Värd", "Hilding Tredje"}
    assert json.loads(archive.read("bookings_as_host.json")) == []
    assert json.loads(archive.read("listings.json")) == []
    written = json.loads(archive.read("reviews_written.json"))
    assert [r["text"] for r in written] == ["Gustav about the boathouse"]
    about = json.loads(archive.read("reviews_about_me.json"))
    assert [r["text"] for r in about] == ["Hanna about Gustav"]
    assert json.loads(archive.read("money/payouts.json")) == []

    text = _all_text(archive)
    for foreign in (
        "hanna@example.org",
        "hilding@example.org",
        "xenia@example.org",
        "Xenia",
        "henrik@example.org",
        "greta@example.org",
        "Greta",
        "Henrik",
        "111100",
        "UNPUBLISHED-HILDING-WORDS",
    ):
        assert foreign not in text, foreign


def test_csv_cells_that_look_like_formulas_are_defused(app, client, town):
    with app.app_context():
        from rentalcoop.bookings.models import Booking

        factories.message(db.session.get(Booking, town["stay"]), body='=HYPERLINK("x")')
        db.session.commit()
    archive = _export(client, "gustav@example.org")
    raw = archive.read("messages.csv").decode("utf-8")
    assert raw.startswith("\ufeff")
    bodies = [row["body"] for row in csv.DictReader(io.StringIO(raw.lstrip("\ufeff")))]
    assert '\'=HYPERLINK("x")' in bodies
    # JSON keeps the text as written.
    messages = json.loads(archive.read("messages.json"))
    assert '=HYPERLINK("x")' in {m["body"] for m in messages}


def test_export_needs_a_login(client):
    response = client.get("/account/export.zip")
    assert response.status_code == 302
    assert "/login" in response.headers["Location"]


def test_settings_page_offers_the_download(app, client, town):
    login(client, "gustav@example.org")
    page = client.get("/account").get_data(as_text=True)
    assert 'href="/account/export.zip"' in page


class TestRateLimit:
    @pytest.fixture
    def app_config(self, tmp_path):
        return {
            "UPLOAD_DIR": str(tmp_path / "uploads"),
            "RATELIMIT_ENABLED": True,
            "EXPORT_RATE_LIMIT": "2 per minute",
        }

    def test_export_is_rate_limited_per_person(self, app, client, town):
        login(client, "gustav@example.org")
        assert client.get("/account/export.zip").status_code == 200
        assert client.get("/account/export.zip").status_code == 200
        assert client.get("/account/export.zip").status_code == 429


@pytest.fixture
def full_record(app, town):
    """Hanna's record with a row in every part of the export: an answered review, a guest trip
    of her own with a payment and a refund, an imported feed, a report she filed, a payment
    account, a membership application and a posted patronage statement."""
    from rentalcoop.accounts.models import MembershipApplication
    from rentalcoop.accounts.models import User as Person
    from rentalcoop.calendar.models import CalendarFeed, ImportedBlock
    from rentalcoop.governance.models import CloseState, PatronageShare, YearClose
    from rentalcoop.moderation import services as moderation
    from rentalcoop.payments.models import HostPaymentAccount, Payment, Refund
    from rentalcoop.reviews import services as reviews
    from rentalcoop.reviews.models import Review

    with app.app_context():
        hanna = db.session.scalar(db.select(Person).filter_by(email="hanna@example.org"))
        about_hanna = db.session.scalar(db.select(Review).filter_by(subject_id=hanna.id))
        reviews.answer_review(about_hanna, hanna, "Thank you, Gustav!")
        trip = factories.booking(guest=hanna, state="cancelled_by_guest", paid=True)
        from rentalcoop.wishlists.models import SavedHome

        db.session.add(SavedHome(user_id=hanna.id, listing_id=trip.listing_id))
        db.session.add_all(
            [
                Payment(booking_id=trip.id, provider="manual", amount_ore=trip.total_ore),
                Refund(booking_id=trip.id, amount_ore=trip.total_ore),
                HostPaymentAccount(user_id=hanna.id, stripe_account_id="acct_hanna"),
                MembershipApplication(user_id=hanna.id, motivation="I host a boathouse."),
            ]
        )
        home = db.session.get(Listing, town["listing"])
        feed = CalendarFeed(listing_id=home.id, name="Airbnb", url="https://example.com/a.ics")
        db.session.add(feed)
        db.session.flush()
        db.session.add(
            ImportedBlock(
                feed_id=feed.id,
                uid="x@airbnb",
                night=utcnow().date() + timedelta(days=120),
                listing_id=home.id,
            )
        )
        message = factories.message(db.session.get(Booking, town["stay"]), body="Rude words")
        moderation.report_content(
            hanna, "message", message, db.session.get(Booking, town["stay"]), "Rude"
        )
        year = utcnow().year - 1
        db.session.add(
            YearClose(
                year=year,
                state=CloseState.POSTED,
                fees_ore=1000,
                community_ore=500,
                costs_ore=0,
                surplus_ore=500,
                reserve_ore=0,
                distributed_ore=500,
                nights=2,
                posted_at=utcnow(),
            )
        )
        db.session.flush()
        db.session.add(PatronageShare(year=year, member_id=hanna.id, nights=2, amount_ore=500))
        db.session.commit()


def test_export_with_a_row_in_every_part_downloads_every_part(app, client, full_record):
    """Observation 1 of issue 16: an answered review (a dict with a datetime inside a CSV cell)
    made the whole download a 500. Every table, JSON and CSV, must come out with real rows."""
    archive = _export(client, "hanna@example.org")
    tables = sorted(n[: -len(".csv")] for n in archive.namelist() if n.endswith(".csv"))
    assert len(tables) >= 15
    for table in tables:
        rows = json.loads(archive.read(f"{table}.json"))
        assert rows, f"{table} has no rows"
        csv_rows = list(
            csv.DictReader(io.StringIO(archive.read(f"{table}.csv").decode("utf-8-sig")))
        )
        assert len(csv_rows) == len(rows), table
    about = json.loads(archive.read("reviews_about_me.json"))
    assert about[0]["answer"]["text"] == "Thank you, Gustav!"
    assert about[0]["answer"]["created_at"]
    readme = archive.read("README.txt").decode()
    for table in tables:
        assert f"{table}.csv" in readme
