"""Freezing a month's statistics release (DESIGN §13): what each measure means, and how.

Cells are area (each district code, and "total" for the municipality) × period × property
type (each type, and "all"). A release for month M of year Y has three periods: the month,
its quarter to date (the quarter's first day to the end of M) and the year to date (1 January
to the end of M). Dates are Swedish calendar dates (Europe/Stockholm).

Definitions, per cell (the units of the cell's area and type; the cell's period P):

- A **unit** is a listing. Its **listed window** runs from the day it was first published
  (its creation day if that was not recorded) to the day it was archived (its last change
  once archived; open while published or paused — pauses are not recorded, so a paused
  listing counts as listed). Drafts never published have no window.
- **listed_units**: units whose listed window meets P, or that have a booked night in P.
- **booked nights**: nights of *stays* — bookings that are confirmed or completed (requested,
  unpaid, declined, expired and cancelled bookings are not stays). A night is a date
  (DESIGN §3) and belongs to the period it falls in, so a stay over a month end counts in both
  months. **booked_nights** = the count of such nights in P.
- **guest_nights**: Σ over those nights of the stay's number of guests.
- **active_units**: listed units with at least one booked night in P.
- **stays**: stays whose check-in date is in P (each stay is counted once, in its check-in
  period).
- **avg_stay_nights**: the nights of those stays (all their nights, also those outside P) ÷
  their number; one decimal. None (blank) when there are no stays.
- **occupancy_pct**: booked nights ÷ available unit-nights × 100, a whole per cent. Available
  unit-nights are each listed unit's nights of P inside its listed window that were not
  closed by the host or by an imported calendar, plus its booked nights (a booked night was
  always available here). None (blank) when nothing was available.
- **units_nights_<band>** (year-to-date cells only): listed units of the year to date by their
  booked nights from 1 January to the end of M, in the bands 0, 1–30, 31–60, 61–90, 91–180
  and over 180. The bands add up to listed_units of the same cell.

Disclosure control (rentalcoop.stats.disclosure) decides which cells are withheld; published
counts are rounded to 5 and nights to 10 (the release's own parameters).
"""

from __future__ import annotations

import logging
import re
from collections import defaultdict
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import date, timedelta

from flask import current_app
from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import selectinload

from rentalcoop.bookings.models import STAY_STATES, Booking
from rentalcoop.db import utcnow
from rentalcoop.errors import DomainError
from rentalcoop.extensions import db
from rentalcoop.i18n import _l
from rentalcoop.listings import availability
from rentalcoop.listings.models import Area, Listing, ListingState, PropertyType
from rentalcoop.listings.pricing import coop_date
from rentalcoop.stats import disclosure, lpaudit
from rentalcoop.stats.disclosure import ALL_TYPES, TOTAL_AREA, CellKey, Contributions, Rules
from rentalcoop.stats.models import WITHHELD, StatsCell, StatsRelease

log = logging.getLogger(__name__)
PERIOD_RE = re.compile(r"^(\d{4})-(0[1-9]|1[0-2])$")

# (name, lower, upper) nights from 1 January: DESIGN §13's bands.
BANDS = (
    ("units_nights_0", 0, 0),
    ("units_nights_1_30", 1, 30),
    ("units_nights_31_60", 31, 60),
    ("units_nights_61_90", 61, 90),
    ("units_nights_91_180", 91, 180),
    ("units_nights_181_plus", 181, None),
)
COUNT, NIGHTS, PERCENT, DECIMAL = "count", "nights", "percent", "decimal"
# Every measure in its published order, with how it is rounded.
MEASURES: dict[str, str] = {
    "listed_units": COUNT,
    "active_units": COUNT,
    "booked_nights": NIGHTS,
    "guest_nights": NIGHTS,
    "stays": COUNT,
    "occupancy_pct": PERCENT,
    "avg_stay_nights": DECIMAL,
    **{name: COUNT for name, _lo, _hi in BANDS},
}
BAND_MEASURES = tuple(name for name, _lo, _hi in BANDS)
MEASURE_LABELS = {
    "listed_units": _l("Listed units"),
    "active_units": _l("Active units"),
    "booked_nights": _l("Booked nights"),
    "guest_nights": _l("Guest nights"),
    "stays": _l("Stays"),
    "occupancy_pct": _l("Occupancy %"),
    "avg_stay_nights": _l("Average stay (nights)"),
    "units_nights_0": _l("0 nights"),
    "units_nights_1_30": _l("1–30 nights"),
    "units_nights_31_60": _l("31–60 nights"),
    "units_nights_61_90": _l("61–90 nights"),
    "units_nights_91_180": _l("91–180 nights"),
    "units_nights_181_plus": _l("Over 180 nights"),
}
PERIOD_KIND_LABELS = {
    "month": _l("Month"),
    "quarter": _l("Quarter to date"),
    "ytd": _l("Year to date"),
}
TYPES = tuple(str(t) for t in PropertyType)


class StatsError(DomainError):
    status_code = 400


# --- periods -----------------------------------------------------------------------------------


def parse_period(period: str) -> tuple[int, int]:
    """("2026-10") → (2026, 10), or a StatsError: only whole months exist, never free ranges."""
    match = PERIOD_RE.match(period or "")
    if not match:
        raise StatsError(_l("A release is named by its month, as YYYY-MM."))
    return int(match.group(1)), int(match.group(2))


def month_end(year: int, month: int) -> date:
    """The first day after the month."""
    return date(year + month // 12, month % 12 + 1, 1)


def periods_of(year: int, month: int) -> dict[str, tuple[str, date, date]]:
    """kind → (label, first day, first day after) for the release of that month."""
    end = month_end(year, month)
    quarter = disclosure.quarter_of(month)
    return {
        "month": (disclosure.month_label(year, month), date(year, month, 1), end),
        "quarter": (f"{year}-Q{quarter}", date(year, 3 * quarter - 2, 1), end),
        "ytd": (str(year), date(year, 1, 1), end),
    }


def previous_month(today: date | None = None) -> str:
    today = today or coop_date()
    first = today.replace(day=1) - timedelta(days=1)
    return disclosure.month_label(first.year, first.month)


# --- the month's microdata, read once ------------------------------------------------------------


@dataclass
class Unit:
    """One listing as the statistics see it: where, what, whose, when listed, which nights."""

    area: str
    ptype: str
    host: int
    listed_from: date | None
    listed_until: date | None  # first day no longer listed; None while listed
    guests_by_night: dict[date, int] = field(default_factory=dict)
    closed: set[date] = field(default_factory=set)
    stays: list[tuple[date, int]] = field(default_factory=list)  # (check-in, nights)

    def window(self, start: date, end: date) -> tuple[date, date] | None:
        if self.listed_from is None:
            return None
        lo = max(start, self.listed_from)
        hi = min(end, self.listed_until) if self.listed_until else end
        return (lo, hi) if lo < hi else None

    def booked(self, start: date, end: date) -> list[date]:
        return [n for n in self.guests_by_night if start <= n < end]

    def is_listed(self, start: date, end: date) -> bool:
        return self.window(start, end) is not None or bool(self.booked(start, end))

    def available(self, start: date, end: date) -> int:
        """Nights booked or open: the listed nights not closed, and booked nights besides
        (counted, not listed one by one)."""
        booked = self.booked(start, end)
        window = self.window(start, end)
        if not window:
            return len(booked)
        lo, hi = window
        open_nights = (hi - lo).days - sum(1 for n in self.closed if lo <= n < hi)
        return open_nights + sum(1 for n in booked if not lo <= n < hi or n in self.closed)


def load_units(year: int, month: int) -> list[Unit]:
    """Every listing that could count in the year to date, with its stays' nights."""
    start, end = date(year, 1, 1), month_end(year, month)
    rows = db.session.execute(
        select(
            Listing.id,
            Area.code,
            Listing.property_type,
            Listing.host_id,
            Listing.state,
            Listing.published_at,
            Listing.updated_at,
            Listing.created_at,
        ).join(Area, Area.id == Listing.area_id)
    ).all()
    units: dict[int, Unit] = {}
    for listing_id, code, ptype, host_id, state, published_at, updated_at, created_at in rows:
        if published_at is None and state in (ListingState.PUBLISHED, ListingState.PAUSED):
            published_at = created_at  # published before the date was recorded
        listed_from = coop_date(published_at) if published_at else None
        listed_until = None
        if state == ListingState.ARCHIVED:
            listed_until = coop_date(updated_at) + timedelta(days=1) if updated_at else listed_from
        units[listing_id] = Unit(code, str(ptype), host_id, listed_from, listed_until)

    stays = db.session.execute(
        select(Booking.listing_id, Booking.check_in, Booking.check_out, Booking.guests).where(
            Booking.state.in_([str(s) for s in STAY_STATES]),
            Booking.check_in < end,
            Booking.check_out > start,
        )
    ).all()
    for listing_id, check_in, check_out, guests in stays:
        unit = units[listing_id]
        nights = (check_out - check_in).days
        if check_in >= start:
            unit.stays.append((check_in, nights))
        for d in range(nights):
            night = check_in + timedelta(days=d)
            if start <= night < end:
                unit.guests_by_night[night] = unit.guests_by_night.get(night, 0) + guests

    for source in availability.night_sources():
        if source.kind == "booked":
            continue
        closed = db.session.execute(
            select(source.listing_id, source.night).where(
                source.night >= start, source.night < end, *source.where
            )
        ).all()
        for listing_id, night in closed:
            if listing_id in units:
                units[listing_id].closed.add(night)
    return [u for u in units.values() if u.listed_from is not None or u.guests_by_night]


# --- cells -------------------------------------------------------------------------------------


@dataclass
class Cell:
    """One cell's contributors and unrounded measures."""

    contributions: Contributions
    raw: dict[str, int | tuple[int, int] | None]


def span_of(month: int, kind: str) -> lpaudit.Span:
    """The months a period of the release of `month` covers: (first, last)."""
    if kind == "month":
        return (month, month)
    if kind == "quarter":
        return (3 * disclosure.quarter_of(month) - 2, month)
    return (1, month)


class SpanCells:
    """The cells of any span of one year, computed once each (a release and its audit need
    the same spans several times)."""

    def __init__(self, units: Iterable[Unit], year: int, areas: Iterable[str]):
        self.units = list(units)
        self.year = year
        self.areas = sorted(set(areas) | {u.area for u in self.units})
        self._per_unit: dict[lpaudit.Span, list[tuple[Unit, dict]]] = {}
        self._cells: dict[tuple[lpaudit.Span, bool], dict[tuple[str, str], Cell]] = {}

    def per_unit(self, span: lpaudit.Span) -> list[tuple[Unit, dict]]:
        if span not in self._per_unit:
            first, last = span
            start, end = date(self.year, first, 1), month_end(self.year, last)
            year_end = month_end(self.year, last)
            measured = [(u, _unit_measures(u, start, end, self.year, year_end)) for u in self.units]
            self._per_unit[span] = [(u, m) for u, m in measured if m is not None]
        return self._per_unit[span]

    def cells(self, span: lpaudit.Span, bands: bool) -> dict[tuple[str, str], Cell]:
        """(area, type) → the cell, for every district and "total", every type and "all"."""
        if (span, bands) not in self._cells:
            buckets: dict[tuple[str, str], list] = defaultdict(list)
            for u, m in self.per_unit(span):
                buckets[(u.area, u.ptype)].append((u, m))
            out = {}
            for area in [*self.areas, TOTAL_AREA]:
                for ptype in [*TYPES, ALL_TYPES]:
                    members = [
                        member
                        for (a, t), bucket in buckets.items()
                        if area in (TOTAL_AREA, a) and ptype in (ALL_TYPES, t)
                        for member in bucket
                    ]
                    out[(area, ptype)] = _cell(members, bands)
            self._cells[(span, bands)] = out
        return self._cells[(span, bands)]

    def release_cells(self, month: int) -> dict[CellKey, Cell]:
        release = disclosure.month_label(self.year, month)
        return {
            CellKey(release, area, kind, ptype): cell
            for kind in disclosure.PERIOD_KINDS
            for (area, ptype), cell in self.cells(span_of(month, kind), kind == "ytd").items()
        }


def compute_cells(units: Iterable[Unit], year: int, month: int, areas: Iterable[str]):
    """Every cell of the release of (year, month), keyed by CellKey, unrounded."""
    return SpanCells(units, year, areas).release_cells(month)


def _unit_measures(unit: Unit, start: date, end: date, year: int, year_end: date) -> dict | None:
    if not unit.is_listed(start, end):
        return None
    booked = unit.booked(start, end)
    stays = [n for check_in, n in unit.stays if start <= check_in < end]
    year_nights = len(unit.booked(date(year, 1, 1), year_end))
    return {
        "nights": len(booked),
        "guest_nights": sum(unit.guests_by_night[n] for n in booked),
        "stays": len(stays),
        "stay_nights": sum(stays),
        "available": unit.available(start, end),
        "year_nights": year_nights,
    }


def _band(year_nights: int) -> str:
    return next(
        name for name, lo, hi in BANDS if lo <= year_nights and (hi is None or year_nights <= hi)
    )


def unit_values(m: dict, bands: bool) -> dict[str, int]:
    """One unit's part of every magnitude of a cell it belongs to."""
    values = {
        "listed_units": 1,
        "active_units": int(m["nights"] > 0),
        "booked_nights": m["nights"],
        "guest_nights": m["guest_nights"],
        "stays": m["stays"],
        "stay_nights": m["stay_nights"],
        "available": m["available"],
    }
    if bands:
        values.update({name: 0 for name in BAND_MEASURES})
        values[_band(m["year_nights"])] = 1
    return values


def _cell(members: list[tuple[Unit, dict]], bands: bool) -> Cell:
    by_host: dict[str, dict[int, int]] = defaultdict(lambda: defaultdict(int))
    total: dict[str, int] = defaultdict(int)
    for unit, m in members:
        for name, value in unit_values(m, bands).items():
            by_host[name][unit.host] += value
            total[name] += value
    raw: dict[str, int | tuple[int, int] | None] = {
        "listed_units": len(members),
        "active_units": total["active_units"],
        "booked_nights": total["booked_nights"],
        "guest_nights": total["guest_nights"],
        "stays": total["stays"],
        "occupancy_pct": (total["booked_nights"], total["available"]),
        "avg_stay_nights": (total["stay_nights"], total["stays"]),
    }
    if bands:
        for name in BAND_MEASURES:
            raw[name] = total[name]
    contributions = Contributions(
        units=len(members),
        hosts=len({u.host for u, _m in members}),
        nights_by_host=dict(by_host["booked_nights"]),
        guest_nights_by_host=dict(by_host["guest_nights"]),
        by_host={name: dict(values) for name, values in by_host.items()},
        bands=tuple(total[name] for name in BAND_MEASURES) if bands else (),
    )
    return Cell(contributions, raw)


def published_value(measure: str, raw, rules: Rules) -> float | None:
    """A measure's value as published: rounded counts and nights, ratios from unrounded."""
    kind = MEASURES[measure]
    if kind == COUNT:
        return disclosure.round_to(raw, rules.round_counts)
    if kind == NIGHTS:
        return disclosure.round_to(raw, rules.round_nights)
    # Ratios from rounded parts, so that with the published parts they tell nothing the
    # rounding hides (an exact ratio and a public unit count pin a rounded value down).
    numerator, denominator = raw
    if kind == PERCENT:
        return disclosure.percent(
            disclosure.round_to(numerator, rules.round_nights),
            disclosure.round_to(denominator, rules.round_nights),
        )
    return disclosure.one_decimal(
        disclosure.round_to(numerator, rules.round_nights),
        disclosure.round_to(denominator, rules.round_counts),
    )


# --- releases ----------------------------------------------------------------------------------

# area, kind, label, type, measure, value, flag, is_empty
Row = tuple[str, str, str, str, str, float | None, str, bool]


def latest_release(period: str) -> StatsRelease | None:
    return db.session.scalar(
        select(StatsRelease)
        .where(StatsRelease.period == period, StatsRelease.published_at.is_not(None))
        .order_by(StatsRelease.version.desc())
        .limit(1)
    )


def find_release(period: str, version: int | None = None) -> StatsRelease | None:
    """A published version of a month's release (the newest when `version` is None)."""
    if version is None:
        return latest_release(period)
    return db.session.scalar(
        select(StatsRelease).where(
            StatsRelease.period == period,
            StatsRelease.version == version,
            StatsRelease.published_at.is_not(None),
        )
    )


def versions_of(period: str) -> list[StatsRelease]:
    return list(
        db.session.scalars(
            select(StatsRelease)
            .where(StatsRelease.period == period, StatsRelease.published_at.is_not(None))
            .order_by(StatsRelease.version)
        )
    )


def published_releases() -> list[StatsRelease]:
    """The newest version of every released month, newest month first."""
    newest = (
        select(StatsRelease.period, func.max(StatsRelease.version).label("version"))
        .where(StatsRelease.published_at.is_not(None))
        .group_by(StatsRelease.period)
        .subquery()
    )
    return list(
        db.session.scalars(
            select(StatsRelease)
            .join(
                newest,
                (StatsRelease.period == newest.c.period)
                & (StatsRelease.version == newest.c.version),
            )
            .order_by(StatsRelease.period.desc())
        )
    )


def _key_states(release: StatsRelease):
    """A stored release's cells: published values by key, the withheld keys, the empty ones."""
    values: dict[CellKey, dict[str, float | None]] = defaultdict(dict)
    withheld: set[CellKey] = set()
    empty: set[CellKey] = set()
    for cell in release.cells:
        key = CellKey(release.period, cell.area_code, cell.period_kind, cell.property_type)
        if cell.flag == WITHHELD:
            withheld.add(key)
            if cell.is_empty:
                empty.add(key)
        else:
            values[key][cell.measure] = cell.value
    return values, withheld, empty


def build_rows(
    cells: Mapping[CellKey, Cell],
    protection: disclosure.Protection,
    rules: Rules,
    year: int,
    month: int,
) -> list[Row]:
    labels = {kind: label for kind, (label, _s, _e) in periods_of(year, month).items()}
    rows: list[Row] = []
    for key in sorted(cells, key=_key_order):
        cell = cells[key]
        for measure in MEASURES:
            if measure not in cell.raw:
                continue
            if protection.is_withheld(key):
                value, flag = None, WITHHELD
            else:
                value, flag = published_value(measure, cell.raw[measure], rules), ""
            empty = flag == WITHHELD and cell.contributions.is_empty
            rows.append(
                (key.area, key.kind, labels[key.kind], key.ptype, measure, value, flag, empty)
            )
    return rows


def _key_order(key: CellKey):
    return (
        disclosure.PERIOD_KINDS.index(key.kind),
        key.area == TOTAL_AREA,
        key.area,
        key.ptype == ALL_TYPES,
        key.ptype,
    )


class ReleaseRefused(StatsError):
    """The audit found a withheld cell no suppression in this release can protect."""

    status_code = 409


MAX_AUDIT_ROUNDS = 40


@dataclass
class Plan:
    """A release computed against what is already published, audited, not saved yet."""

    rows: list[Row]
    protection: disclosure.Protection
    audit: lpaudit.AuditResult
    accepted: list[lpaudit.Outcome] = field(default_factory=list)  # inherited, not narrowed

    def __iter__(self):  # (rows, protection), as callers unpacked it before the audit
        return iter((self.rows, self.protection))

    def __getitem__(self, index):
        return (self.rows, self.protection)[index]

    def summary(self) -> dict:
        summary = self.audit.summary()
        summary["accepted_inherited"] = len(self.accepted)
        cells = {(r[0], r[1], r[3]) for r in self.rows}
        withheld = {(r[0], r[1], r[3]) for r in self.rows if r[6] == WITHHELD}
        summary["cells"] = len(cells)
        summary["cells_published"] = len(cells - withheld)
        return summary


def plan_release(period: str, rules: Rules) -> Plan:
    """Compute a release of `period` against what is already published, suppress until the
    LP audit finds every withheld cell protected, without saving it."""
    year, month = parse_period(period)
    areas = list(db.session.scalars(select(Area.code).order_by(Area.code)))
    stored = _year_releases(year)
    last = max([month, *(int(r.period[5:]) for r in stored)])
    return plan_from(period, rules, areas, load_units(year, last), stored)


def plan_from(
    period: str,
    rules: Rules,
    areas: Iterable[str],
    units: Iterable[Unit],
    stored: Iterable[StatsRelease],
) -> Plan:
    """`plan_release` on given data: the units (through the last month released this year)
    and every published version of the year's releases (objects with their cells)."""
    year, month = parse_period(period)
    stored = list(stored)
    areas = list(areas)
    spans = SpanCells(units, year, areas)
    cells = spans.release_cells(month)
    newest: dict[str, StatsRelease] = {}
    for r in stored:
        if r.period not in newest or r.version > newest[r.period].version:
            newest[r.period] = r

    # Earlier versions of this month: what they withheld stays withheld; what they published
    # with the same values is public already and cannot protect anything.
    sticky: set[CellKey] = set()
    earlier_versions: list[tuple[set[CellKey], set[CellKey]]] = []
    versions = [r for r in stored if r.period == period]
    published_before: dict[CellKey, list[dict]] = defaultdict(list)
    for version in versions:
        values, withheld, empty = _key_states(version)
        sticky |= withheld
        earlier_versions.append((withheld, empty))
        for key, measures in values.items():
            published_before[key].append(measures)
    known = set()
    for key, earlier in published_before.items():
        if key in cells:
            now = {m: published_value(m, raw, rules) for m, raw in cells[key].raw.items()}
            if any(_same(now, measures) for measures in earlier):
                known.add(key)

    # Neighbouring releases of the same year along the time axis, before and after this one
    # (a month may be released after the next one, or corrected later).
    neighbours = []
    fixed_withheld: set[CellKey] = set()
    fixed_published: set[CellKey] = set()
    unreleased: dict[CellKey, bool] = {}
    extra_relations: list[disclosure.Relation] = []
    last_quarter_end = (disclosure.quarter_of(month) - 1) * 3
    linked = {month - 1, last_quarter_end, month + 1}
    if month % 3 == 0:  # a quarter's end meets the next quarter's months
        linked |= {month + 2, month + 3}
    for other_month in sorted(linked):
        if not 1 <= other_month <= 12 or other_month == month:
            continue
        label = disclosure.month_label(year, other_month)
        other = newest.get(label)
        if other is not None:
            neighbours.append(other.period)
            values, withheld, empty = _key_states(other)
            fixed_withheld |= withheld - empty
            fixed_published |= set(values) | empty  # an empty cell is as good as known
        elif other_month < month:
            # Not released (yet): its year and quarter to date are still differences of this
            # release's cells, so what the primary rules would withhold must stay unknown.
            neighbours.append(label)
            extra_relations += disclosure.table_relations(label, areas, TYPES)
            for key, cell in spans.release_cells(other_month).items():
                c = cell.contributions
                if key.kind == "month":
                    continue
                if c.is_empty:
                    fixed_published.add(key)  # known to be nothing
                else:
                    unreleased[key] = disclosure.primary_reason(c, rules) is not None
    relations = disclosure.table_relations(period, areas, TYPES, neighbours) + extra_relations

    auditor = ReleaseAudit(spans, month, rules, stored)
    forced: set[CellKey] = set()
    pending: list[lpaudit.Check] | None = None  # None: every check
    accepted: list[lpaudit.Outcome] = []
    result = lpaudit.AuditResult()
    for _round in range(MAX_AUDIT_ROUNDS):
        protection = disclosure.protect(
            {k: c.contributions for k, c in cells.items()},
            relations,
            rules,
            sticky=sticky | forced,
            known=known,
            fixed_withheld=fixed_withheld,
            fixed_published=fixed_published,
            earlier_versions=earlier_versions,
            unreleased=unreleased,
        )
        for key in forced:
            protection.withheld.setdefault(key, disclosure.SECONDARY)
        rows = build_rows(cells, protection, rules, year, month)
        result = auditor.run(rows, pending)
        failing = result.failing
        if not failing:
            if pending is None:
                break
            pending = None  # every check once more, on the final table
            continue
        additions = auditor.suppress(failing, rows) - forced
        if not additions:
            break
        forced |= additions
        pending = [o.check for o in failing]
    else:
        failing = result.failing
    if result.failing:
        # Nothing left to withhold around them: what already-published releases give away.
        # Compared with this month withheld entirely, a correction may keep those intervals
        # as they are (never narrower); a first release is refused.
        baseline = auditor.run(None, [o.check for o in result.failing], publish_nothing=True)
        reach = {o.check: o for o in baseline.outcomes}
        for outcome in result.failing:
            before = reach.get(outcome.check)
            inherited = (
                before is not None
                and not before.is_protected
                and outcome.low <= before.low + 1e-6
                and outcome.high >= before.high - 1e-6
            )
            if not inherited:
                # A last resort: this month's cells all withheld.
                forced = set(cells)
                for key in forced:
                    protection.withheld.setdefault(key, disclosure.SECONDARY)
                rows = build_rows(cells, protection, rules, year, month)
                result = auditor.run(rows, None)
                break
        accepted = [o for o in result.failing]
        if accepted and not versions:
            log.warning("stats %s: refused, %d checks unprotected", period, len(accepted))
            raise ReleaseRefused(
                _l(
                    "The release of %(period)s cannot be published: %(count)s withheld "
                    "figures could be worked out from the releases already published.",
                    period=period,
                    count=len(accepted),
                )
            )
        if accepted:
            log.warning("stats %s: correction keeps %d inherited intervals", period, len(accepted))
    return Plan(rows, protection, result, accepted)


def _year_releases(year: int) -> list[StatsRelease]:
    """Every published version of every month of `year`, oldest first."""
    return list(
        db.session.scalars(
            select(StatsRelease)
            .where(
                StatsRelease.period.like(f"{year:04d}-%"),
                StatsRelease.published_at.is_not(None),
            )
            .order_by(StatsRelease.period, StatsRelease.version)
            .options(selectinload(StatsRelease.cells))
        )
    )


def rounding_interval(value: float, measure: str, rules: Mapping) -> tuple[float, float]:
    """The true values a published rounded value allows (halves up): base 5 → [v−2, v+2],
    base 10 → [v−5, v+4]; never below 0."""
    base = int(rules.get("round_counts" if MEASURES[measure] == COUNT else "round_nights", 1))
    if base <= 1:
        return (value, value)
    return (max(0.0, value - base // 2), value + base - 1 - base // 2)


class ReleaseAudit:
    """The LP audit of a candidate release with every published release of its year: the
    published intervals, the primary cells of every span (released or not) and their checks,
    outside and inside."""

    def __init__(self, spans: SpanCells, month: int, rules: Rules, stored: Iterable[StatsRelease]):
        self.spans = spans
        self.month = month
        self.rules = rules
        self.stored = list(stored)
        months = [month, *(r.month for r in self.stored)]
        published_spans = {span_of(m, kind) for m in months for kind in disclosure.PERIOD_KINDS}
        self.candidate_kinds: dict[lpaudit.Span, list[str]] = defaultdict(list)
        for kind in disclosure.PERIOD_KINDS:
            self.candidate_kinds[span_of(month, kind)].append(kind)
        self.world = lpaudit.World(
            areas=[a for a in spans.areas],
            types=list(TYPES),
            months=max(months),
            spans=published_spans,
            intervals={},
            true_value=lambda var: self.true_value(*var),
            host_values=self.host_values,
        )
        self._host_cache: dict = {}
        self.earlier = self._stored_intervals()
        self.earlier_cells = {var[0] for var in self.earlier}

    # --- the truth --------------------------------------------------------------------------

    def cell(self, c: lpaudit.Cell) -> Cell:
        span, area, ptype = c
        return self.spans.cells(span, lpaudit.has_bands(span))[(area, ptype)]

    def true_value(self, c: lpaudit.Cell, measure: str) -> int:
        return self.cell(c).raw.get(measure) or 0

    def host_values(self, host) -> dict[lpaudit.Var, int]:
        """One host's own figures in every cell of the audit (what an insider knows)."""
        if host not in self._host_cache:
            values: dict[lpaudit.Var, int] = defaultdict(int)
            for span in self.world.additive_spans():
                bands = lpaudit.has_bands(span)
                for u, m in self.spans.per_unit(span):
                    if u.host != host:
                        continue
                    own = unit_values(m, bands)
                    for area in (u.area, TOTAL_AREA):
                        for ptype in (u.ptype, ALL_TYPES):
                            for measure in lpaudit.AUDITED:
                                if own.get(measure):
                                    values[((span, area, ptype), measure)] += own[measure]
            self._host_cache[host] = dict(values)
        return self._host_cache[host]

    # --- what is published -----------------------------------------------------------------

    def _add_interval(self, intervals, month, area, kind, ptype, measure, value, params):
        if measure not in lpaudit.AUDITED or value is None:
            return
        span = span_of(month, kind)
        var = ((span, area, ptype), measure)
        lo, hi = rounding_interval(value, measure, params)
        true = self.true_value(var[0], measure)
        lo, hi = min(lo, true), max(hi, true)  # the data may have changed since (a correction)
        if var in intervals:
            old_lo, old_hi = intervals[var]
            lo, hi = max(lo, old_lo), min(hi, old_hi)
        intervals[var] = (lo, hi)

    def _stored_intervals(self) -> dict[lpaudit.Var, tuple[float, float]]:
        intervals: dict[lpaudit.Var, tuple[float, float]] = {}
        for release in self.stored:
            for c in release.cells:
                if c.flag != WITHHELD:
                    self._add_interval(
                        intervals,
                        release.month,
                        c.area_code,
                        c.period_kind,
                        c.property_type,
                        c.measure,
                        c.value,
                        release.parameters,
                    )
        return intervals

    def intervals(self, rows: list[Row] | None) -> dict[lpaudit.Var, tuple[float, float]]:
        intervals = dict(self.earlier)
        params = self.rules.as_dict()
        for area, kind, _label, ptype, measure, value, flag, _empty in rows or ():
            if flag != WITHHELD:
                self._add_interval(intervals, self.month, area, kind, ptype, measure, value, params)
        return intervals

    # --- the checks ---------------------------------------------------------------------------

    def checks(self, intervals) -> list[lpaudit.Check]:
        """Protection levels for every primary cell nobody published: outside, its largest
        contributor inside, and the single host of a withheld cell beside it."""
        pct = self.rules.protection_pct
        published = {var[0] for var in intervals}
        out: dict[tuple, lpaudit.Check] = {}
        for span in self.world.additive_spans():
            measures = list(lpaudit.ADDITIVE)
            if span in self.world.spans:
                measures += (
                    lpaudit.UNIT_MEASURES
                    if lpaudit.has_bands(span)
                    else ["listed_units", "active_units"]
                )
            table = self.spans.cells(span, lpaudit.has_bands(span))
            singles = [
                (area, ptype, next(iter(cell.contributions.nights_by_host)))
                for (area, ptype), cell in table.items()
                if cell.contributions.hosts == 1 and (span, area, ptype) not in published
            ]
            for (area, ptype), cell in table.items():
                key = (span, area, ptype)
                con = cell.contributions
                if con.is_empty or key in published:
                    continue
                if disclosure.primary_reason(con, self.rules) is None:
                    continue
                # The one host of any withheld cell of the span knows it exactly.
                insiders = {host for a, t, host in singles if (a, t) != (area, ptype)}
                for measure in measures:
                    value = cell.raw.get(measure) or 0
                    lower, upper = lpaudit.protection_levels(value, pct)
                    out[(key, measure, None)] = lpaudit.Check(key, measure, value, lower, upper)
                    by_host = _values_by_host(con, measure)
                    largest = max(by_host, key=lambda h: (by_host[h], repr(h)), default=None)
                    for host in {largest, *insiders} - {None}:
                        rest = value - by_host.get(host, 0)
                        if rest <= 0 or con.hosts < 2:
                            continue
                        lower, upper = lpaudit.protection_levels(rest, pct)
                        out[(key, measure, host)] = lpaudit.Check(
                            key, measure, rest, lower, upper, host
                        )
        return list(out.values())

    def run(
        self,
        rows: list[Row] | None,
        only: list[lpaudit.Check] | None,
        *,
        publish_nothing: bool = False,
    ) -> lpaudit.AuditResult:
        """Audit the candidate `rows` (or, `publish_nothing`, this month withheld entirely)."""
        self.world.intervals = self.intervals(None if publish_nothing else rows)
        checks = self.checks(self.world.intervals) if only is None else only
        return lpaudit.audit(self.world, checks)

    # --- more suppression -----------------------------------------------------------------

    def suppress(self, failing: list[lpaudit.Outcome], rows: list[Row]) -> set[CellKey]:
        """For each failing check, the cheapest cell of this release published now (and by no
        earlier version) in its relations, or breadth-first beyond withheld cells; preferring
        cells large enough to cover the missing reach."""
        release = disclosure.month_label(self.spans.year, self.month)
        published_now = {
            (span_of(self.month, kind), area, ptype)
            for area, kind, _label, ptype, _m, _v, flag, _e in rows
            if flag != WITHHELD
        }
        fresh = published_now - self.earlier_cells
        chosen: set[CellKey] = set()
        taken: set[lpaudit.Cell] = set()
        for outcome in failing:
            check = outcome.check
            short = max(
                check.value + check.upper - outcome.high, outcome.low - check.value + check.lower
            )
            seen, frontier, options = {check.cell}, [check.cell], set()
            while frontier and not options:
                nxt = []
                for c in frontier:
                    for relation in self.world.relations_of(c):
                        for other in relation:
                            if other in seen:
                                continue
                            seen.add(other)
                            if other in fresh:
                                options.add(other)
                            elif other not in published_now and other not in self.earlier_cells:
                                nxt.append(other)
                frontier = nxt
            if not options:
                continue
            options_left = options - taken or options

            def cost(c, check=check, short=short):
                cell = self.cell(c)
                return (
                    self.true_value(c, check.measure) < short,
                    cell.contributions.cost,
                    repr(c),
                )

            best = min(options_left, key=cost)
            taken.add(best)
            span, area, ptype = best
            for kind in self.candidate_kinds[span]:
                chosen.add(CellKey(release, area, kind, ptype))
        return chosen


def _values_by_host(con: Contributions, measure: str) -> Mapping:
    if measure == "booked_nights":
        return con.nights_by_host
    if measure == "guest_nights":
        return con.guest_nights_by_host
    return con.by_host.get(measure, {})


def _same(a: Mapping[str, float | None], b: Mapping[str, float | None]) -> bool:
    return all(a.get(m) == b.get(m) for m in set(a) | set(b))


def release_month(
    period: str, *, today: date | None = None, rules: Rules | None = None
) -> StatsRelease | None:
    """Freeze and publish the statistics of a finished month; a new version only when the
    published figures would change (a correction). None when nothing changed."""
    year, month = parse_period(period)
    if month_end(year, month) > (today or coop_date()):
        raise StatsError(_l("Only a finished month can be released."))
    rules = rules or Rules.from_config(current_app.config)
    plan = plan_release(period, rules)
    rows = plan.rows
    latest = latest_release(period)
    if latest is not None and latest.parameters == rules.as_dict() and _rows_of(latest) == rows:
        return None
    release = StatsRelease(
        period=period,
        version=(latest.version + 1) if latest else 1,
        parameters=rules.as_dict(),
        supersedes_id=latest.id if latest else None,
        published_at=utcnow(),
        audit=plan.summary(),
    )
    release.cells = [
        StatsCell(
            area_code=area,
            period_kind=kind,
            period_label=label,
            property_type=ptype,
            measure=measure,
            value=value,
            flag=flag,
            is_empty=empty,
        )
        for area, kind, label, ptype, measure, value, flag, empty in rows
    ]
    db.session.add(release)
    db.session.flush()
    return release


def release_order(release: StatsRelease) -> list[StatsCell]:
    """The cells in their published order: period kind, area, type, measure."""
    order = {m: i for i, m in enumerate(MEASURES)}
    return sorted(
        release.cells,
        key=lambda c: (
            _key_order(CellKey(release.period, c.area_code, c.period_kind, c.property_type)),
            order[c.measure],
        ),
    )


def _rows_of(release: StatsRelease) -> list[Row]:
    return [
        (
            c.area_code,
            c.period_kind,
            c.period_label,
            c.property_type,
            c.measure,
            c.value,
            c.flag,
            c.is_empty,
        )
        for c in release_order(release)
    ]


def publish_month(period: str, today: date | None = None) -> StatsRelease | None:
    """`release_month`, committed: the new release, or None when nothing changed or another
    process (the job, another click) published the same version at the same moment."""
    try:
        release = release_month(period, today=today)
        db.session.commit()
    except IntegrityError:
        db.session.rollback()
        return None
    return release


def release_previous_month(today: date | None = None) -> StatsRelease | None:
    """The scheduled release: last month's, once (a later run finds it there and stops)."""
    period = previous_month(today)
    if latest_release(period) is not None:
        return None
    try:
        return publish_month(period, today)
    except ReleaseRefused:
        return None  # logged; the board sees the refusal when it publishes by hand


def cells_by_key(release: StatsRelease) -> dict[tuple[str, str, str], dict[str, StatsCell]]:
    """(area, period kind, type) → measure → cell, for pages and charts."""
    table: dict[tuple[str, str, str], dict[str, StatsCell]] = defaultdict(dict)
    for cell in release.cells:
        table[(cell.area_code, cell.period_kind, cell.property_type)][cell.measure] = cell
    return table


def area_names() -> dict[str, str]:
    return {code: name for code, name in db.session.execute(select(Area.code, Area.name))}


def year_series(release: StatsRelease) -> list[tuple[str, StatsCell | None, StatsCell | None]]:
    """(month, booked nights, occupancy) of the municipality, all types, for each month of the
    year so far: this release's month and the newest version of each earlier month's release,
    read in one query."""
    periods = [disclosure.month_label(release.year, m) for m in range(1, release.month + 1)]
    newest = {r.period: r.id for r in published_releases() if r.period in periods[:-1]}
    newest[release.period] = release.id
    by_release: dict[int, dict[str, StatsCell]] = defaultdict(dict)
    for cell in db.session.scalars(
        select(StatsCell).where(
            StatsCell.release_id.in_(list(newest.values())),
            StatsCell.area_code == TOTAL_AREA,
            StatsCell.period_kind == "month",
            StatsCell.property_type == ALL_TYPES,
            StatsCell.measure.in_(("booked_nights", "occupancy_pct")),
        )
    ):
        by_release[cell.release_id][cell.measure] = cell
    series = []
    for period in periods:
        cells = by_release.get(newest.get(period, -1), {})
        series.append((period, cells.get("booked_nights"), cells.get("occupancy_pct")))
    return series
