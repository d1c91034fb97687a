"""Our own feed at /ical/<token>.ics (DESIGN §8): stable bytes and ETag, 304, no personal data,
imported nights left out, revocable, and readable by our importer and by vobject."""

from __future__ import annotations

import re
from datetime import timedelta

import icalendar
import pytest
import vobject
from sqlalchemy import delete, select

from rentalcoop.calendar import services
from rentalcoop.calendar.ical import blocked_nights
from rentalcoop.calendar.models import CalendarExport, CalendarFeed, ImportedBlock
from rentalcoop.db import utcnow
from rentalcoop.extensions import db
from rentalcoop.listings.pricing import coop_date
from tests import factories

DAY = timedelta(days=1)
GUEST_NAME = "Greta Gästsson"
GUEST_EMAIL = "greta.gast@example.org"
GUEST_PHONE = "+46701234567"


@pytest.fixture
def setup(app):
    """A listing with a confirmed booking, a pending one, a cancelled one, host blocks and an
    imported block; the guest has a name, email and phone-like message."""
    today = coop_date()
    with app.app_context():
        host = factories.host(email="host@example.org", name="Hanna Host")
        guest = factories.user(email=GUEST_EMAIL, name=GUEST_NAME)
        listing = factories.listing(host=host, title="Stuga", max_guests=4)
        confirmed = factories.booking(
            listing=listing, guest=guest, check_in=today + 10 * DAY, nights=3
        )
        confirmed.message = f"Call me on {GUEST_PHONE}"
        pending = factories.booking(
            listing=listing,
            guest=guest,
            check_in=today + 20 * DAY,
            nights=2,
            state="pending_payment",
        )
        factories.booking(
            listing=listing, guest=guest, check_in=today + 40 * DAY, nights=2, state="expired"
        )
        factories.blocked(listing, *(today + (30 + n) * DAY for n in range(4)))
        factories.blocked(listing, today + 13 * DAY)  # right after the confirmed stay
        feed = CalendarFeed(listing_id=listing.id, name="Airbnb", url="https://www.airbnb.com/x")
        db.session.add(feed)
        db.session.flush()
        db.session.add(
            ImportedBlock(
                feed_id=feed.id, uid="i@airbnb", night=today + 50 * DAY, listing_id=listing.id
            )
        )
        export = services.regenerate_export_token(listing)
        db.session.commit()
        return {
            "listing": listing.id,
            "token": export.token,
            "today": today,
            "confirmed": confirmed.id,
            "pending": pending.id,
        }


def _get(client, token, **headers):
    return client.get(f"/ical/{token}.ics", headers=headers)


def test_export_lists_bookings_and_blocks_with_stable_uids(client, setup):
    response = _get(client, setup["token"])
    assert response.status_code == 200
    assert response.headers["Content-Type"] == "text/calendar; charset=utf-8"
    body = response.get_data()
    text = body.decode()
    today = setup["today"]
    assert f"UID:booking-{setup['confirmed']}@localhost" in text
    assert f"UID:booking-{setup['pending']}@localhost" in text
    block_start = today + 30 * DAY
    assert re.search(r"\r\nUID:block-\d+@localhost\r\n", text)
    assert f"DTSTART;VALUE=DATE:{block_start:%Y%m%d}" in text
    assert f"DTEND;VALUE=DATE:{today + 34 * DAY:%Y%m%d}" in text  # merged, day after the last
    assert text.count("BEGIN:VEVENT") == 4  # 2 bookings, 2 block ranges; no expired, no import
    assert text.count("SUMMARY:Reserved") == 2
    assert text.count("SUMMARY:Not available") == 2


def test_bytes_and_etag_are_stable_and_304_answers_if_none_match(client, setup):
    first = _get(client, setup["token"])
    second = _get(client, setup["token"])
    assert first.get_data() == second.get_data()
    etag = first.headers["ETag"]
    assert etag == second.headers["ETag"]
    assert etag.startswith('"')
    assert not etag.startswith("W/")
    cached = _get(client, setup["token"], **{"If-None-Match": etag})
    assert cached.status_code == 304
    assert cached.get_data() == b""
    assert _get(client, setup["token"], **{"If-None-Match": '"other"'}).status_code == 200


def test_a_change_changes_bytes_and_etag(app, client, setup):
    before = _get(client, setup["token"])
    with app.app_context():
        listing = db.session.get(factories.Listing, setup["listing"])
        factories.blocked(listing, setup["today"] + 60 * DAY)
        db.session.commit()
    after = _get(client, setup["token"])
    assert after.headers["ETag"] != before.headers["ETag"]
    assert (
        _get(client, setup["token"], **{"If-None-Match": before.headers["ETag"]}).status_code == 200
    )


def test_no_personal_data_in_the_feed(app, client, setup):
    body = _get(client, setup["token"]).get_data().decode()
    with app.app_context():
        from rentalcoop.bookings.models import Booking

        codes = [b.code for b in db.session.scalars(select(Booking))]
    for secret in (GUEST_NAME, "Greta", GUEST_EMAIL, "example.org", GUEST_PHONE, "0701234567"):
        assert secret not in body
    assert "Stuga" not in body
    assert "Hanna" not in body
    for code in codes:
        assert code not in body
    assert "DESCRIPTION" not in body


def test_imported_blocks_are_not_re_exported(client, setup):
    body = _get(client, setup["token"]).get_data().decode()
    imported = setup["today"] + 50 * DAY
    assert f"{imported:%Y%m%d}" not in body
    assert "airbnb" not in body.lower()


def test_round_trip_through_our_importer_gives_the_same_nights(app, client, setup):
    body = _get(client, setup["token"]).get_data()
    today = setup["today"]
    read = blocked_nights(body, "Europe/Stockholm", since=today, until=today + 800 * DAY)
    expected = (
        {today + (10 + n) * DAY for n in range(3)}
        | {today + (20 + n) * DAY for n in range(2)}
        | {today + (30 + n) * DAY for n in range(4)}
        | {today + 13 * DAY}
    )
    assert read == expected


def test_vobject_validates_and_lines_are_folded_crlf(client, setup):
    body = _get(client, setup["token"]).get_data()
    parsed = vobject.readOne(body.decode("utf-8"), validate=True)
    assert len(parsed.vevent_list) == 4
    assert b"\n" not in body.replace(b"\r\n", b"")
    assert all(len(line) <= 75 for line in body.split(b"\r\n"))


def test_unknown_and_regenerated_tokens_are_404(app, client, setup):
    assert _get(client, "not-a-token").status_code == 404
    assert _get(client, "x" * 200).status_code == 404
    with app.app_context():
        listing = db.session.get(factories.Listing, setup["listing"])
        new = services.regenerate_export_token(listing).token
        db.session.commit()
    assert new != setup["token"]
    assert _get(client, setup["token"]).status_code == 404
    assert _get(client, new).status_code == 200
    with app.app_context():
        assert db.session.scalar(select(CalendarExport.token)) == new
        assert len(new) >= 40


def test_an_empty_listing_exports_an_empty_calendar(app, client):
    with app.app_context():
        listing = factories.listing()
        token = services.regenerate_export_token(listing).token
        db.session.commit()
    body = _get(client, token).get_data()
    assert body.startswith(b"BEGIN:VCALENDAR\r\n")
    assert b"BEGIN:VEVENT" not in body
    assert blocked_nights(body, since=coop_date(), until=coop_date() + DAY) == set()


def test_uid_domain_setting(make_app, setup):
    app = make_app(CALENDAR_UID_DOMAIN="rentalcoop.example")
    body = app.test_client().get(f"/ical/{setup['token']}.ics").get_data().decode()
    assert f"UID:booking-{setup['confirmed']}@rentalcoop.example" in body


def test_dtstamp_is_the_ranges_last_change(app, client, setup):
    with app.app_context():
        from rentalcoop.bookings.models import Booking

        booking = db.session.get(Booking, setup["confirmed"])
        stamp = (booking.updated_at or booking.created_at).strftime("%Y%m%dT%H%M%SZ")
    body = _get(client, setup["token"]).get_data().decode()
    event = body.split(f"UID:booking-{setup['confirmed']}@localhost")[1].split("END:VEVENT")[0]
    assert f"DTSTAMP:{stamp}" in event
    assert utcnow()  # the feed does not carry "now"


def _events(body: bytes) -> dict[str, dict]:
    """The exported events by UID, read with icalendar and checked by vobject."""
    vobject.readOne(body.decode("utf-8"), validate=True)
    calendar = icalendar.Calendar.from_ical(body)
    return {
        str(e["UID"]): {
            "start": e.start,
            "end": e.end,
            "sequence": int(e["SEQUENCE"]),
            "modified": e["LAST-MODIFIED"].dt,
            "stamp": e["DTSTAMP"].dt,
        }
        for e in calendar.walk("VEVENT")
    }


def _blocks(body: bytes) -> dict[str, dict]:
    return {uid: e for uid, e in _events(body).items() if uid.startswith("block-")}


def _set_blocks(app, listing_id, nights):
    from rentalcoop.listings.models import BlockedNight

    with app.app_context():
        db.session.execute(delete(BlockedNight).where(BlockedNight.listing_id == listing_id))
        listing = db.session.get(factories.Listing, listing_id)
        factories.blocked(listing, *nights)
        db.session.commit()


def test_a_block_keeps_its_uid_as_its_nights_change_and_its_sequence_grows(app, client, setup):
    today = setup["today"]
    days = [today + (30 + n) * DAY for n in range(4)]
    first = _blocks(_get(client, setup["token"]).get_data())
    (uid,) = [u for u, e in first.items() if e["start"] == days[0]]
    assert first[uid]["sequence"] == 0
    assert first[uid]["modified"] == first[uid]["stamp"]

    # The host opens the first night, then adds two at the end: still the same event.
    _set_blocks(app, setup["listing"], [*days[1:], today + 13 * DAY])
    shrunk = _blocks(_get(client, setup["token"]).get_data())
    assert (shrunk[uid]["start"], shrunk[uid]["end"]) == (days[1], days[3] + DAY)
    assert shrunk[uid]["sequence"] == 1
    assert shrunk[uid]["modified"] >= first[uid]["modified"]  # (whole seconds)
    _set_blocks(app, setup["listing"], [*days[1:], days[3] + DAY, days[3] + 2 * DAY])
    grown = _blocks(_get(client, setup["token"]).get_data())
    assert (grown[uid]["start"], grown[uid]["end"]) == (days[1], days[3] + 3 * DAY)
    assert grown[uid]["sequence"] == 2
    assert len(grown) == 1  # the one-night block after the stay is gone

    # Unchanged: the same bytes (and SEQUENCE) on every fetch.
    assert _get(client, setup["token"]).get_data() == _get(client, setup["token"]).get_data()

    # Split in two: the larger part keeps the UID, the smaller is a new event.
    _set_blocks(app, setup["listing"], [days[1], days[3], days[3] + DAY, days[3] + 2 * DAY])
    split = _blocks(_get(client, setup["token"]).get_data())
    assert (split[uid]["start"], split[uid]["end"]) == (days[3], days[3] + 3 * DAY)
    (other,) = set(split) - {uid}
    assert (split[other]["start"], split[other]["sequence"]) == (days[1], 0)


def test_bookings_carry_sequence_and_last_modified(client, setup):
    events = _events(_get(client, setup["token"]).get_data())
    booking = events[f"booking-{setup['confirmed']}@localhost"]
    assert booking["sequence"] >= 0
    assert booking["modified"] == booking["stamp"]


def test_two_fetches_at_once_give_a_new_block_one_uid(app, setup):
    import threading

    today = setup["today"]
    _set_blocks(app, setup["listing"], [today + (70 + n) * DAY for n in range(3)])
    barrier = threading.Barrier(2)
    bodies, errors = [], []

    def fetch():
        try:
            with app.test_client() as own:
                barrier.wait()
                bodies.append(_get(own, setup["token"]).get_data())
        except Exception as err:  # noqa: BLE001 - reported below
            errors.append(err)

    threads = [threading.Thread(target=fetch) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    assert not errors
    assert len(bodies) == 2
    assert _blocks(bodies[0]).keys() == _blocks(bodies[1]).keys()
    with app.app_context():
        from rentalcoop.calendar.models import ExportBlock

        stored = db.session.scalars(
            select(ExportBlock).where(ExportBlock.listing_id == setup["listing"])
        ).all()
    assert [(b.first_night, b.end_night) for b in stored] == [(today + 70 * DAY, today + 73 * DAY)]
