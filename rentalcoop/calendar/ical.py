"""Turn an iCalendar feed into blocked nights, and write a listing's own feed (DESIGN §8).

A *night* D is the stay from date D to D+1 in the listing's time zone. Parsing uses icalendar.
Events are read per UID: plain events sharing a UID are separate events (npm `ics` and Google
busy exports write them) unless their SEQUENCE/DTSTAMP show they are revisions of one event
(RFC 5545: the highest SEQUENCE, then the latest DTSTAMP, is the event). A UID with a series
(RRULE/RDATE) hands its master and overrides to recurring-ical-events' `Series`, which handles
RANGE=THISANDFUTURE, RDATE periods and edited instances that carry a rule; we only make its
expansion lazy and bounded to the window (`_LazyRules`) and count the occurrences, so work per
feed has a cap. One event's problem (a broken property, a rule no one can read) is reported
with its UID and never costs the feed its other events.

Time zones are resolved here, per feed, instead of trusting the tzinfo icalendar attaches:
icalendar caches every VTIMEZONE it meets in one process-wide table keyed by TZID, so a feed's
`Customized Time Zone` (or a bogus `W. Europe Standard Time`) would otherwise shift the times of
every feed parsed after it in the same worker.
"""

from __future__ import annotations

import functools
import hashlib
import logging
import re
import warnings
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta, tzinfo
from zoneinfo import ZoneInfo, available_timezones

import icalendar
from dateutil.rrule import rrule
from icalendar.error import GloballyUniqueTZIDGuessed
from icalendar.prop import vBroken, vDDDLists, vDDDTypes, vRecur
from icalendar.timezone import tzp
from icalendar.timezone.windows_to_olson import WINDOWS_TO_OLSON
from recurring_ical_events.adapters.event import EventAdapter
from recurring_ical_events.series import Series
from recurring_ical_events.util import compare_greater, convert_to_datetime

from rentalcoop.errors import DomainError
from rentalcoop.i18n import _l

log = logging.getLogger("rentalcoop.calendar.ical")

# Work per feed is bounded by counting occurrences inside the window (issue 13). A rental
# calendar needs a few hundred: a daily series over the two-year horizon is 731, a busy host's
# feed a few hundred stays. A rule such as FREQ=HOURLY would otherwise cost minutes of CPU for
# a feed of a few hundred bytes. The CPU budget of the parser process (sync.py) is the last
# line of defence, for work these counts cannot see.
MAX_OCCURRENCES_PER_EVENT = 2000
MAX_OCCURRENCES_PER_FEED = 5000
_TOO_FREQUENT = {"SECONDLY", "MINUTELY"}
_FREQUENCIES = {"SECONDLY", "MINUTELY", "HOURLY", "DAILY", "WEEKLY", "MONTHLY", "YEARLY"}
_ONE_DAY = timedelta(days=1)


class FeedError(DomainError):
    """The fetched document is not an iCalendar feed, so nothing in it can be trusted."""

    status_code = 422

    def __init__(self, message=None, **params):
        super().__init__(
            message
            or _l(
                "This link did not return a calendar. Check that you copied the whole export "
                "link and that the calendar is still shared."
            ),
            **params,
        )


_WARNING_TEXTS = {
    "end_before_start": _l(
        "An event starting %(start)s ends before it starts (%(end)s), so it blocks no nights. "
        "Please correct it in the other calendar."
    ),
    "unreadable_event": _l(
        "One event in the calendar has no readable start date, so it blocks no nights."
    ),
    "unreadable_series": _l(
        "A repeating event starting %(start)s could not be expanded, so only its first "
        "occurrence blocks nights."
    ),
    "too_frequent": _l(
        "A repeating event starting %(start)s repeats every minute or second; only its first "
        "occurrence blocks nights."
    ),
    "too_many_repeats": _l(
        "A repeating event starting %(start)s repeats too often; only its first %(count)s "
        "occurrences block nights."
    ),
    "too_many_events": _l(
        "The calendar has more than %(count)s events in the next two years; only the first "
        "%(count)s block nights."
    ),
}


@dataclass(frozen=True)
class FeedWarning:
    """Something in an otherwise usable feed that the host should know about."""

    kind: str
    uid: str
    params: tuple[tuple[str, str], ...] = ()

    @property
    def message(self) -> str:
        return str(_WARNING_TEXTS[self.kind]) % dict(self.params)


@dataclass
class ParsedFeed:
    """What a feed blocks inside the window: the nights per UID, and warnings."""

    blocks: dict[str, set[date]] = field(default_factory=dict)
    warnings: list[FeedWarning] = field(default_factory=list)
    # The work done: events and expanded occurrences inside the window (bounded, see above).
    occurrences: int = 0

    @property
    def nights(self) -> set[date]:
        """Every night the feed blocks."""
        return set().union(*self.blocks.values())

    def _add(self, uid: str, nights: set[date]) -> None:
        if nights:
            self.blocks.setdefault(uid, set()).update(nights)


class _Unreadable(Exception):
    pass


def blocked_nights(
    data: bytes, tz: str = "Europe/Stockholm", *, since: date, until: date
) -> set[date]:
    """The nights D with since ≤ D < until that the feed blocks (CONTRACT.md)."""
    return parse_feed(data, tz, since=since, until=until).nights


def parse_feed(
    data: bytes, tz: str = "Europe/Stockholm", *, since: date, until: date
) -> ParsedFeed:
    """Read a feed into blocked nights per UID, or raise FeedError when it is not iCalendar."""
    calendars = _parse_calendars(data)
    reader = _FeedReader(calendars, ZoneInfo(tz), since, until)
    return reader.read()


# -- parsing ---------------------------------------------------------------------------------

_ICAL_START = re.compile(rb"\A(?:\xef\xbb\xbf)?\s*BEGIN:VCALENDAR\s", re.IGNORECASE)


def _parse_calendars(data: bytes) -> list[icalendar.Calendar]:
    if not isinstance(data, bytes | bytearray):
        raise TypeError("feed data is bytes")
    # An expired link typically answers 200 with an HTML sign-in page; refuse anything that
    # does not open like a calendar before handing it to the parser.
    if not _ICAL_START.match(data):
        raise FeedError()
    text = bytes(data).decode("utf-8", errors="replace").lstrip("\ufeff")
    try:
        with warnings.catch_warnings():
            # icalendar warns when it guesses a vendor-prefixed TZID; _Zones resolves TZIDs
            # itself. (catch_warnings is process-wide; at worst a concurrent parse also skips
            # this one warning.)
            warnings.simplefilter("ignore", GloballyUniqueTZIDGuessed)
            calendars = icalendar.Calendar.from_ical(text, multiple=True)
    except Exception as err:  # any parser failure means the document is not a usable feed
        raise FeedError() from err
    calendars = [c for c in calendars if c.name == "VCALENDAR"]
    if not calendars:
        raise FeedError()
    return calendars


@functools.cache
def _iana_names() -> frozenset[str]:
    return frozenset(available_timezones())


class _Zones:
    """TZID resolution for one feed: IANA rules first, then the feed's own VTIMEZONE, then the
    Windows-name mapping; anything else is the listing's wall time (DESIGN §8)."""

    def __init__(self, calendars: list[icalendar.Calendar]):
        self._components = {}
        for cal in calendars:
            for comp in cal.walk("VTIMEZONE"):
                if "TZID" in comp:
                    self._components.setdefault(str(comp["TZID"]).strip(), comp)
        self._cache: dict[str, tzinfo | None] = {}

    def get(self, tzid: str) -> tzinfo | None:
        tzid = str(tzid).strip()
        if tzid not in self._cache:
            self._cache[tzid] = self._lookup(tzid)
        return self._cache[tzid]

    def _lookup(self, tzid: str) -> tzinfo | None:
        iana = _iana_names()
        clean = tzid.strip("/")
        if clean in iana:
            return ZoneInfo(clean)
        component = self._components.get(tzid) or self._components.get(clean)
        if component is not None:
            try:
                return _zone_from_definition(component.to_ical())
            except Exception:  # noqa: S110 - a broken VTIMEZONE falls through to the mapping
                pass
        if WINDOWS_TO_OLSON.get(clean) in iana:
            return ZoneInfo(WINDOWS_TO_OLSON[clean])
        if tzid.startswith("/"):  # RFC 5545 §3.2.19 globally unique ids: /vendor/Area/City
            parts = clean.split("/")
            for i in range(1, len(parts)):
                if "/".join(parts[i:]) in iana:
                    return ZoneInfo("/".join(parts[i:]))
        return None


@functools.lru_cache(maxsize=256)
def _zone_from_definition(definition: bytes) -> tzinfo:
    """A zone built from a VTIMEZONE's own text. Cached by content, never by name, so feeds
    share only identical definitions (and Outlook's rules from 1601 are expanded once)."""
    return tzp.create_timezone(icalendar.Timezone.from_ical(definition))


def _is_cancelled(component) -> bool:
    return str(component.get("STATUS", "")).strip().upper() == "CANCELLED"


def _uid(event) -> str:
    uid = str(event.get("UID", "")).strip()
    if uid:
        return uid
    # No UID (RFC 5545 requires one): derive a key from what defines the event, so the same
    # event gets the same key on the next fetch.
    digest = hashlib.sha256()
    for name in ("DTSTART", "DTEND", "DURATION", "RRULE", "SUMMARY"):
        prop = event.get(name)
        if prop is not None and hasattr(prop, "to_ical"):
            digest.update(name.encode() + b":" + prop.to_ical() + b"\n")
    return "no-uid-" + digest.hexdigest()[:20]


class _LazyRules(Series.RecurrenceRules):
    """The library's rule expansion, generating instances one at a time.

    recurring-ical-events asks dateutil for `rule.between(...)`, which builds the whole list of
    instances in the span before returning: a rule listing every hour, minute and second of a
    day is 86,400 instances a day, so the occurrence caps below could never stop it. Iterating
    `xafter` instead lets the caller stop after a bounded number, and an open-ended rule is cut
    at the end of the span so that dateutil does not search on towards the year 9999."""

    def rrule_between(self, span_start, span_stop):
        start = convert_to_datetime(span_start, self.tzinfo)
        stop = convert_to_datetime(span_stop, self.tzinfo)
        for rule in self.rrules:
            if isinstance(rule, rrule) and rule._until is None and rule._count is None:
                bounded = rule.replace(until=stop)
                bounded.until = rule.until
                rule = bounded
            for instance in rule.xafter(start, inc=True):
                if compare_greater(instance, stop):
                    break
                if rule.until is None or not compare_greater(instance, rule.until):
                    yield instance


class _Series(Series):
    RecurrenceRules = _LazyRules


class _FeedFull(Exception):
    pass


class _FeedReader:
    def __init__(self, calendars, listing_tz: ZoneInfo, since: date, until: date):
        self.calendars = calendars
        self.listing_tz = listing_tz
        self.since = since
        self.until = until
        self.zones = _Zones(calendars)
        self.result = ParsedFeed()

    # values

    def value(self, prop) -> date | datetime:
        """A DATE, or an aware DATE-TIME with its TZID resolved for this feed."""
        try:
            dt = prop.dt
        except Exception as err:  # vBroken: icalendar 7 keeps unparseable values as errors
            raise _Unreadable from err
        tzid = prop.params.get("TZID") if hasattr(prop, "params") else None
        return self.zoned(dt, tzid)

    def zoned(self, dt, tzid: str | None = None):
        if isinstance(dt, datetime):
            if tzid:
                zone = self.zones.get(tzid) or self.listing_tz
                return dt.replace(tzinfo=zone)
            if dt.tzinfo is None:  # floating: the listing's wall time
                return dt.replace(tzinfo=self.listing_tz)
            return dt
        if isinstance(dt, date):
            return dt
        raise _Unreadable

    def local_date(self, value: date | datetime) -> date:
        if isinstance(value, datetime):
            return value.astimezone(self.listing_tz).date()
        return value

    def start_end(self, event) -> tuple[date | datetime, date | datetime]:
        """The start, and the end from DTEND, DURATION or nothing (then the start)."""
        if event.get("DTSTART") is None:
            raise _Unreadable
        start = self.value(event["DTSTART"])
        end = start
        if event.get("DTEND") is not None:
            try:
                end = self.value(event["DTEND"])
            except _Unreadable:
                end = start
        elif event.get("DURATION") is not None:
            try:
                duration = event["DURATION"].dt
            except Exception:  # an unreadable DURATION counts as none
                duration = None
            if isinstance(duration, timedelta):
                end = _add_duration(start, duration)
        return start, end

    def span(self, start, end) -> tuple[date, date] | None:
        """First night and the day after the last one; None when the end is before the start."""
        start_day, end_day = self.local_date(start), self.local_date(end)
        if isinstance(start, datetime) and isinstance(end, datetime):
            if end < start:
                return None
        elif end_day < start_day:
            return None
        # Same date (a same-day DTEND, no end at all, a daytime event) = that one night.
        return start_day, max(end_day, start_day + _ONE_DAY)

    def nights(self, first: date, end: date) -> set[date]:
        first, end = max(first, self.since), min(end, self.until)
        return {first + timedelta(days=i) for i in range((end - first).days)}

    def warn(self, kind: str, uid: str, **params) -> None:
        self.result.warnings.append(
            FeedWarning(kind, uid, tuple(sorted((k, str(v)) for k, v in params.items())))
        )

    def count(self, uid: str) -> None:
        """One more occurrence expanded; stop reading the feed past its cap."""
        self.result.occurrences += 1
        if self.result.occurrences > MAX_OCCURRENCES_PER_FEED:
            self.warn("too_many_events", uid, count=MAX_OCCURRENCES_PER_FEED)
            raise _FeedFull

    # events

    def read(self) -> ParsedFeed:
        groups: dict[str, list] = {}
        for cal in self.calendars:
            for event in cal.walk("VEVENT"):
                groups.setdefault(_uid(event), []).append(event)
        try:
            for uid, group in groups.items():
                try:
                    self.read_group(uid, group)
                except _FeedFull:
                    raise
                except Exception:  # an event's problem is never the feed's (issue 13)
                    log.info("calendar event %r could not be read", uid, exc_info=True)
                    self.warn("unreadable_event", uid)
        except _FeedFull:
            pass
        return self.result

    def read_group(self, uid: str, group: list) -> None:
        """All the components sharing one UID: revisions, a series and its overrides, or (as
        npm `ics` and Google busy exports write) separate events that happen to share it."""
        cores = [ev for ev in group if "RECURRENCE-ID" not in ev]
        overrides = [ev for ev in group if "RECURRENCE-ID" in ev]
        if len(cores) > 1 and len({_revision(ev) for ev in cores}) > 1:
            # RFC 5545 §3.8.7.4: several revisions of one event; the highest SEQUENCE, then
            # the latest DTSTAMP, is the event.
            cores = [max(cores, key=_revision)]
        repeating = [ev for ev in cores if "RRULE" in ev or "RDATE" in ev]
        if not repeating and not (cores and overrides):
            for event in cores + overrides:  # plain events, or overrides without their series
                self.read_single(event, uid)
            return
        master = repeating[0] if repeating else cores[0]
        for event in cores:
            if event is not master:
                self.read_single(event, uid)
        self.read_series(master, overrides, uid)

    def read_single(self, event, uid: str) -> None:
        if _is_cancelled(event):
            return
        try:
            start, end = self.start_end(event)
            span = self.span(start, end)
        except (_Unreadable, OverflowError, ValueError):  # also dates beyond year 9999
            self.warn("unreadable_event", uid)
            return
        if span is None:
            self.warn("end_before_start", uid, start=_show(start), end=_show(end))
            return
        if span[1] > self.since and span[0] < self.until:
            self.count(uid)
        self.result._add(uid, self.nights(*span))

    def read_series(self, master, overrides: list, uid: str) -> None:
        if _is_cancelled(master) and not overrides:
            return
        try:
            start, end = self.start_end(master)
            span = self.span(start, end)
        except (_Unreadable, OverflowError, ValueError):
            self.warn("unreadable_event", uid)
            return
        if span is None:
            self.warn("end_before_start", uid, start=_show(start), end=_show(end))
            return
        try:
            rules = self.rules(master)
        except _Unreadable:
            self.warn("unreadable_series", uid, start=_show(start))
            self.read_single(master, uid)
            return
        if any(str(r.get("FREQ", [""])[0]).upper() in _TOO_FREQUENT for r in rules):
            self.warn("too_frequent", uid, start=_show(start))
            self.read_single(master, uid)
            return
        nights: set[date] = set()
        try:
            components = [self.normalised(master, rules)]
            components += [self.normalised_override(o, uid) for o in overrides]
            series = _Series([EventAdapter(c) for c in components])
            # A day either side: the library compares the span with each series in its own
            # zone; the nights are clipped to the window below.
            span_start = datetime.combine(self.since - _ONE_DAY, time.min)
            span_stop = datetime.combine(self.until + _ONE_DAY, time.min)
            for n, occurrence in enumerate(series.between(span_start, span_stop)):
                if n >= MAX_OCCURRENCES_PER_EVENT:
                    self.warn(
                        "too_many_repeats", uid, start=_show(start), count=MAX_OCCURRENCES_PER_EVENT
                    )
                    break
                self.count(uid)
                if _is_cancelled(occurrence._adapter._component):
                    continue
                inst = self.span(self.aware(occurrence.start), self.aware(occurrence.end))
                if inst is not None:
                    nights |= self.nights(*inst)
        except (_FeedFull, _Unreadable):
            self.result._add(uid, nights)
            raise
        except Exception:  # a malformed rule: keep what is certain, say so
            log.info("calendar series %r could not be expanded", uid, exc_info=True)
            self.warn("unreadable_series", uid, start=_show(start))
            self.read_single(master, uid)
            return
        self.result._add(uid, nights)

    def rules(self, master) -> list[vRecur]:
        """The master's RRULEs; an Exchange rule with spaces in its lists (`BYDAY=MO, TU`) is
        read without them, anything else unreadable raises _Unreadable."""
        rules = master.get("RRULE")
        rules = rules if isinstance(rules, list) else [rules] if rules is not None else []
        result = []
        for rule in rules:
            if isinstance(rule, vBroken):
                try:
                    rule = vRecur.from_ical(re.sub(r"\s+", "", str(rule)))
                except Exception as err:
                    raise _Unreadable from err
            if not isinstance(rule, vRecur):
                raise _Unreadable
            freq = rule.get("FREQ") or [""]
            if str(freq[0]).upper() not in _FREQUENCIES:
                raise _Unreadable  # FREQ=FORTNIGHTLY and the like
            result.append(rule)
        return result

    def aware(self, value):
        if isinstance(value, datetime) and value.tzinfo is None:
            return value.replace(tzinfo=self.listing_tz)
        return value

    def normalised(self, component, rules: list | None = None):
        """A copy whose date-times carry this feed's resolved zones, for the expander. Keeps
        what the expander reads from the parameters (RECURRENCE-ID;RANGE=THISANDFUTURE) and
        the ends of RDATE periods."""
        result = component.copy()  # the properties; subcomponents (alarms) are not needed
        for name in ("DTSTART", "DTEND", "RECURRENCE-ID", "EXDATE", "RDATE"):
            result.pop(name, None)
        if rules is not None:
            result.pop("RRULE", None)
            for rule in rules:
                result.add("RRULE", rule, encode=False)
        for name in ("DTSTART", "DTEND", "RECURRENCE-ID"):
            if component.get(name) is not None:
                value = self.value(component[name])
                prop = vDDDTypes(value)
                if name == "RECURRENCE-ID" and "RANGE" in component[name].params:
                    prop.params["RANGE"] = str(component[name].params["RANGE"]).upper()
                result.add(name, prop, encode=False)
        for name in ("EXDATE", "RDATE"):
            if name not in component:
                continue
            props = component[name] if isinstance(component[name], list) else [component[name]]
            values = []
            for prop in props:
                tzid = prop.params.get("TZID") if hasattr(prop, "params") else None
                for item in getattr(prop, "dts", []):
                    dt = item.dt
                    if isinstance(dt, tuple):  # an RDATE period: every night of it counts
                        first, second = dt
                        first = self.zoned(first, tzid)
                        if isinstance(second, datetime):
                            second = self.zoned(second, tzid)
                        values.append((first, second))
                    else:
                        values.append(self.zoned(dt, tzid))
            if values:
                result.add(name, vDDDLists(values), encode=False)
        return result

    def normalised_override(self, override, uid: str):
        result = self.normalised(override, self.rules(override) if "RRULE" in override else None)
        try:
            start, end = self.start_end(override)
            span = self.span(start, end)
        except (_Unreadable, OverflowError, ValueError):
            return result
        if span is None:
            # The override replaces its instance, and blocks nothing itself.
            self.warn("end_before_start", uid, start=_show(start), end=_show(end))
            result.pop("STATUS", None)
            result.add("STATUS", "CANCELLED")
        return result


def _revision(event) -> tuple[int, datetime]:
    try:
        sequence = int(event.get("SEQUENCE", 0))
    except (TypeError, ValueError):
        sequence = 0
    try:
        stamp = event["DTSTAMP"].dt
        stamp = stamp if isinstance(stamp, datetime) else datetime.combine(stamp, time.min)
        stamp = stamp.replace(tzinfo=UTC) if stamp.tzinfo is None else stamp.astimezone(UTC)
    except Exception:  # no or an unreadable DTSTAMP: the oldest
        stamp = datetime.min.replace(tzinfo=UTC)
    return sequence, stamp


def _add_duration(start, duration: timedelta):
    if not isinstance(start, datetime):
        return start + timedelta(days=duration.days)
    # RFC 5545 §3.3.6: days are nominal (wall-clock), hours and smaller are exact.
    nominal = start + timedelta(days=duration.days)
    exact = duration - timedelta(days=duration.days)
    return (nominal.astimezone(UTC) + exact).astimezone(nominal.tzinfo)


def _show(value) -> str:
    if isinstance(value, datetime):
        return value.strftime("%Y-%m-%d %H:%M")
    return value.isoformat()


# -- export ----------------------------------------------------------------------------------

# Fixed English words: other platforms show them to the host, and the bytes of the feed must
# not depend on who asked for it (the ETag is derived from them). Never personal data.
EXPORT_SUMMARIES = {"booking": "Reserved", "block": "Not available"}
# Our own numeric ids only (optionally "<id>-<part>"), never a booking code or a name.
_REF = re.compile(r"\A[0-9]{1,20}(?:-[0-9]{1,6})?\Z")
_HOST = re.compile(r"\A[A-Za-z0-9.-]{1,253}(?::[0-9]{1,5})?\Z")


@dataclass(frozen=True)
class ExportRange:
    """One unavailable range of our own: a booking or a host's block, nights start ≤ D < end."""

    kind: str  # "booking" or "block"
    ref: int | str  # our booking or block id ("<id>" or "<id>-<part>"); UID "<kind>-<ref>@<host>"
    start: date
    end: date  # exclusive: the checkout day
    changed_at: datetime  # the range's last change, written as DTSTAMP and LAST-MODIFIED
    sequence: int = 0  # its revision (RFC 5545 §3.8.7.4): consumers update what they have


def merge_nights_to_ranges(nights: Iterable[date]) -> list[tuple[date, date]]:
    """Consecutive nights as (first night, day after the last night) ranges, in order."""
    ranges: list[tuple[date, date]] = []
    for night in sorted(set(nights)):
        if ranges and ranges[-1][1] == night:
            ranges[-1] = (ranges[-1][0], night + _ONE_DAY)
        else:
            ranges.append((night, night + _ONE_DAY))
    return ranges


def export_calendar(ranges: Iterable[ExportRange], *, host: str, prodid: str) -> bytes:
    """A listing's feed: one all-day VEVENT per range, byte-stable between changes (DESIGN §8)."""
    if not _HOST.match(host):
        raise ValueError("host must be a bare host name")
    lines = [
        "BEGIN:VCALENDAR",
        "VERSION:2.0",
        "PRODID:" + _escape_text(prodid),
        "CALSCALE:GREGORIAN",
    ]
    for item in sorted(ranges, key=lambda r: (r.start, r.end, r.kind, str(r.ref))):
        if item.kind not in EXPORT_SUMMARIES:
            raise ValueError(f"unknown range kind {item.kind!r}")
        if not _REF.match(str(item.ref)):
            raise ValueError("range ref must be our numeric id")
        if item.end <= item.start:
            raise ValueError("a range needs at least one night")
        changed = item.changed_at
        changed = changed.replace(tzinfo=UTC) if changed.tzinfo is None else changed
        stamp = changed.astimezone(UTC).strftime("%Y%m%dT%H%M%SZ")
        lines += [
            "BEGIN:VEVENT",
            f"UID:{item.kind}-{item.ref}@{host}",
            "DTSTAMP:" + stamp,
            "LAST-MODIFIED:" + stamp,
            f"SEQUENCE:{max(0, int(item.sequence))}",
            "DTSTART;VALUE=DATE:" + item.start.strftime("%Y%m%d"),
            "DTEND;VALUE=DATE:" + item.end.strftime("%Y%m%d"),
            "SUMMARY:" + EXPORT_SUMMARIES[item.kind],
            "TRANSP:OPAQUE",
            "END:VEVENT",
        ]
    lines.append("END:VCALENDAR")
    return b"".join(_fold(line) for line in lines)


def _escape_text(value: str) -> str:
    # RFC 5545 §3.3.11
    return (
        value.replace("\\", "\\\\")
        .replace(";", "\\;")
        .replace(",", "\\,")
        .replace("\r\n", "\\n")
        .replace("\n", "\\n")
        .replace("\r", "\\n")
    )


def _fold(line: str, limit: int = 75) -> bytes:
    """One content line, CRLF-terminated and folded at `limit` octets, never inside a UTF-8
    character (RFC 5545 §3.1)."""
    out = bytearray()
    width = 0
    for char in line:
        encoded = char.encode("utf-8")
        if width + len(encoded) > limit:
            out += b"\r\n "
            width = 1
        out += encoded
        width += len(encoded)
    out += b"\r\n"
    return bytes(out)


__all__ = [
    "EXPORT_SUMMARIES",
    "ExportRange",
    "FeedError",
    "FeedWarning",
    "ParsedFeed",
    "blocked_nights",
    "export_calendar",
    "merge_nights_to_ranges",
    "parse_feed",
]
