"""The host's calendar-sync panel, and imported nights refused by search and booking."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import func, select

from rentalcoop.bookings.models import Booking
from rentalcoop.calendar.models import CalendarExport, CalendarFeed, ImportedBlock
from rentalcoop.extensions import db
from rentalcoop.listings.pricing import coop_date
from tests import factories
from tests.calendar.feedserver import calendar, vevent
from tests.helpers import csrf_token, login, post_form, text_of

DAY = timedelta(days=1)


@pytest.fixture
def setting(app):
    with app.app_context():
        host = factories.host(email="anna@example.org", name="Anna Host", locale="en")
        area = factories.area(code="EKB04", name="Söder")
        listing = factories.listing(host=host, area=area, max_guests=2, advance_notice_days=0)
        factories.host(email="olle@example.org", name="Olle Other")
        factories.user(email="gus@example.org", name="Gus Guest")
        factories.user(email="kommun@example.org", municipality=True)
        db.session.commit()
        return {"listing": listing.id}


def _page(listing_id: int) -> str:
    return f"/host/listings/{listing_id}/calendar"


def _post(client, listing_id: int, path: str, data=None):
    return post_form(client, f"{_page(listing_id)}/{path}", data or {}, form_url=_page(listing_id))


def _add(client, listing_id, name, url):
    return _post(client, listing_id, "feeds", {"name": name, "url": url})


def test_host_adds_syncs_and_removes_a_feed(app, client, feeds, setting):
    lid = setting["listing"]
    start = coop_date() + 5 * DAY
    url = feeds.set("/airbnb.ics", calendar(vevent("hm@airbnb.com", start, start + 2 * DAY)))
    login(client, "anna@example.org")
    page = text_of(client.get(_page(lid)))
    assert "Calendar sync with other platforms" in page
    assert "No calendars yet" in page

    response = _add(client, lid, "Airbnb", url)
    assert response.status_code == 303
    assert response.headers["Location"].endswith(f"{_page(lid)}#calendar-feeds")
    with app.app_context():
        feed = db.session.scalar(select(CalendarFeed))
        assert (feed.name, feed.url, feed.platform) == ("Airbnb", url, "other")
        feed_id = feed.id

    response = _post(client, lid, f"feeds/{feed_id}/sync")
    assert response.status_code == 303
    page = text_of(client.get(_page(lid) + f"?month={start:%Y-%m}"))
    assert "The calendar is updated." in page
    assert f'data-night="{start.isoformat()}" data-state="imported"' in page
    assert "blocks 2 nights ahead" in page

    response = _post(client, lid, f"feeds/{feed_id}/delete")
    assert response.status_code == 303
    with app.app_context():
        assert db.session.scalar(select(func.count()).select_from(CalendarFeed)) == 0
        assert db.session.scalar(select(func.count()).select_from(ImportedBlock)) == 0


def test_failing_feed_shows_the_error_in_plain_words(app, client, feeds, setting):
    lid = setting["listing"]
    url = feeds.set("/broken.ics", b"<html>Please sign in</html>")
    login(client, "anna@example.org")
    _add(client, lid, "Booking.com", url)
    with app.app_context():
        feed_id = db.session.scalar(select(CalendarFeed.id))
    _post(client, lid, f"feeds/{feed_id}/sync")
    page = text_of(client.get(_page(lid)))
    assert "The calendar could not be read" in page
    assert "This link did not return a calendar" in page
    with app.app_context():
        # Stored as the message id, translated for whoever reads the page (not in the job's
        # language).
        assert db.session.scalar(select(CalendarFeed.last_error)).startswith("This link did not")


@pytest.mark.parametrize(
    ("url", "message"),
    [
        ("http://10.0.0.1/cal.ics", "private or local network address"),
        ("http://169.254.169.254/latest/meta-data", "private or local network address"),
        ("file:///etc/passwd", "Only links that start with"),
        ("https://user:pw@example.org/cal.ics", "user name or password"),
        ("not a url", "not a complete web address"),
    ],
)
def test_unsafe_urls_are_refused_with_422(app, make_app, setting, url, message):
    strict = make_app(CALENDAR_ALLOW_LOOPBACK=False)
    client = strict.test_client()
    login(client, "anna@example.org")
    response = _add(client, setting["listing"], "X", url)
    assert response.status_code == 422
    assert message in text_of(response)
    with strict.app_context():
        assert db.session.scalar(select(func.count()).select_from(CalendarFeed)) == 0


def test_loopback_refused_in_production_settings(make_app, feeds, setting):
    strict = make_app(CALENDAR_ALLOW_LOOPBACK=False)
    client = strict.test_client()
    login(client, "anna@example.org")
    response = _add(client, setting["listing"], "X", feeds.set("/x.ics", calendar()))
    assert response.status_code == 422
    assert feeds.hits["/x.ics"] == 0


def test_empty_name_or_url_is_422(client, setting):
    login(client, "anna@example.org")
    response = _add(client, setting["listing"], "", "")
    assert response.status_code == 422
    page = text_of(response)
    assert "Give the calendar a name." in page
    assert "Paste the calendar's export link." in page


def test_same_url_twice_is_refused(client, feeds, setting):
    login(client, "anna@example.org")
    url = feeds.set("/d.ics", calendar())
    assert _add(client, setting["listing"], "A", url).status_code == 303
    response = _add(client, setting["listing"], "B", url)
    assert response.status_code == 422
    assert "already added" in text_of(response)


def test_export_link_created_copied_and_regenerated(app, client, setting):
    lid = setting["listing"]
    login(client, "anna@example.org")
    assert "Create the export link" in text_of(client.get(_page(lid)))
    assert _post(client, lid, "export-link").status_code == 303
    with app.app_context():
        first = db.session.scalar(select(CalendarExport.token))
    page = text_of(client.get(_page(lid)))
    assert f'value="http://localhost/ical/{first}.ics"' in page
    assert client.get(f"/ical/{first}.ics").status_code == 200
    _post(client, lid, "export-link")
    with app.app_context():
        second = db.session.scalar(select(CalendarExport.token))
    assert second != first
    assert client.get(f"/ical/{first}.ics").status_code == 404
    assert client.get(f"/ical/{second}.ics").status_code == 200


def test_sync_now_is_rate_limited(make_app, feeds, setting):
    limited = make_app(
        CALENDAR_ALLOW_LOOPBACK=True, RATELIMIT_ENABLED=True, CALENDAR_SYNC_NOW_LIMIT="2 per hour"
    )
    client = limited.test_client()
    login(client, "anna@example.org")
    lid = setting["listing"]
    _add(client, lid, "A", feeds.set("/rl.ics", calendar()))
    with limited.app_context():
        feed_id = db.session.scalar(select(CalendarFeed.id))
    token = csrf_token(client, _page(lid))
    url = f"{_page(lid)}/feeds/{feed_id}/sync"
    statuses = [client.post(url, data={"csrf_token": token}).status_code for _ in range(3)]
    assert statuses == [303, 303, 429]
    assert feeds.hits["/rl.ics"] == 2


def test_conflicts_are_listed_with_what_to_do(app, client, feeds, setting):
    lid = setting["listing"]
    start = coop_date() + 12 * DAY
    with app.app_context():
        listing = db.session.get(factories.Listing, lid)
        booking = factories.booking(listing=listing, check_in=start, nights=2)
        code = booking.code
        db.session.commit()
    login(client, "anna@example.org")
    _add(client, lid, "Vrbo", feeds.set("/v.ics", calendar(vevent("v1", start, start + DAY))))
    with app.app_context():
        feed_id = db.session.scalar(select(CalendarFeed.id))
    _post(client, lid, f"feeds/{feed_id}/sync")
    page = text_of(client.get(_page(lid)))
    assert "Double bookings to sort out" in page
    assert f"which booking {code} here holds" in page
    assert "Nothing was cancelled" in page


ROUTES = ["feeds", "feeds/{feed}/delete", "feeds/{feed}/sync", "export-link"]


@pytest.mark.parametrize("email", ["olle@example.org", "gus@example.org", "kommun@example.org"])
def test_nobody_but_the_host_may_touch_the_feeds(app, client, feeds, setting, email):
    lid = setting["listing"]
    with app.app_context():
        feed = CalendarFeed(listing_id=lid, name="A", url=feeds.set("/p.ics", calendar()))
        db.session.add(feed)
        db.session.commit()
        feed_id = feed.id
    login(client, email)
    token = csrf_token(client, "/account")
    for route in ROUTES:
        url = f"{_page(lid)}/{route.format(feed=feed_id)}"
        response = client.post(url, data={"csrf_token": token, "name": "x", "url": "http://x.y/"})
        assert response.status_code == 403, (email, route)
    assert feeds.hits["/p.ics"] == 0
    with app.app_context():
        assert db.session.scalar(select(func.count()).select_from(CalendarFeed)) == 1
        assert db.session.scalar(select(func.count()).select_from(CalendarExport)) == 0


def test_anonymous_is_sent_to_log_in(client, setting):
    response = client.post(f"{_page(setting['listing'])}/export-link", data={})
    assert response.status_code in (302, 400)  # CSRF or log-in first; never done
    for route in ROUTES:
        response = client.post(f"{_page(setting['listing'])}/{route.format(feed=1)}")
        assert response.status_code in (302, 400)


def test_feed_of_another_listing_is_404(app, client, setting):
    with app.app_context():
        host = db.session.scalar(
            select(factories.User).where(factories.User.email == "anna@example.org")
        )
        second = factories.listing(host=host)
        other = CalendarFeed(listing_id=second.id, name="A", url="https://example.org/a.ics")
        db.session.add(other)
        db.session.commit()
        other_id = other.id
    login(client, "anna@example.org")
    response = _post(client, setting["listing"], f"feeds/{other_id}/delete")
    assert response.status_code == 404


def _book(client, listing_id, check_in, check_out):
    data = {
        "check_in": check_in.isoformat(),
        "check_out": check_out.isoformat(),
        "guests": "2",
        "accept_rules": "y",
    }
    return post_form(
        client,
        f"/listings/{listing_id}/book",
        data,
        form_url=f"/listings/{listing_id}/book?check_in={check_in}&check_out={check_out}&guests=2",
    )


def test_search_and_booking_refuse_imported_nights(app, client, setting):
    lid = setting["listing"]
    check_in = coop_date() + 15 * DAY
    check_out = check_in + 3 * DAY
    search = f"/?area=EKB04&check_in={check_in}&check_out={check_out}&guests=2"
    assert f'id="listing-{lid}"' in text_of(client.get(search))
    with app.app_context():
        feed = CalendarFeed(listing_id=lid, name="A", url="https://example.org/a.ics")
        db.session.add(feed)
        db.session.flush()
        db.session.add(
            ImportedBlock(feed_id=feed.id, uid="u1", night=check_in + DAY, listing_id=lid)
        )
        db.session.commit()
    assert f'id="listing-{lid}"' not in text_of(client.get(search))
    login(client, "gus@example.org")
    response = _book(client, lid, check_in, check_out)
    assert response.status_code == 409
    with app.app_context():
        assert db.session.scalar(select(func.count()).select_from(Booking)) == 0
    # The nights around it can still be booked.
    assert _book(client, lid, check_in + 2 * DAY, check_out).status_code == 303


def test_our_own_export_link_cannot_be_imported(app, client, setting):
    lid = setting["listing"]
    login(client, "anna@example.org")
    _post(client, lid, "export-link")
    with app.app_context():
        token = db.session.scalar(select(CalendarExport.token))
    response = _add(client, lid, "Loop", f"http://127.0.0.1:5000/ical/{token}.ics")
    assert response.status_code == 422
    assert "export link of this site" in text_of(response)


@pytest.mark.sqlite_only
def test_adding_a_feed_looks_up_its_host_without_the_write_lock(
    app, client, feeds, setting, monkeypatch
):
    """The URL check resolves the host name (seconds on a slow resolver); other writers, say a
    booking, must not wait for it behind SQLite's write lock."""
    import sqlite3

    from rentalcoop.calendar import services
    from rentalcoop.safe_fetch import check_url

    path = app.config["SQLALCHEMY_DATABASE_URI"].removeprefix("sqlite:///")
    others_could_write = []

    def check_while_someone_writes(url, **kwargs):
        other = sqlite3.connect(path, timeout=0.2, isolation_level=None)
        try:
            other.execute("BEGIN IMMEDIATE")
            other.execute("ROLLBACK")
            others_could_write.append(True)
        except sqlite3.OperationalError:  # "database is locked"
            others_could_write.append(False)
        finally:
            other.close()
        return check_url(url, **kwargs)

    monkeypatch.setattr(services.safe_fetch, "check_url", check_while_someone_writes)
    login(client, "anna@example.org")
    response = _add(client, setting["listing"], "Airbnb", feeds.url("/a.ics"))
    assert response.status_code == 303
    assert others_could_write == [True]
    with app.app_context():
        assert db.session.scalar(select(func.count()).select_from(CalendarFeed)) == 1
