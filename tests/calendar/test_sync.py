"""Syncing imported feeds (DESIGN §8): upsert by UID, keep the last good nights on errors, hold
an emptied feed one run, conflicts told once, back-off, claims and per-host limits."""

from __future__ import annotations

import threading
from datetime import timedelta

import pytest
from sqlalchemy import func, select

from rentalcoop import safe_fetch
from rentalcoop.bookings.models import Booking, BookingState
from rentalcoop.calendar import services, sync
from rentalcoop.calendar.models import CalendarConflict, CalendarFeed, ImportedBlock
from rentalcoop.db import utcnow
from rentalcoop.extensions import db
from rentalcoop.listings import availability
from rentalcoop.listings.pricing import coop_date
from rentalcoop.outbox import OutboxMessage
from tests import factories
from tests.calendar.feedserver import FeedServer, calendar, vevent

DAY = timedelta(days=1)


def _today():
    return coop_date()


@pytest.fixture
def home(app):
    with app.app_context():
        host = factories.host(email="host@example.org", name="Hanna Host", locale="en")
        listing = factories.listing(host=host)
        db.session.commit()
        return listing.id


def _add_feed(app, listing_id, url, name="Airbnb"):
    with app.app_context():
        feed = CalendarFeed(listing_id=listing_id, name=name, url=url, next_run_at=utcnow())
        db.session.add(feed)
        db.session.commit()
        return feed.id


def _rows(app, feed_id):
    with app.app_context():
        return set(
            tuple(row)
            for row in db.session.execute(
                select(ImportedBlock.uid, ImportedBlock.night).where(
                    ImportedBlock.feed_id == feed_id
                )
            )
        )


def _feed(app, feed_id) -> CalendarFeed:
    with app.app_context():
        feed = db.session.get(CalendarFeed, feed_id)
        db.session.expunge(feed)
        return feed


def _sync(app, **kwargs):
    with app.app_context():
        return sync.sync_due(force=kwargs.pop("force", True), **kwargs)


def test_first_sync_imports_nights_and_makes_them_unavailable(app, feeds, home):
    start = _today() + 10 * DAY
    url = feeds.set("/a.ics", calendar(vevent("stay-1@airbnb.com", start, start + 3 * DAY)))
    feed_id = _add_feed(app, home, url)
    report = _sync(app, force=False)
    assert (report.synced, report.failed) == (1, 0)
    assert _rows(app, feed_id) == {("stay-1@airbnb.com", start + n * DAY) for n in range(3)}
    with app.app_context():
        assert not availability.is_free(home, start, start + DAY)
        assert availability.is_free(home, start + 3 * DAY, start + 4 * DAY)
        taken = availability.unavailable_nights(home, start, start + 5 * DAY)
        assert set(taken.values()) == {"imported"}
        feed = db.session.get(CalendarFeed, feed_id)
        assert feed.last_success_at is not None
        assert feed.consecutive_failures == 0
        assert feed.next_run_at - utcnow() > timedelta(minutes=14)
    # Not due again: a second run without force fetches nothing.
    assert _sync(app, force=False).total == 0
    assert feeds.hits["/a.ics"] == 1


def test_a_rolling_block_that_moves_a_day_updates_the_same_uid(app, feeds, home):
    start = _today() + 5 * DAY
    uid = "7f662ec65913-aaaa@airbnb.com"
    url = feeds.set("/r.ics", calendar(vevent(uid, start, start + 300 * DAY, "Not available")))
    feed_id = _add_feed(app, home, url)
    _sync(app)
    before = _rows(app, feed_id)
    feeds.set("/r.ics", calendar(vevent(uid, start + DAY, start + 301 * DAY, "Not available")))
    report = _sync(app)
    after = _rows(app, feed_id)
    assert {u for u, _n in after} == {uid}  # one block, same UID: updated, not added
    assert len(after) == len(before) == 300
    assert report.changed_nights == 2  # one night left, one came
    assert min(n for _u, n in after) == start + DAY


@pytest.mark.parametrize(
    ("failure", "expected"),
    [
        ("timeout", "did not answer in time"),
        ("500", "error 500"),
        ("html", "did not return a calendar"),
        ("garbage", "did not return a calendar"),
        ("404", "error 404"),
    ],
)
def test_a_failing_feed_keeps_its_last_good_nights(
    app, feeds, home, monkeypatch, rctx, failure, expected
):
    start = _today() + 3 * DAY
    good = calendar(vevent("b1@booking.com", start, start + 2 * DAY))
    url = feeds.set("/f.ics", good)
    feed_id = _add_feed(app, home, url)
    _sync(app)
    kept = _rows(app, feed_id)
    assert len(kept) == 2
    replies = {
        "timeout": {"body": good, "delay": 1.5},
        "500": {"body": b"oops", "status": 500},
        "html": {"body": b"<!doctype html><html><body>Sign in</body></html>"},
        "garbage": {"body": b"\x00\xff\x10 not a calendar at all"},
        "404": {"body": b"gone", "status": 404},
    }
    feeds.set("/f.ics", **replies[failure])
    if failure == "timeout":  # only here: a loaded machine may need the usual time elsewhere
        monkeypatch.setattr(safe_fetch, "TOTAL_TIMEOUT", 0.6)
    report = _sync(app)
    assert (report.synced, report.failed) == (0, 1)
    assert _rows(app, feed_id) == kept
    feed = _feed(app, feed_id)
    assert feed.consecutive_failures == 1
    assert feed.last_error_at is not None
    message = services.show_message({"msgid": feed.last_error, "params": feed.last_error_params})
    assert expected in message
    assert "127.0.0.1" not in feed.last_error  # plain words, the parameters apart
    # The host sees it on the listing's calendar, in plain words.
    with app.app_context():
        listing = db.session.get(factories.Listing, home)
        (view,) = services.feed_views(listing, _today())
        assert view.error_is_current
        assert expected in view.error


def test_an_emptied_feed_is_held_one_run_then_cleared(app, feeds, home, rctx):
    start = _today() + 7 * DAY
    url = feeds.set("/e.ics", calendar(vevent("x@vrbo.com", start, start + 4 * DAY)))
    feed_id = _add_feed(app, home, url)
    _sync(app)
    assert len(_rows(app, feed_id)) == 4
    feeds.set("/e.ics", calendar())
    _sync(app)
    assert len(_rows(app, feed_id)) == 4  # held
    feed = _feed(app, feed_id)
    assert feed.empty_held
    warnings = [services.show_message(w) for w in feed.warnings]
    assert any("came back empty" in w for w in warnings)
    _sync(app)
    assert _rows(app, feed_id) == set()  # the second empty run clears them
    feed = _feed(app, feed_id)
    assert not feed.empty_held
    assert any("empty twice" in services.show_message(w) for w in feed.warnings)


def test_an_empty_run_between_full_ones_keeps_everything(app, feeds, home):
    start = _today() + 7 * DAY
    body = calendar(vevent("x@vrbo.com", start, start + 4 * DAY))
    url = feeds.set("/e.ics", body)
    feed_id = _add_feed(app, home, url)
    _sync(app)
    feeds.set("/e.ics", calendar())
    _sync(app)
    feeds.set("/e.ics", body)
    _sync(app)
    assert len(_rows(app, feed_id)) == 4
    assert not _feed(app, feed_id).empty_held
    feeds.set("/e.ics", calendar())
    _sync(app)
    assert len(_rows(app, feed_id)) == 4  # held again: the hold resets after a full run


def test_a_feed_that_never_had_nights_may_be_empty(app, feeds, home):
    url = feeds.set("/n.ics", calendar())
    feed_id = _add_feed(app, home, url)
    _sync(app)
    feed = _feed(app, feed_id)
    assert not feed.empty_held
    assert feed.warnings == []
    assert feed.last_success_at is not None


def test_conflicts_are_recorded_and_mailed_once_never_cancelled(app, feeds, home, rctx):
    start = _today() + 20 * DAY
    with app.app_context():
        listing = db.session.get(factories.Listing, home)
        booking = factories.booking(listing=listing, check_in=start, nights=3)
        booking_id = booking.id
        db.session.commit()
    # The other platform blocks the last two nights of our booking and two more.
    url = feeds.set("/c.ics", calendar(vevent("hm1@airbnb.com", start + DAY, start + 5 * DAY)))
    feed_id = _add_feed(app, home, url)
    report = _sync(app)
    assert report.conflicts == 1
    _sync(app)
    with app.app_context():
        conflicts = db.session.scalars(select(CalendarConflict)).all()
        assert len(conflicts) == 1
        conflict = conflicts[0]
        assert (conflict.feed_id, conflict.booking_id) == (feed_id, booking_id)
        assert conflict.nights == [(start + DAY).isoformat(), (start + 2 * DAY).isoformat()]
        assert conflict.resolved_at is None
        mails = db.session.scalars(select(OutboxMessage)).all()
        assert [(m.template, m.to_address) for m in mails] == [
            ("calendar_conflict_host", "host@example.org")
        ]
        assert mails[0].key == f"calendar-conflict:{conflict.id}"
        assert db.session.get(Booking, booking_id).state == BookingState.CONFIRMED
        # The host sees it on the calendar page panel.
        listing = db.session.get(factories.Listing, home)
        assert [c.id for c, _b in services.open_conflicts(listing)] == [conflict.id]
        # The mail renders in the host's language with the dates.
        from rentalcoop.mail import compose

        message = compose(
            "host@example.org", "en", "calendar_conflict_host", conflict_id=conflict.id
        )
        assert "Possible double booking" in message["Subject"]
        assert "Nothing was cancelled" in message.get_content()
    # The other platform fixes its calendar: the conflict closes.
    feeds.set("/c.ics", calendar(vevent("hm1@airbnb.com", start + 3 * DAY, start + 5 * DAY)))
    _sync(app)
    with app.app_context():
        assert db.session.scalar(select(CalendarConflict.resolved_at)) is not None
        assert db.session.scalar(select(func.count()).select_from(OutboxMessage)) == 1


def test_back_off_grows_on_repeated_errors_and_is_capped(app, feeds, home):
    url = feeds.set("/b.ics", b"nope", status=503)
    feed_id = _add_feed(app, home, url)
    waits = []
    for _ in range(4):
        _sync(app)
        feed = _feed(app, feed_id)
        waits.append(round((feed.next_run_at - feed.last_error_at).total_seconds() / 60))
    assert waits == [30, 60, 120, 240]
    with app.app_context():
        db.session.get(CalendarFeed, feed_id).consecutive_failures = 20
        db.session.commit()
    _sync(app)
    feed = _feed(app, feed_id)
    assert feed.next_run_at - feed.last_error_at == timedelta(hours=24)
    # Not due: a normal run leaves it alone.
    hits = feeds.hits["/b.ics"]
    assert _sync(app, force=False).total == 0
    assert feeds.hits["/b.ics"] == hits
    # Success resets the count and the interval.
    feeds.set("/b.ics", calendar())
    _sync(app)
    feed = _feed(app, feed_id)
    assert feed.consecutive_failures == 0
    assert feed.next_run_at - feed.last_success_at == timedelta(minutes=15)


def test_two_runners_at_once_sync_each_feed_once(app, feeds, home):
    start = _today() + 30 * DAY
    ids = []
    for n in range(6):
        url = feeds.set(f"/t{n}.ics", calendar(vevent(f"u{n}", start, start + DAY)), delay=0.3)
        ids.append(_add_feed(app, home, url))
    reports = []
    barrier = threading.Barrier(2)
    errors = []

    def runner():
        try:
            with app.app_context():
                barrier.wait()
                reports.append(sync.sync_due())
        except Exception as err:  # noqa: BLE001 - reported below
            errors.append(err)

    threads = [threading.Thread(target=runner) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=30)
    assert not errors
    assert sum(r.synced for r in reports) == 6
    assert all(feeds.hits[f"/t{n}.ics"] == 1 for n in range(6)), feeds.hits
    for feed_id in ids:
        assert _feed(app, feed_id).lease_until is None


def test_a_claimed_feed_is_not_synced_by_another_runner(app, feeds, home):
    url = feeds.set("/l.ics", calendar())
    feed_id = _add_feed(app, home, url)
    with app.app_context():
        (task,) = sync.candidates(utcnow())
        claimed = sync.claim(task)
        assert claimed is not None
        assert sync.claim(task) is None  # the second runner
        assert sync.claim(task, force=True) is None  # even "sync now" waits for the lease
    assert _sync(app).total == 0
    assert feeds.hits["/l.ics"] == 0
    # A runner whose lease expired and was taken over does not write.
    with app.app_context():
        db.session.get(CalendarFeed, feed_id).lease_until = utcnow() - DAY
        db.session.commit()
        again = sync.claim(task)
        assert again is not None
        assert not sync.apply_outcome(claimed, sync.Outcome(parsed=None))
        assert sync.apply_outcome(again, sync.Outcome(parsed=None))


def test_per_host_limit_is_respected(app, home):
    with FeedServer("127.0.0.1") as one, FeedServer("127.0.0.2") as two:
        for n in range(8):
            _add_feed(app, home, one.set(f"/o{n}.ics", calendar(), delay=0.25))
            _add_feed(app, home, two.set(f"/t{n}.ics", calendar(), delay=0.25))
        report = _sync(app, workers=16, per_host=2)
        assert report.synced == 16
        assert one.max_active == 2
        assert two.max_active == 2
        assert sum(one.hits.values()) == sum(two.hits.values()) == 8


def test_only_this_listings_feeds_with_listing_option(app, feeds, home):
    with app.app_context():
        other = factories.listing().id
        db.session.commit()
    _add_feed(app, home, feeds.set("/mine.ics", calendar()))
    _add_feed(app, other, feeds.set("/theirs.ics", calendar()))
    report = _sync(app, listing_id=home)
    assert report.synced == 1
    assert feeds.hits == {"/mine.ics": 1}


def test_cli_and_job(app, runner, feeds, home):
    from rentalcoop import jobs

    _add_feed(app, home, feeds.set("/j.ics", calendar()))
    result = runner.invoke(args=["calendar", "sync"])
    assert result.exit_code == 0, result.output
    assert "feeds synced: 1" in result.output
    result = runner.invoke(args=["calendar", "sync", "--force", "--listing", str(home)])
    assert "feeds synced: 1" in result.output
    with app.app_context():
        assert jobs.run_all("calendar-sync") == {"calendar-sync": 0}  # nothing due
    assert feeds.hits["/j.ics"] == 2


def test_loopback_is_refused_unless_the_setting_allows_it(make_app, feeds, home):
    strict = make_app(CALENDAR_ALLOW_LOOPBACK=False)
    feed_id = _add_feed(strict, home, feeds.set("/s.ics", calendar()))
    report = _sync(strict)
    assert report.failed == 1
    assert feeds.hits["/s.ics"] == 0
    assert "private or local" in _feed(strict, feed_id).last_error


def test_304_keeps_nights_and_counts_as_success(app, feeds, home):
    start = _today() + 9 * DAY
    body = calendar(vevent("g1", start, start + DAY))
    url = feeds.set("/etag.ics", body, headers={"ETag": '"v1"'})
    feed_id = _add_feed(app, home, url)
    _sync(app)
    assert _feed(app, feed_id).etag == '"v1"'
    feeds.set("/etag.ics", b"", status=304, headers={"ETag": '"v1"'})
    report = _sync(app)
    assert report.synced == 1
    assert len(_rows(app, feed_id)) == 1


def test_long_uids_are_hashed_and_stable(app, feeds, home):
    start = _today() + 9 * DAY
    uid = "x" * 400 + "@outlook.com"
    url = feeds.set("/long.ics", calendar(vevent(uid, start, start + DAY)))
    feed_id = _add_feed(app, home, url)
    _sync(app)
    _sync(app)
    rows = _rows(app, feed_id)
    assert len(rows) == 1
    assert next(iter(rows))[0].startswith("sha256:")


def test_many_feeds_parse_in_processes_with_the_same_result(make_app, feeds, home):
    pooled = make_app(
        CALENDAR_ALLOW_LOOPBACK=True,
        CALENDAR_SYNC_PARSE_PROCESSES=2,
    )
    start = _today() + 4 * DAY
    good = _add_feed(pooled, home, feeds.set("/p1.ics", calendar(vevent("p1", start, start + DAY))))
    bad = _add_feed(pooled, home, feeds.set("/p2.ics", b"<html>login</html>"))
    report = _sync(pooled)
    assert (report.synced, report.failed) == (1, 1)
    assert _rows(pooled, good) == {("p1", start)}
    assert _feed(pooled, bad).last_error.startswith("This link did not return a calendar")


def test_an_emptied_feed_with_an_etag_is_still_cleared_on_the_second_run(app, feeds, home):
    start = _today() + 7 * DAY
    url = feeds.set("/ee.ics", calendar(vevent("x", start, start + DAY)), headers={"ETag": '"1"'})
    feed_id = _add_feed(app, home, url)
    _sync(app)
    feeds.set("/ee.ics", calendar(), headers={"ETag": '"2"'})
    _sync(app)
    assert _feed(app, feed_id).etag is None  # held: the next run must not be a 304
    _sync(app)
    assert _rows(app, feed_id) == set()


def test_feeds_of_archived_listings_are_not_fetched(app, feeds, home):
    _add_feed(app, home, feeds.set("/arch.ics", calendar()))
    with app.app_context():
        db.session.get(factories.Listing, home).state = "archived"
        db.session.commit()
    assert _sync(app).total == 0
    assert feeds.hits["/arch.ics"] == 0
