"""Recurrences as recurring-ical-events and RFC 5545 read them, broken events, bounded work
(issue 13). Each case is a small feed of our own in tests/calendar/cases/."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pytest

from rentalcoop.calendar.ical import (
    MAX_OCCURRENCES_PER_EVENT,
    MAX_OCCURRENCES_PER_FEED,
    FeedError,
    blocked_nights,
    parse_feed,
)
from tests.calendar.test_ical import SINCE, UNTIL, feed, nights

CASES = Path(__file__).parent / "cases"


def case(name: str):
    return parse_feed((CASES / name).read_bytes(), since=SINCE, until=UNTIL)


def test_this_and_future_moves_every_later_instance():
    # The weekly stay moves two days later from its third week on (RFC 5545 §3.8.4.4).
    assert case("this_and_future.ics").nights == nights(
        "2027-01-04..2027-01-05",
        "2027-01-11..2027-01-12",
        "2027-01-20..2027-01-21",
        "2027-01-27..2027-01-28",
        "2027-02-03..2027-02-04",
        "2027-02-10..2027-02-11",
    )


def test_rdate_periods_block_every_night_of_the_period():
    assert case("rdate_period.ics").nights == nights(
        "2027-03-01", "2027-03-10..2027-03-13", "2027-04-01..2027-04-02"
    )


def test_revisions_of_one_uid_the_highest_sequence_then_the_latest_dtstamp_wins():
    result = case("revisions.ics")
    assert result.blocks == {
        "stay-7@cases.test": nights("2027-05-10..2027-05-11"),  # SEQUENCE 2 beats a later 1
        "block-3@cases.test": nights("2027-06-10"),  # same SEQUENCE: the latest DTSTAMP
        "series-9@cases.test": nights("2027-07-01", "2027-07-08"),  # the revised rule only
    }
    assert result.warnings == []


def test_events_sharing_a_uid_and_a_revision_are_separate_events():
    # npm `ics` and Google busy exports: same UID, same DTSTAMP, no SEQUENCE — all block.
    stamp = "DTSTAMP:20261201T000000Z"
    data = feed(
        f"UID:g\n{stamp}\nDTSTART;VALUE=DATE:20270101",
        f"UID:g\n{stamp}\nDTSTART;VALUE=DATE:20270105",
    )
    assert parse_feed(data, since=SINCE, until=UNTIL).blocks == {
        "g": nights("2027-01-01", "2027-01-05")
    }


def test_an_edited_instance_carrying_its_own_rrule_replaces_only_its_instance():
    assert case("edited_instance_with_rrule.ics").nights == nights(
        "2027-04-05..2027-04-06",
        "2027-04-13..2027-04-14",
        "2027-04-19..2027-04-20",
        "2027-04-26..2027-04-27",
    )


def test_malformed_rules_and_broken_events_are_the_events_problem():
    result = case("malformed_rules.ics")
    assert result.blocks == {
        # Exchange's `BYDAY=MO, TU` is read without the spaces.
        "exchange@cases.test": nights("2027-01-04..2027-01-05", "2027-01-11"),
        # FREQ=FORTNIGHTLY is no rule: its first occurrence blocks, and the host is told.
        "fortnightly@cases.test": nights("2027-02-01"),
        "broken-exdate@cases.test": nights("2027-02-15"),
        "good@cases.test": nights("2027-03-01..2027-03-02"),
    }
    assert [(w.kind, w.uid) for w in result.warnings] == [
        ("unreadable_series", "fortnightly@cases.test"),
        ("unreadable_event", "broken-start@cases.test"),
        ("unreadable_series", "broken-exdate@cases.test"),
    ]
    assert all(w.message for w in result.warnings)


@pytest.mark.parametrize(
    "prop",
    [
        "RRULE:FREQ=WEEKLY;BYDAY=MO, TU,",
        "RRULE:FREQ=FORTNIGHTLY",
        "RRULE:;;;",
        "RRULE:FREQ=DAILY;UNTIL=soon",
        "RDATE;VALUE=PERIOD:20270101T000000Z/garbage",
        "EXDATE;TZID=Nowhere:20270101T000000",
        "RECURRENCE-ID;RANGE=BOGUS:20270101T000000Z",
        "SEQUENCE:many",
        "DTSTAMP:yesterday",
        "DURATION:forever",
        "STATUS;VALUE=DATE:",
    ],
)
def test_one_broken_property_never_raises_anything_but_nights(prop):
    good = "UID:good\nDTSTART;VALUE=DATE:20270401\nDTEND;VALUE=DATE:20270403"
    broken = f"UID:bad\nDTSTART;VALUE=DATE:20270101\nRRULE:FREQ=DAILY;COUNT=3\n{prop}"
    result = parse_feed(feed(broken, good), since=SINCE, until=UNTIL)
    assert result.blocks["good"] == nights("2027-04-01..2027-04-02")


def test_not_icalendar_still_raises_feed_error():
    with pytest.raises(FeedError):
        blocked_nights(b"<html>RRULE:FREQ=DAILY</html>", since=SINCE, until=UNTIL)


# -- bounded work, counted in occurrences expanded ----------------------------------------------


def _plain(events: int = 50) -> bytes:
    return feed(
        *(
            f"UID:p{n}\nDURATION:P2D\nDTSTART;VALUE=DATE:"
            + date.fromordinal(date(2027, 1, 1).toordinal() + 3 * n).strftime("%Y%m%d")
            for n in range(events)
        )
    )


HOSTILE = {
    "hourly open-ended": "UID:h\nDTSTART:20261201T000000Z\nDURATION:PT1H\nRRULE:FREQ=HOURLY",
    "daily all-day": (
        "UID:d\nDTSTART;VALUE=DATE:20261201\nDTEND;VALUE=DATE:20261202\nRRULE:FREQ=DAILY"
    ),
    "daily since 1990": "UID:o\nDTSTART;VALUE=DATE:19900101\nRRULE:FREQ=DAILY",
    "every second listed": (
        "UID:s\nDTSTART:20261201T000000Z\nRRULE:FREQ=DAILY;BYHOUR="
        + ",".join(map(str, range(24)))
        + ";BYMINUTE="
        + ",".join(map(str, range(60)))
        + ";BYSECOND="
        + ",".join(map(str, range(60)))
    ),
}


@pytest.mark.parametrize("name", sorted(HOSTILE))
def test_a_repeating_event_costs_at_most_40_plain_feeds(name):
    plain = parse_feed(_plain(50), since=SINCE, until=UNTIL)
    assert plain.occurrences == 50
    result = parse_feed(feed(HOSTILE[name]), since=SINCE, until=UNTIL)
    assert 0 < result.occurrences <= MAX_OCCURRENCES_PER_EVENT <= 40 * plain.occurrences
    assert result.nights


def test_expansion_stays_inside_the_window():
    # An open-ended daily series from 1990: only the ~761 days of the window are expanded.
    result = parse_feed(feed(HOSTILE["daily since 1990"]), since=SINCE, until=UNTIL)
    assert result.nights == {d for d in nights("2026-12-01..2028-12-31")}
    assert result.occurrences <= (UNTIL - SINCE).days + 2
    assert result.warnings == []


def test_an_over_long_series_is_cut_at_the_cap_and_reported():
    result = parse_feed(feed(HOSTILE["hourly open-ended"]), since=SINCE, until=UNTIL)
    assert result.occurrences == MAX_OCCURRENCES_PER_EVENT
    assert [(w.kind, w.uid) for w in result.warnings] == [("too_many_repeats", "h")]
    # 2000 hours from 1 December 00:00 UTC: 84 nights in Stockholm.
    assert min(result.nights) == date(2026, 12, 1)
    assert len(result.nights) == 84


def test_a_feed_is_cut_at_its_cap_and_reported():
    series = [
        f"UID:d{n}\nDTSTART;VALUE=DATE:20261201\nRRULE:FREQ=DAILY;COUNT=900" for n in range(8)
    ]
    result = parse_feed(feed(*series), since=SINCE, until=UNTIL)
    assert result.occurrences == MAX_OCCURRENCES_PER_FEED + 1
    assert [w.kind for w in result.warnings] == ["too_many_events"]
    assert len(result.blocks) == 7  # six whole series and part of the seventh
