"""Reading feeds into blocked nights, and writing our own feed (DESIGN §8, CONTRACT.md)."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import pytest
import vobject
from hypothesis import given, settings
from hypothesis import strategies as st

from rentalcoop.calendar.ical import (
    EXPORT_SUMMARIES,
    ExportRange,
    FeedError,
    _fold,
    blocked_nights,
    export_calendar,
    merge_nights_to_ranges,
    parse_feed,
)
from rentalcoop.errors import DomainError

SAMPLES = Path(__file__).parent / "samples"
EXPECTED = json.loads((SAMPLES / "expected.json").read_text(encoding="utf-8"))
SINCE, UNTIL = date(2026, 12, 1), date(2029, 1, 1)


def nights(*spans: str) -> set[date]:
    """`"2027-03-10..2027-03-12"` (inclusive) or `"2027-03-10"` as a set of dates."""
    result = set()
    for span in spans:
        first, _, last = span.partition("..")
        start, end = date.fromisoformat(first), date.fromisoformat(last or first)
        result |= {start + timedelta(days=i) for i in range((end - start).days + 1)}
    return result


def feed(*events: str, extra: str = "") -> bytes:
    """A calendar around VEVENT bodies (one property per line, no BEGIN/END needed)."""
    body = "".join(
        "BEGIN:VEVENT\r\n" + "\r\n".join(e.strip().splitlines()) + "\r\nEND:VEVENT\r\n"
        for e in events
    )
    return (
        "BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:-//test//EN\r\n"
        + extra
        + body
        + "END:VCALENDAR\r\n"
    ).encode()


def read(data: bytes, tz: str = "Europe/Stockholm"):
    return blocked_nights(data, tz, since=SINCE, until=UNTIL)


def vtimezone(tzid: str, offset: str) -> str:
    return (
        f"BEGIN:VTIMEZONE\r\nTZID:{tzid}\r\nBEGIN:STANDARD\r\nDTSTART:16010101T000000\r\n"
        f"TZOFFSETFROM:{offset}\r\nTZOFFSETTO:{offset}\r\nEND:STANDARD\r\nEND:VTIMEZONE\r\n"
    )


# -- the sample feeds --------------------------------------------------------------------------


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_sample_feed_gives_expected_nights(name):
    data = (SAMPLES / name).read_bytes()
    expected = EXPECTED[name]
    if expected == "error":
        with pytest.raises(FeedError):
            blocked_nights(data, since=SINCE, until=UNTIL)
        return
    want = {date.fromisoformat(d) for d in expected if SINCE <= date.fromisoformat(d) < UNTIL}
    assert blocked_nights(data, since=SINCE, until=UNTIL) == want


def test_every_sample_file_has_an_expectation():
    assert {p.name for p in SAMPLES.glob("*.ics")} == set(EXPECTED)


def test_sample_blocks_are_kept_per_uid():
    result = parse_feed(
        (SAMPLES / "airbnb_listing_current.ics").read_bytes(), since=SINCE, until=UNTIL
    )
    window = "7f662ec65913-84dde86ae1beb50335daa94db48d8799@airbnb.com"
    assert result.blocks[window] == nights("2027-12-11..2028-03-14")
    assert len(result.blocks) == 9
    assert set().union(*result.blocks.values()) == result.nights


def test_sample_end_before_start_is_reported():
    result = parse_feed(
        (SAMPLES / "nextcloud_davx5_export.ics").read_bytes(), since=SINCE, until=UNTIL
    )
    assert [w.kind for w in result.warnings] == ["end_before_start"]
    assert result.warnings[0].uid == "K7RZP2MXQ4WD9TB3HN8VC"
    assert "2027-09-10" in result.warnings[0].message


# -- all-day events ----------------------------------------------------------------------------


def test_date_event_blocks_up_to_checkout_day():
    data = feed("UID:a\nDTSTART;VALUE=DATE:20270310\nDTEND;VALUE=DATE:20270314")
    assert read(data) == nights("2027-03-10..2027-03-13")


@pytest.mark.parametrize("end", ["DTEND;VALUE=DATE:20270310", "", "DURATION:P0D", "DURATION:PT5H"])
def test_date_event_without_length_blocks_one_night(end):
    assert read(feed(f"UID:a\nDTSTART;VALUE=DATE:20270310\n{end}")) == nights("2027-03-10")


@pytest.mark.parametrize(
    ("duration", "last"), [("P3D", "2027-03-12"), ("P1W", "2027-03-16"), ("P2DT", "2027-03-11")]
)
def test_date_event_duration_counts_nights(duration, last):
    data = feed(f"UID:a\nDTSTART;VALUE=DATE:20270310\nDURATION:{duration}")
    assert read(data) == nights(f"2027-03-10..{last}")


def test_date_arithmetic_across_february():
    data = feed("UID:a\nDTSTART;VALUE=DATE:20280227\nDTEND;VALUE=DATE:20280302")
    assert read(data) == nights("2028-02-27..2028-03-01")


# -- timed events and time zones ---------------------------------------------------------------


def test_utc_event_is_read_in_the_listing_zone():
    data = feed("UID:a\nDTSTART:20270305T230500Z\nDTEND:20270307T090000Z")
    assert read(data) == nights("2027-03-06")
    assert read(data, tz="UTC") == nights("2027-03-05..2027-03-06")


def test_timed_event_within_one_day_blocks_that_night():
    assert read(feed("UID:a\nDTSTART:20270520T080000Z\nDTEND:20270520T150000Z")) == nights(
        "2027-05-20"
    )


def test_timed_event_without_end_blocks_its_local_date():
    assert read(feed("UID:a\nDTSTART:20271112T232000Z")) == nights("2027-11-13")


def test_timed_event_with_duration():
    data = feed("UID:a\nDTSTART:20271008T120000Z\nDURATION:PT26H")
    assert read(data) == nights("2027-10-08")
    data = feed("UID:a\nDTSTART;TZID=Europe/Stockholm:20270604T160000\nDURATION:PT158400S")
    assert read(data) == nights("2027-06-04..2027-06-05")


def test_floating_time_is_the_listings_wall_time():
    data = feed("UID:a\nDTSTART:20270819T224500\nDTEND:20270822T100000")
    assert read(data) == nights("2027-08-19..2027-08-21")
    assert read(data, tz="Asia/Tokyo") == nights("2027-08-19..2027-08-21")


def test_unresolvable_tzid_is_the_listings_wall_time():
    data = feed(
        "UID:a\nDTSTART;TZID=Customized Time Zone:20270819T224500\n"
        "DTEND;TZID=Customized Time Zone:20270822T100000"
    )
    assert read(data) == nights("2027-08-19..2027-08-21")


def test_iana_tzid_beats_an_embedded_vtimezone():
    # The embedded zone says +05:00; the IANA rules (+02:00 in summer) win.
    data = feed(
        "UID:a\nDTSTART;TZID=Europe/Stockholm:20270710T233000\n"
        "DTEND;TZID=Europe/Stockholm:20270712T110000",
        extra=vtimezone("Europe/Stockholm", "+0500"),
    )
    assert read(data) == nights("2027-07-10..2027-07-11")


def test_other_tzid_uses_the_feeds_vtimezone_even_after_the_events():
    event = "UID:a\nDTSTART;TZID=Cabin time:20270710T013000\nDTEND;TZID=Cabin time:20270710T0400"
    data = feed(event + "00").replace(
        b"END:VCALENDAR", vtimezone("Cabin time", "+0500").encode() + b"END:VCALENDAR"
    )
    # 01:30 at +05:00 is 22:30 on the 9th in Stockholm (+02:00).
    assert read(data) == nights("2027-07-09")


def test_windows_zone_name_without_vtimezone_is_mapped():
    data = feed(
        "UID:a\nDTSTART;TZID=FLE Standard Time:20270610T003000\n"
        "DTEND;TZID=FLE Standard Time:20270613T110000"
    )
    assert read(data) == nights("2027-06-09..2027-06-12")


def test_one_feeds_vtimezone_does_not_leak_into_the_next_feed():
    # icalendar caches VTIMEZONEs process-wide by TZID; a feed must not be read with another
    # feed's definition of the same name.
    tzid = "W. Europe Standard Time"
    event = f"UID:a\nDTSTART;TZID={tzid}:20270710T233000\nDTEND;TZID={tzid}:20270711T110000"
    hostile = feed(event, extra=vtimezone(tzid, "-1000"))
    assert read(hostile) == nights("2027-07-11")
    assert read(feed(event)) == nights("2027-07-10")  # mapped to Europe/Berlin
    custom = "UID:b\nDTSTART;TZID=Customized Time Zone:20270819T084500"
    # 08:45 at +12:00 is 22:45 on the 18th in Stockholm; without the VTIMEZONE, wall time.
    assert read(feed(custom, extra=vtimezone("Customized Time Zone", "+1200"))) == nights(
        "2027-08-18"
    )
    assert read(feed(custom, extra=vtimezone("Customized Time Zone", "+0000"))) == nights(
        "2027-08-19"
    )
    assert read(feed(custom)) == nights("2027-08-19")


def test_vendor_prefixed_tzid_is_resolved_without_a_warning():
    data = feed(
        "UID:a\nDTSTART;TZID=/freeassociation.sourceforge.net/Europe/Helsinki:20270610T003000"
    )
    assert read(data) == nights("2027-06-09")


def test_date_start_with_date_time_end():
    data = feed("UID:a\nDTSTART;VALUE=DATE:20270601\nDTEND:20270603T100000Z")
    assert read(data) == nights("2027-06-01..2027-06-02")


# -- status, shared UIDs, broken events --------------------------------------------------------


def test_cancelled_event_blocks_nothing():
    data = feed(
        "UID:a\nSTATUS:CANCELLED\nDTSTART;VALUE=DATE:20270310\nDTEND;VALUE=DATE:20270314",
        "UID:b\nSTATUS:TENTATIVE\nDTSTART;VALUE=DATE:20270320\nDTEND;VALUE=DATE:20270321",
    )
    assert read(data) == nights("2027-03-20")


def test_summary_and_transparency_do_not_matter():
    data = feed(
        "UID:a\nTRANSP:TRANSPARENT\nSUMMARY:Free\nDTSTART;VALUE=DATE:20270310",
        "UID:b\nX-MICROSOFT-CDO-BUSYSTATUS:FREE\nDTSTART;VALUE=DATE:20270311",
    )
    assert read(data) == nights("2027-03-10..2027-03-11")


def test_events_sharing_a_uid_all_block():
    data = feed(
        "UID:guest-1\nDTSTART;VALUE=DATE:20270129\nDURATION:P2D",
        "UID:guest-1\nDTSTART;VALUE=DATE:20270611\nDURATION:P4D",
        "UID:guest-1\nDTSTART;VALUE=DATE:20271126\nDURATION:P1D",
    )
    result = parse_feed(data, since=SINCE, until=UNTIL)
    want = nights("2027-01-29..2027-01-30", "2027-06-11..2027-06-14", "2027-11-26")
    assert result.nights == want
    assert result.blocks == {"guest-1": want}


@pytest.mark.parametrize(
    "event",
    [
        "UID:bad\nDTSTART;VALUE=DATE:20270310\nDTEND;VALUE=DATE:20270308",
        "UID:bad\nDTSTART:20270910T150000Z\nDTEND:20270908T110000Z",
        "UID:bad\nDTSTART:20270910T150000Z\nDTEND:20270910T110000Z",
        "UID:bad\nDTSTART;VALUE=DATE:20270310\nDURATION:-P2D",
    ],
)
def test_end_before_start_blocks_nothing_and_is_reported(event):
    good = "UID:good\nDTSTART;VALUE=DATE:20270401\nDTEND;VALUE=DATE:20270403"
    result = parse_feed(feed(event, good), since=SINCE, until=UNTIL)
    assert result.nights == nights("2027-04-01..2027-04-02")
    assert [(w.kind, w.uid) for w in result.warnings] == [("end_before_start", "bad")]
    assert "bad" not in result.blocks


def test_event_without_start_is_reported_and_skipped():
    result = parse_feed(
        feed("UID:x\nSUMMARY:No start", "UID:y\nDTSTART;VALUE=DATE:20270401"),
        since=SINCE,
        until=UNTIL,
    )
    assert result.nights == nights("2027-04-01")
    assert [w.kind for w in result.warnings] == ["unreadable_event"]
    assert result.warnings[0].message


def test_event_with_unparseable_start_is_reported_and_skipped():
    result = parse_feed(
        feed("UID:x\nDTSTART:next tuesday", "UID:y\nDTSTART;VALUE=DATE:20270401"),
        since=SINCE,
        until=UNTIL,
    )
    assert result.nights == nights("2027-04-01")
    assert [(w.kind, w.uid) for w in result.warnings] == [("unreadable_event", "x")]


def test_unparseable_end_counts_one_night():
    data = feed("UID:x\nDTSTART;VALUE=DATE:20270401\nDTEND:soon")
    assert read(data) == nights("2027-04-01")


@pytest.mark.parametrize(
    "event",
    [
        "UID:x\nDTSTART;VALUE=DATE:99991231",
        "UID:x\nDTSTART;VALUE=DATE:20270401\nDURATION:P999999999D",
        "UID:x\nDTSTART:00010101T000000Z\nDTEND:00010102T000000Z",
        "UID:x\nDTSTART;VALUE=DATE:99991230\nRRULE:FREQ=DAILY",
    ],
)
def test_dates_at_the_edge_of_the_calendar_do_not_break_the_feed(event):
    result = parse_feed(feed(event, "UID:y\nDTSTART;VALUE=DATE:20270401"), since=SINCE, until=UNTIL)
    assert result.nights == nights("2027-04-01")


def test_several_calendars_in_one_document_all_count():
    one = feed("UID:a\nDTSTART;VALUE=DATE:20270401")
    two = feed("UID:b\nDTSTART;VALUE=DATE:20270501")
    assert read(one + two) == nights("2027-04-01", "2027-05-01")


def test_event_without_uid_gets_a_stable_key():
    data = feed("DTSTART;VALUE=DATE:20270401\nDTSTAMP:20270101T000000Z")
    later = feed("DTSTART;VALUE=DATE:20270401\nDTSTAMP:20270202T000000Z")
    first = parse_feed(data, since=SINCE, until=UNTIL).blocks
    assert first == parse_feed(later, since=SINCE, until=UNTIL).blocks
    assert next(iter(first)).startswith("no-uid-")


# -- recurrence --------------------------------------------------------------------------------


def test_rrule_is_expanded_over_the_window_only():
    data = feed("UID:r\nDTSTART;VALUE=DATE:20270430\nDTEND;VALUE=DATE:20270502\nRRULE:FREQ=YEARLY")
    assert read(data) == nights("2027-04-30..2027-05-01", "2028-04-30..2028-05-01")
    assert blocked_nights(data, since=date(2027, 5, 1), until=date(2028, 5, 1)) == nights(
        "2027-05-01", "2028-04-30"
    )


def test_exdate_count_and_override_by_instant():
    master = (
        "UID:s\nDTSTART;TZID=Europe/Stockholm:20270604T160000\n"
        "DTEND;TZID=Europe/Stockholm:20270606T120000\nRRULE:FREQ=WEEKLY;COUNT=4\n"
        "EXDATE;TZID=Europe/Stockholm:20270611T160000"
    )
    # The override names its instance in UTC (14:00Z = 16:00 local) and moves it a day later.
    moved = (
        "UID:s\nRECURRENCE-ID:20270618T140000Z\n"
        "DTSTART;TZID=Europe/Stockholm:20270619T160000\nDTEND;TZID=Europe/Stockholm:20270620T120000"
    )
    assert read(feed(master, moved)) == nights(
        "2027-06-04..2027-06-05", "2027-06-19", "2027-06-25..2027-06-26"
    )


def test_cancelled_override_removes_its_instance():
    master = (
        "UID:s\nDTSTART;VALUE=DATE:20270601\nDTEND;VALUE=DATE:20270602\nRRULE:FREQ=DAILY;COUNT=3"
    )
    cancelled = (
        "UID:s\nRECURRENCE-ID;VALUE=DATE:20270602\nSTATUS:CANCELLED\n"
        "DTSTART;VALUE=DATE:20270602\nDTEND;VALUE=DATE:20270603"
    )
    assert read(feed(master, cancelled)) == nights("2027-06-01", "2027-06-03")


def test_override_ending_before_it_starts_removes_its_instance_and_is_reported():
    master = (
        "UID:s\nDTSTART;VALUE=DATE:20270601\nDTEND;VALUE=DATE:20270602\nRRULE:FREQ=DAILY;COUNT=3"
    )
    broken = (
        "UID:s\nRECURRENCE-ID;VALUE=DATE:20270602\n"
        "DTSTART;VALUE=DATE:20270610\nDTEND;VALUE=DATE:20270608"
    )
    result = parse_feed(feed(master, broken), since=SINCE, until=UNTIL)
    assert result.nights == nights("2027-06-01", "2027-06-03")
    assert [w.kind for w in result.warnings] == ["end_before_start"]


def test_rdate_and_plain_event_sharing_the_uid_of_a_series():
    master = (
        "UID:s\nDTSTART;VALUE=DATE:20270601\nDTEND;VALUE=DATE:20270602\n"
        "RDATE;VALUE=DATE:20270701,20270801"
    )
    assert read(feed(master)) == nights("2027-06-01", "2027-07-01", "2027-08-01")


def test_series_ending_before_it_starts_is_reported():
    data = feed("UID:s\nDTSTART;VALUE=DATE:20270605\nDTEND;VALUE=DATE:20270601\nRRULE:FREQ=WEEKLY")
    result = parse_feed(data, since=SINCE, until=UNTIL)
    assert result.nights == set()
    assert [w.kind for w in result.warnings] == ["end_before_start"]


def test_absurdly_frequent_rule_is_bounded():
    data = feed("UID:s\nDTSTART:20270601T100000Z\nDTEND:20270601T100001Z\nRRULE:FREQ=MINUTELY")
    result = parse_feed(data, since=SINCE, until=UNTIL)
    assert result.nights == nights("2027-06-01")
    assert [w.kind for w in result.warnings] == ["too_frequent"]


def test_hourly_rule_is_capped(monkeypatch):
    monkeypatch.setattr("rentalcoop.calendar.ical.MAX_OCCURRENCES_PER_EVENT", 30)
    data = feed("UID:s\nDTSTART:20270601T000000Z\nDURATION:PT1H\nRRULE:FREQ=HOURLY")
    result = parse_feed(data, since=SINCE, until=UNTIL)
    assert result.nights == nights("2027-06-01..2027-06-02")
    assert [w.kind for w in result.warnings] == ["too_many_repeats"]


def test_window_clips_long_events():
    data = feed("UID:a\nDTSTART;VALUE=DATE:19000101\nDTEND;VALUE=DATE:99990101")
    assert blocked_nights(data, since=date(2027, 1, 1), until=date(2027, 1, 4)) == nights(
        "2027-01-01..2027-01-03"
    )


# -- not iCalendar -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    "data",
    [
        b"",
        b"   ",
        b"Not Found",
        b"<!DOCTYPE html><html><body>Sign in</body></html>",
        b'{"error": "gone"}',
        b"BEGIN:VEVENT\r\nUID:a\r\nEND:VEVENT\r\n",
        b"BEGIN:VCALENDAR\r\n<html>\r\n",
        feed("UID:a\nDTSTART;VALUE=DATE:20270401").replace(b"END:VCALENDAR\r\n", b""),
    ],
    ids=["empty", "blank", "404", "html", "json", "bare-event", "garbage", "truncated"],
)
def test_input_that_is_not_icalendar_raises_feed_error(data):
    with pytest.raises(FeedError) as caught:
        blocked_nights(data, since=SINCE, until=UNTIL)
    assert isinstance(caught.value, DomainError)
    assert caught.value.status_code == 422
    assert "calendar" in caught.value.message


def test_empty_calendar_is_valid():
    assert read(b"BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:x\r\nEND:VCALENDAR\r\n") == set()


def test_lf_endings_bom_and_latin1_bytes_are_tolerated():
    data = feed("UID:a\nSUMMARY:R\xe9serv\xe9e\nDTSTART;VALUE=DATE:20270401").decode()
    raw = b"\xef\xbb\xbf" + data.replace("\r\n", "\n").encode("latin-1")
    assert read(raw) == nights("2027-04-01")


def test_feed_error_message_is_translated(app):
    with app.test_request_context("/?lang=sv"):
        message = FeedError().message
    assert message
    assert "%(" not in message


# -- export ------------------------------------------------------------------------------------

STAMP = datetime(2027, 1, 2, 3, 4, 5, tzinfo=UTC)


def sample_ranges():
    return [
        ExportRange("booking", 12, date(2027, 3, 10), date(2027, 3, 14), STAMP),
        ExportRange("block", 7, date(2027, 3, 14), date(2027, 3, 15), STAMP),
        ExportRange("booking", 13, date(2027, 12, 30), date(2028, 1, 3), STAMP),
    ]


def export(ranges=None, prodid="-//rentalcoop//calendar//EN"):
    return export_calendar(
        sample_ranges() if ranges is None else ranges, host="rentalcoop.example", prodid=prodid
    )


def test_export_round_trips_through_our_importer():
    result = parse_feed(export(), since=SINCE, until=UNTIL)
    assert result.nights == nights("2027-03-10..2027-03-13", "2027-03-14", "2027-12-30..2028-01-02")
    assert set(result.blocks) == {
        "booking-12@rentalcoop.example",
        "block-7@rentalcoop.example",
        "booking-13@rentalcoop.example",
    }
    assert result.warnings == []


def test_export_passes_vobject_validation():
    calendar = vobject.readOne(export().decode("utf-8"), validate=True)
    events = calendar.vevent_list
    assert len(events) == 3
    assert {e.summary.value for e in events} == {"Reserved", "Not available"}
    assert events[0].dtstart.value == date(2027, 3, 10)
    assert events[0].dtend.value == date(2027, 3, 14)
    assert events[0].dtstamp.value == STAMP


def test_export_is_stable_and_uses_the_ranges_change_time():
    assert export() == export(list(reversed(sample_ranges())))
    text = export().decode()
    assert "UID:booking-12@rentalcoop.example\r\n" in text
    assert "DTSTAMP:20270102T030405Z\r\n" in text
    assert "DTSTART;VALUE=DATE:20270310\r\nDTEND;VALUE=DATE:20270314\r\n" in text
    assert "METHOD" not in text


def check_bytes(data: bytes) -> None:
    assert data.endswith(b"\r\n")
    assert b"\n" not in data.replace(b"\r\n", b"")
    assert b"\r" not in data.replace(b"\r\n", b"")
    for line in data.split(b"\r\n")[:-1]:
        assert len(line) <= 75
        line.decode("utf-8")  # a fold never splits a UTF-8 character


def test_export_bytes_crlf_folded_and_utf8_safe():
    prodid = "-//Rentalcoop//Ångsbo stugor – kalender för värdar, med ett mycket långt namn//SV"
    data = export(prodid=prodid)
    check_bytes(data)
    assert b"\r\n " in data  # the long PRODID was folded
    calendar = vobject.readOne(data.decode("utf-8"), validate=True)
    assert calendar.prodid.value == prodid


@pytest.mark.parametrize("text", ["å" * 200, "a" + "€" * 100, "x" * 74 + "é" * 3, "😀" * 40])
def test_fold_never_splits_a_character(text):
    data = _fold("DESCRIPTION:" + text)
    check_bytes(data)
    unfolded = data[:-2].replace(b"\r\n ", b"").decode("utf-8")
    assert unfolded == "DESCRIPTION:" + text


def test_export_holds_no_personal_data():
    # Whatever the booking holds, the only words in the feed are the fixed summaries.
    text = export().decode()
    summaries = {line for line in text.split("\r\n") if line.startswith("SUMMARY:")}
    assert summaries == {f"SUMMARY:{s}" for s in EXPORT_SUMMARIES.values()}
    for bad in ("Anna Svensson", "anna@example.org", "+46701234567", "HMABC123"):
        with pytest.raises(ValueError, match="ref"):
            export([ExportRange("booking", bad, date(2027, 1, 1), date(2027, 1, 2), STAMP)])
    with pytest.raises(ValueError, match="kind"):
        export([ExportRange("Anna", 1, date(2027, 1, 1), date(2027, 1, 2), STAMP)])
    with pytest.raises(ValueError, match="host"):
        export_calendar([], host="evil example", prodid="x")


def test_empty_export_is_a_calendar_without_components():
    data = export([])
    check_bytes(data)
    assert read(data) == set()
    assert b"BEGIN:VEVENT" not in data


def test_export_refuses_empty_ranges():
    with pytest.raises(ValueError, match="night"):
        export([ExportRange("block", 1, date(2027, 1, 2), date(2027, 1, 2), STAMP)])


def test_merge_nights_to_ranges():
    assert merge_nights_to_ranges([]) == []
    assert merge_nights_to_ranges(
        nights("2027-12-30..2028-01-02", "2028-01-04") | {date(2027, 12, 31)}
    ) == [(date(2027, 12, 30), date(2028, 1, 3)), (date(2028, 1, 4), date(2028, 1, 5))]


night_sets = st.sets(
    st.dates(min_value=date(2027, 1, 1), max_value=date(2028, 12, 31)), max_size=60
)


@given(night_sets)
@settings(max_examples=60, deadline=None)
def test_property_export_then_import_gives_the_same_nights(chosen):
    ranges = [
        ExportRange("block", i, start, end, STAMP)
        for i, (start, end) in enumerate(merge_nights_to_ranges(chosen))
    ]
    data = export(ranges)
    check_bytes(data)
    assert read(data) == chosen


@given(night_sets)
def test_property_merged_ranges_cover_exactly_and_never_touch(chosen):
    ranges = merge_nights_to_ranges(chosen)
    covered = set()
    for start, end in ranges:
        assert start < end
        covered |= {start + timedelta(days=i) for i in range((end - start).days)}
    assert covered == chosen
    assert all(a[1] < b[0] for a, b in zip(ranges, ranges[1:], strict=False))
