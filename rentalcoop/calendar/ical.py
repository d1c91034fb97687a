"""Turn an iCalendar feed into blocked nights, and write a listing's own feed (DESIGN §8).

A *night* D is the stay from date D to D+1 in the listing's time zone. Parsing uses icalendar;
recurring-ical-events expands only the series that repeat (RRULE/RDATE), because it keeps just
one of several plain events that share a UID, which real feeds (npm `ics`, Google busy exports)
write.

Time zones are resolved here, per feed, instead of trusting the tzinfo icalendar attaches:
icalendar caches every VTIMEZONE it meets in one process-wide table keyed by TZID, so a feed's
`Customized Time Zone` (or a bogus `W. Europe Standard Time`) would otherwise shift the times of
every feed parsed after it in the same worker.
"""

from __future__ import annotations

import copy
import functools
import hashlib
import re
import warnings
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta, tzinfo
from zoneinfo import ZoneInfo, available_timezones

import icalendar
import recurring_ical_events
from icalendar.error import GloballyUniqueTZIDGuessed
from icalendar.timezone import tzp
from icalendar.timezone.windows_to_olson import WINDOWS_TO_OLSON

from rentalcoop.errors import DomainError
from rentalcoop.i18n import _l

# A single series may not produce more instances than this inside the horizon: a rule such as
# FREQ=MINUTELY would otherwise cost minutes of CPU for a feed of a few hundred bytes.
MAX_INSTANCES_PER_SERIES = 5000
_TOO_FREQUENT = {"SECONDLY", "MINUTELY"}
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
        if isinstance(dt, datetime):
            tzid = prop.params.get("TZID") if hasattr(prop, "params") else None
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

    # events

    def read(self) -> ParsedFeed:
        events = [ev for cal in self.calendars for ev in cal.walk("VEVENT")]
        masters = [ev for ev in events if "RRULE" in ev or "RDATE" in ev]
        master_ids = {id(ev) for ev in masters}
        master_uids = {_uid(ev) for ev in masters}
        overrides: dict[str, list] = {}
        for ev in events:
            if id(ev) in master_ids:
                continue
            uid = _uid(ev)
            if "RECURRENCE-ID" in ev and uid in master_uids:
                overrides.setdefault(uid, []).append(ev)
            else:
                # Events that share a UID without a RECURRENCE-ID are separate events.
                self.read_single(ev, uid)
        for master in masters:
            uid = _uid(master)
            self.read_series(master, overrides.get(uid, []), uid)
        return self.result

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
        rules = master.get("RRULE")
        rules = rules if isinstance(rules, list) else [rules] if rules is not None else []
        if any(str(r.get("FREQ", [""])[0]).upper() in _TOO_FREQUENT for r in rules):
            self.warn("too_frequent", uid, start=_show(start))
            self.read_single(master, uid)
            return
        calendar = icalendar.Calendar()
        try:
            calendar.add_component(self.normalised(master))
            for override in overrides:
                calendar.add_component(self.normalised_override(override, uid))
            window_start = datetime.combine(self.since, datetime.min.time(), self.listing_tz)
            query = recurring_ical_events.of(calendar)
            nights: set[date] = set()
            for count, instance in enumerate(query.after(window_start)):
                if count >= MAX_INSTANCES_PER_SERIES:
                    self.warn("too_many_repeats", uid, start=_show(start), count=count)
                    break
                inst_start, inst_end = self.instance_start_end(instance)
                if self.local_date(inst_start) >= self.until:
                    break
                if _is_cancelled(instance):
                    continue
                span = self.span(inst_start, inst_end)
                if span is not None:
                    nights |= self.nights(*span)
        except _Unreadable:
            self.warn("unreadable_event", uid)
            return
        except Exception:  # a malformed rule: keep what is certain, say so
            self.warn("unreadable_series", uid, start=_show(start))
            self.read_single(master, uid)
            return
        self.result._add(uid, nights)

    def instance_start_end(self, instance):
        start = instance["DTSTART"].dt
        end = instance["DTEND"].dt if instance.get("DTEND") is not None else start
        if instance.get("DTEND") is None and instance.get("DURATION") is not None:
            end = _add_duration(start, instance["DURATION"].dt)
        return self.aware(start), self.aware(end)

    def aware(self, value):
        if isinstance(value, datetime) and value.tzinfo is None:
            return value.replace(tzinfo=self.listing_tz)
        return value

    def normalised(self, component):
        """A copy whose date-times carry this feed's resolved zones, for the expander."""
        result = copy.deepcopy(component)
        for name in ("DTSTART", "DTEND", "RECURRENCE-ID"):
            if result.get(name) is not None:
                value = self.value(component[name])
                result.pop(name)
                result.add(name, value)
        for name in ("EXDATE", "RDATE"):
            if name not in component:
                continue
            props = component[name] if isinstance(component[name], list) else [component[name]]
            values = []
            for prop in props:
                tzid = prop.params.get("TZID") if hasattr(prop, "params") else None
                for item in getattr(prop, "dts", []):
                    dt = item.dt
                    if isinstance(dt, tuple):  # an RDATE period: keep its start
                        dt = dt[0]
                    if isinstance(dt, datetime):
                        zone = (self.zones.get(tzid) if tzid else None) or (
                            dt.tzinfo if not tzid and dt.tzinfo else self.listing_tz
                        )
                        dt = dt.replace(tzinfo=zone)
                    values.append(dt)
            result.pop(name)
            for value in values:
                result.add(name, value)
        return result

    def normalised_override(self, override, uid: str):
        result = self.normalised(override)
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
    changed_at: datetime  # the range's last change, written as DTSTAMP


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
        lines += [
            "BEGIN:VEVENT",
            f"UID:{item.kind}-{item.ref}@{host}",
            "DTSTAMP:" + changed.astimezone(UTC).strftime("%Y%m%dT%H%M%SZ"),
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
