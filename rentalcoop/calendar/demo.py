"""Imported calendars for `flask demo-data`, so a newcomer sees the sync health panel working
without the internet (issue 13).

The feeds are read through the real code — `parse_feed`, then `sync.apply_outcome`, which
stores nights, warnings, the last success or error and the next run — from feed bodies made
here in the platforms' own shapes, never fetched. Their links point at `.invalid` host names
(RFC 2606), so a later `flask jobs run` cannot reach anything: it records a fetch error and
keeps the demo nights, as it would for a real platform that is down.
"""

from __future__ import annotations

from datetime import date, timedelta

from sqlalchemy import select

from rentalcoop.bookings.models import BookedNight
from rentalcoop.bookings.services import listing_today
from rentalcoop.calendar import sync
from rentalcoop.calendar.ical import FeedError, parse_feed
from rentalcoop.calendar.models import CalendarFeed
from rentalcoop.extensions import db
from rentalcoop.listings.models import Listing, ListingState

DAY = timedelta(days=1)


def _event(uid: str, first: date, nights: int, summary: str, extra: str = "") -> str:
    return (
        "BEGIN:VEVENT\r\n"
        "DTSTAMP:20261201T080000Z\r\n"
        f"DTSTART;VALUE=DATE:{first:%Y%m%d}\r\n"
        f"DTEND;VALUE=DATE:{first + nights * DAY:%Y%m%d}\r\n"
        f"SUMMARY:{summary}\r\n"
        f"UID:{uid}\r\n"
        f"{extra}"
        "END:VEVENT\r\n"
    )


def _calendar(prodid: str, events: list[str]) -> bytes:
    return (
        "BEGIN:VCALENDAR\r\nVERSION:2.0\r\nCALSCALE:GREGORIAN\r\n"
        f"PRODID:{prodid}\r\n" + "".join(events) + "END:VCALENDAR\r\n"
    ).encode()


def _free_starts(listing: Listing, today: date, count: int, nights: int) -> list[date]:
    """`count` first nights of `nights`-night ranges the demo bookings leave free (so the
    demo opens no double-booking conflicts), two weeks apart or more."""
    booked = set(
        db.session.scalars(select(BookedNight.night).where(BookedNight.listing_id == listing.id))
    )
    starts, day = [], today + 9 * DAY
    while len(starts) < count and day < today + 365 * DAY:
        if not any(day + n * DAY in booked for n in range(-1, nights + 1)):
            starts.append(day)
            day += 14 * DAY
        else:
            day += DAY
    return starts


def _apply(feed: CalendarFeed, listing: Listing, body: bytes | None) -> None:
    """Store one demo run of the feed: its nights (body) or a failure (None)."""
    since, until = sync._horizon(listing.timezone, sync.utcnow())
    task = sync.FeedTask(feed.id, feed.url, None, listing.timezone, since, until, "")
    if body is None:
        outcome = sync.Outcome(error=FeedError())
    else:
        outcome = sync.Outcome(parsed=parse_feed(body, listing.timezone, since=since, until=until))
    sync.apply_outcome(task, outcome)


def load_demo_feeds() -> int:
    """Two published homes follow other platforms: one an Airbnb calendar, one a Booking.com
    calendar (one of its events has a rule no one can read, so the panel shows a warning with
    the event's UID) and a Vrbo calendar whose link stopped returning a calendar after one
    good read (the panel shows the error; its nights stay blocked). Returns feeds made."""
    if db.session.scalar(select(CalendarFeed.id).limit(1)) is not None:
        return 0
    homes = list(
        db.session.scalars(
            select(Listing)
            .where(Listing.state == ListingState.PUBLISHED)
            .order_by(Listing.id)
            .limit(2)
        )
    )
    if len(homes) < 2:
        return 0
    first, second = homes
    made = 0

    today = listing_today(first)
    starts = _free_starts(first, today, 4, 4)
    airbnb = [
        _event(f"1418fb94e984-demo{n}@airbnb.com", start, 3 + n % 2, "Reserved")
        for n, start in enumerate(starts[:3])
    ]
    if len(starts) > 3:
        airbnb.append(
            _event("7f662ec65913-demo@airbnb.com", starts[3], 2, "Airbnb (Not available)")
        )
    made += _feed(
        first,
        "Airbnb",
        "https://www.airbnb.invalid/calendar/ical/4711.ics?s=demo",
        [_calendar("-//Airbnb Inc//Hosting Calendar 1.0//EN", airbnb)],
    )

    today = listing_today(second)
    starts = _free_starts(second, today, 5, 3)
    booking = [
        _event(f"demo{n:02d}@booking.com", start, 2, "CLOSED - Not available")
        for n, start in enumerate(starts[:3])
    ]
    if len(starts) > 3:
        booking.append(
            _event(
                "demo-weekly@booking.com",
                starts[3],
                1,
                "CLOSED - Not available",
                "RRULE:FREQ=FORTNIGHTLY\r\n",
            )
        )
    made += _feed(
        second,
        "Booking.com",
        "https://admin.booking.invalid/hotel/hoteladmin/ical.html?t=demo",
        [_calendar("-//admin.booking.com//NONSGML v1.0//EN", booking)],
    )
    vrbo = [_event("5d9c1f3e-demo@vrbo.com", start, 3, "Reserved - Demo") for start in starts[4:]]
    made += _feed(
        second,
        "Vrbo",
        "https://www.vrbo.invalid/icalendar/demo.ics",
        [_calendar("-//HomeAway.com, Inc.//EN", vrbo), None],
    )
    db.session.commit()
    return made


def _feed(listing: Listing, name: str, url: str, runs: list[bytes | None]) -> int:
    platform = {"Booking.com": "booking"}.get(name, name.lower())
    feed = CalendarFeed(listing_id=listing.id, name=name, url=url, platform=platform)
    db.session.add(feed)
    db.session.commit()
    for body in runs:
        _apply(feed, listing, body)
    return 1
