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

import re
from collections import defaultdict
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import date, timedelta

from flask import current_app
from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError

from rentalcoop.bookings.models import STAY_STATES, Booking
from rentalcoop.db import utcnow
from rentalcoop.errors import DomainError
from rentalcoop.extensions import db
from rentalcoop.i18n import _l
from rentalcoop.listings import availability
from rentalcoop.listings.models import Area, Listing, ListingState, PropertyType
from rentalcoop.listings.pricing import coop_date
from rentalcoop.stats import disclosure
from rentalcoop.stats.disclosure import ALL_TYPES, TOTAL_AREA, CellKey, Contributions, Rules
from rentalcoop.stats.models import WITHHELD, StatsCell, StatsRelease

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
        nights = set(self.booked(start, end))
        window = self.window(start, end)
        if window:
            lo, hi = window
            nights |= {
                lo + timedelta(days=d)
                for d in range((hi - lo).days)
                if lo + timedelta(days=d) not in self.closed
            }
        return len(nights)


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


def compute_cells(units: Iterable[Unit], year: int, month: int, areas: Iterable[str]):
    """Every cell of the release of (year, month), keyed by CellKey, unrounded."""
    units = list(units)
    release = disclosure.month_label(year, month)
    areas = sorted(set(areas) | {u.area for u in units})
    cells: dict[CellKey, Cell] = {}
    for kind, (_label, start, end) in periods_of(year, month).items():
        per_unit = [(u, _unit_measures(u, start, end, year, month)) for u in units]
        per_unit = [(u, m) for u, m in per_unit if m is not None]
        for area in [*areas, TOTAL_AREA]:
            for ptype in [*TYPES, ALL_TYPES]:
                members = [
                    (u, m)
                    for u, m in per_unit
                    if area in (TOTAL_AREA, u.area) and ptype in (ALL_TYPES, u.ptype)
                ]
                cells[CellKey(release, area, kind, ptype)] = _cell(members, kind)
    return cells


def _unit_measures(unit: Unit, start: date, end: date, year: int, month: int) -> dict | None:
    if not unit.is_listed(start, end):
        return None
    booked = unit.booked(start, end)
    stays = [n for check_in, n in unit.stays if start <= check_in < end]
    year_nights = len(unit.booked(date(year, 1, 1), month_end(year, month)))
    return {
        "nights": len(booked),
        "guest_nights": sum(unit.guests_by_night[n] for n in booked),
        "stays": len(stays),
        "stay_nights": sum(stays),
        "available": unit.available(start, end),
        "year_nights": year_nights,
    }


def _cell(members: list[tuple[Unit, dict]], kind: str) -> Cell:
    nights_by_host: dict[int, int] = defaultdict(int)
    guests_by_host: dict[int, int] = defaultdict(int)
    for unit, m in members:
        nights_by_host[unit.host] += m["nights"]
        guests_by_host[unit.host] += m["guest_nights"]
    total = defaultdict(int)
    for _unit, m in members:
        for name, value in m.items():
            total[name] += value
    raw: dict[str, int | tuple[int, int] | None] = {
        "listed_units": len(members),
        "active_units": sum(1 for _u, m in members if m["nights"] > 0),
        "booked_nights": total["nights"],
        "guest_nights": total["guest_nights"],
        "stays": total["stays"],
        "occupancy_pct": (total["nights"], total["available"]),
        "avg_stay_nights": (total["stay_nights"], total["stays"]),
    }
    if kind == "ytd":
        for name, lo, hi in BANDS:
            raw[name] = sum(
                1
                for _u, m in members
                if lo <= m["year_nights"] and (hi is None or m["year_nights"] <= hi)
            )
    contributions = Contributions(
        units=len(members),
        hosts=len({u.host for u, _m in members}),
        nights_by_host=dict(nights_by_host),
        guest_nights_by_host=dict(guests_by_host),
    )
    return Cell(contributions, raw)


def published_value(measure: str, raw, rules: Rules) -> float | None:
    """A measure's value as published: rounded counts and nights, ratios from unrounded."""
    kind = MEASURES[measure]
    if kind == COUNT:
        return disclosure.round_to(raw, rules.round_counts)
    if kind == NIGHTS:
        return disclosure.round_to(raw, rules.round_nights)
    numerator, denominator = raw
    if kind == PERCENT:
        return disclosure.percent(numerator, denominator)
    return disclosure.one_decimal(numerator, denominator)


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


def plan_release(period: str, rules: Rules) -> tuple[list[Row], disclosure.Protection]:
    """Compute a release of `period` against what is already published, without saving it."""
    year, month = parse_period(period)
    areas = list(db.session.scalars(select(Area.code).order_by(Area.code)))
    month_units = load_units(year, month)
    cells = compute_cells(month_units, year, month, areas)

    # Earlier versions of this month: what they withheld stays withheld; what they published
    # with the same values is public already and cannot protect anything.
    sticky: set[CellKey] = set()
    earlier_versions: list[tuple[set[CellKey], set[CellKey]]] = []
    versions = db.session.scalars(
        select(StatsRelease).where(StatsRelease.period == period).order_by(StatsRelease.version)
    ).all()
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
        other = latest_release(label)
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
            for key, cell in compute_cells(month_units, year, other_month, areas).items():
                c = cell.contributions
                if key.kind == "month":
                    continue
                if c.is_empty:
                    fixed_published.add(key)  # known to be nothing
                else:
                    unreleased[key] = disclosure.primary_reason(c, rules) is not None
    relations = disclosure.table_relations(period, areas, TYPES, neighbours) + extra_relations
    protection = disclosure.protect(
        {k: c.contributions for k, c in cells.items()},
        relations,
        rules,
        sticky=sticky,
        known=known,
        fixed_withheld=fixed_withheld,
        fixed_published=fixed_published,
        earlier_versions=earlier_versions,
        unreleased=unreleased,
    )
    if protection.unprotected:
        current_app.logger.warning(
            "stats %s: %d withheld cells could not be fully protected",
            period,
            len(protection.unprotected),
        )
    return build_rows(cells, protection, rules, year, month), protection


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
    rows, _protection = plan_release(period, rules)
    latest = latest_release(period)
    if latest is not None and latest.parameters == rules.as_dict() and _rows_of(latest) == rows:
        return None
    release = StatsRelease(
        period=period,
        version=(latest.version + 1) if latest else 1,
        parameters=rules.as_dict(),
        supersedes_id=latest.id if latest else None,
        published_at=utcnow(),
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
    return publish_month(period, today)


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
