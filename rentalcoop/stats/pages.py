"""What the release page shows: its tables and charts, from the stored cells only."""

from __future__ import annotations

from dataclasses import dataclass

from rentalcoop.i18n import _, number
from rentalcoop.listings.models import PROPERTY_TYPE_LABELS, PropertyType
from rentalcoop.stats import charts, services
from rentalcoop.stats.disclosure import ALL_TYPES, PERIOD_KINDS, TOTAL_AREA
from rentalcoop.stats.models import StatsCell, StatsRelease

TABLE_MEASURES = (
    "listed_units",
    "active_units",
    "booked_nights",
    "guest_nights",
    "stays",
    "occupancy_pct",
    "avg_stay_nights",
)
BAND_SHORT = ("0", "1–30", "31–60", "61–90", "91–180", "> 180")


def shown(cell: StatsCell | None) -> str:
    """A cell as a reader sees it: the value, `c` when withheld, `–` when there is none."""
    if cell is None:
        return ""
    if cell.is_withheld:
        return "c"
    if cell.value is None:
        return "–"
    if services.MEASURES[cell.measure] == services.DECIMAL:
        return number(round(cell.value, 1))
    return number(int(cell.value))


@dataclass
class Table:
    period_kind: str
    title: str
    property_type: str
    type_label: str
    measures: tuple[str, ...]
    rows: list[tuple[str, str, list[tuple[str, bool]]]]  # code, name, [(text, withheld)]


def type_label(ptype: str) -> str:
    if ptype == ALL_TYPES:
        return _("All types")
    return str(PROPERTY_TYPE_LABELS[PropertyType(ptype)])


def release_page(release: StatsRelease) -> dict:
    cells = services.cells_by_key(release)
    names = services.area_names()
    areas = sorted({a for a, _k, _t in cells if a != TOTAL_AREA})
    types = [*services.TYPES, ALL_TYPES]
    labels = {
        kind: label
        for kind, (label, _s, _e) in services.periods_of(release.year, release.month).items()
    }

    def table(kind: str, ptype: str, measures: tuple[str, ...]) -> Table:
        rows = []
        for area in [*areas, TOTAL_AREA]:
            row = cells.get((area, kind, ptype), {})
            name = _("Municipality") if area == TOTAL_AREA else names.get(area, "")
            rows.append(
                (
                    area,
                    name,
                    [
                        (shown(row.get(m)), bool(row.get(m) and row[m].is_withheld))
                        for m in measures
                    ],
                )
            )
        title = f"{services.PERIOD_KIND_LABELS[kind]} ({labels[kind]})"
        return Table(kind, title, ptype, type_label(ptype), measures, rows)

    tables = {kind: [table(kind, t, TABLE_MEASURES) for t in types] for kind in PERIOD_KINDS}
    band_tables = [table("ytd", t, services.BAND_MEASURES) for t in types]

    series = services.year_series(release)
    nights_chart = charts.bar_chart(
        _("Booked nights and occupancy per month, %(year)s", year=release.year),
        _(
            "Bars: booked nights in the municipality each month. Line: occupancy in per cent. A c marks a withheld value."
        ),
        [
            (
                period[5:],
                nights.value if nights is not None and not nights.is_withheld else None,
                bool(nights is not None and nights.is_withheld),
            )
            for period, nights, _occ in series
        ],
        line=[
            occ.value if occ is not None and not occ.is_withheld else None for _p, _n, occ in series
        ],
    )
    total_ytd = cells.get((TOTAL_AREA, "ytd", ALL_TYPES), {})
    bands_chart = charts.bar_chart(
        _("Units by booked nights this year, %(year)s", year=release.year),
        _(
            "Listed units in the municipality by their booked nights from 1 January to the end of the month."
        ),
        [
            (
                short,
                total_ytd[m].value if m in total_ytd and not total_ytd[m].is_withheld else None,
                bool(m in total_ytd and total_ytd[m].is_withheld),
            )
            for m, short in zip(services.BAND_MEASURES, BAND_SHORT, strict=True)
        ],
    )
    return {
        "release": release,
        "versions": services.versions_of(release.period),
        "tables": tables,
        "band_tables": band_tables,
        "period_kinds": PERIOD_KINDS,
        "measure_labels": services.MEASURE_LABELS,
        "nights_chart": nights_chart,
        "bands_chart": bands_chart,
        "rules": release.parameters,
        "audit": release.audit,
    }
