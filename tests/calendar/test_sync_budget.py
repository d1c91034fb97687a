"""No feed can stall the sync (issue 13): each feed is parsed in a process under a CPU budget,
a hostile feed fails alone and keeps its last good nights, and a run leaves what it could not
start for the next one, so `flask jobs run` goes on to its other jobs."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import select

from rentalcoop import jobs
from rentalcoop.calendar import services, sync
from rentalcoop.calendar.models import CalendarFeed, ImportedBlock
from rentalcoop.db import utcnow
from rentalcoop.extensions import db
from rentalcoop.listings.pricing import coop_date
from tests import factories
from tests.calendar.feedserver import calendar, vevent

DAY = timedelta(days=1)

# No 30 February: dateutil searches hour by hour, day by day, up to the year 9999 for the
# second and third instance (about 9 s of CPU each here), although the feed is a few hundred
# bytes and the occurrence caps never see more than one instance.
HOSTILE = calendar(
    *(
        "BEGIN:VEVENT\r\n"
        f"UID:hostile-{n}\r\n"
        "DTSTART:20261201T000000Z\r\n"
        "RRULE:FREQ=HOURLY;BYMONTH=2;BYMONTHDAY=30;COUNT=3\r\n"
        "END:VEVENT\r\n"
        for n in range(6)
    )
)


@pytest.fixture
def app_config():
    return {
        "CALENDAR_ALLOW_LOOPBACK": True,
        "CALENDAR_PARSE_CPU_SECONDS": 1,
        "CALENDAR_PARSE_WALL_SECONDS": 120,  # the CPU limit decides, however loaded the machine
        "CALENDAR_SYNC_PARSE_PROCESSES": 2,
    }


@pytest.fixture
def homes(app):
    with app.app_context():
        host = factories.host(email="host@example.org", locale="en")
        ids = [factories.listing(host=host).id for _ in range(21)]
        db.session.commit()
        return ids


def _add_feed(app, listing_id, url):
    with app.app_context():
        feed = CalendarFeed(listing_id=listing_id, name="Feed", url=url, next_run_at=utcnow())
        db.session.add(feed)
        db.session.commit()
        return feed.id


def _nights(app, feed_id):
    with app.app_context():
        return set(
            db.session.scalars(select(ImportedBlock.night).where(ImportedBlock.feed_id == feed_id))
        )


def test_one_hostile_feed_among_20_fails_alone_and_keeps_its_nights(app, feeds, homes, rctx):
    start = coop_date() + 10 * DAY
    ids = []
    for n, listing_id in enumerate(homes):
        body = calendar(vevent(f"stay-{n}", start + n * DAY, start + (n + 2) * DAY))
        ids.append(_add_feed(app, listing_id, feeds.set(f"/f{n}.ics", body)))
    with app.app_context():
        first = sync.sync_due(force=True)
    assert (first.synced, first.failed) == (21, 0)
    hostile_id = ids[7]
    kept = _nights(app, hostile_id)
    assert len(kept) == 2
    feeds.set("/f7.ics", HOSTILE)  # the platform's export turns hostile

    with app.app_context():
        report = sync.sync_due(force=True)
    assert (report.synced, report.failed) == (20, 1)
    for n, feed_id in enumerate(ids):
        if feed_id != hostile_id:
            assert _nights(app, feed_id) == {start + (n + d) * DAY for d in range(2)}
    assert _nights(app, hostile_id) == kept  # its last good nights stay blocked
    with app.app_context():
        feed = db.session.get(CalendarFeed, hostile_id)
        listing = db.session.get(factories.Listing, homes[7])
        (view,) = services.feed_views(listing, coop_date())
    assert feed.last_error == str(sync.TOO_MUCH_WORK._args[0])
    assert feed.consecutive_failures == 1
    assert view.error_is_current
    assert "too much work" in view.error
    assert "1 seconds" in view.error or "1 second" in view.error


def test_the_parser_pool_kills_a_feed_past_its_budget_and_goes_on(app, feeds, homes):
    start = coop_date() + 3 * DAY
    good = calendar(vevent("g", start, start + DAY))
    with app.app_context(), sync.ParserPool(1, cpu_seconds=1, wall_seconds=120) as pool:
        task = sync.FeedTask(
            1, "http://x/", None, "Europe/Stockholm", start, start + 400 * DAY, "x"
        )
        bad = pool.parse(task, sync.Outcome(body=HOSTILE))
        assert bad.error["msgid"] == str(sync.TOO_MUCH_WORK._args[0])
        assert bad.error["params"] == {"seconds": "1"}
        ok = pool.parse(task, sync.Outcome(body=good))  # a fresh process took the slot
        assert ok.error is None
        assert ok.parsed.nights == {start}
        assert pool.killed == 1


def test_a_run_past_its_time_leaves_the_rest_due_for_the_next_run(make_app, feeds, homes):
    quick = make_app(CALENDAR_ALLOW_LOOPBACK=True, CALENDAR_SYNC_RUN_SECONDS=0)
    ids = [_add_feed(quick, homes[n], feeds.set(f"/d{n}.ics", calendar())) for n in range(3)]
    with quick.app_context():
        report = sync.sync_due()
        assert (report.synced, report.deferred) == (0, 3)
        assert len(sync.candidates(utcnow())) == 3  # still due
    assert sum(feeds.hits.values()) == 0
    assert all(_nights(quick, i) == set() for i in ids)


def test_jobs_run_goes_on_after_a_hostile_feed(app, feeds, homes):
    _add_feed(app, homes[0], feeds.set("/h.ics", HOSTILE))
    _add_feed(app, homes[1], feeds.set("/ok.ics", calendar()))
    with app.app_context():
        done = jobs.run_all()
    assert done["calendar-sync"] == 2  # both handled: one synced, one failed
    assert set(done) == set(jobs.JOBS)
    assert all(count >= 0 for count in done.values())
