"""Statistical disclosure control for the municipality releases (DESIGN §13). Pure: no database.

The rules run in this order, on *cells* — one area × period × property type, whose measures
are all published or all withheld together (they share their contributors):

1. **Threshold.** A cell needs at least `min_units` listed units of at least `min_hosts`
   different hosts (Handbook on SDC; sdcTable's frequency rule).
2. **Dominance** ((n, k) rule, n = 2, k = `dominance_pct`). The two largest hosts may hold at
   most k % of the cell's booked nights, of its guest nights, and of every other published
   magnitude (`MAGNITUDES`: stays, and the parts of the ratios). A cell with none of a
   magnitude has nothing to dominate in it.
3. **Secondary suppression.** Published margins must not give a withheld cell away. Every
   linear relation of the table — a total equals the sum of its parts, along the area axis
   (municipality = Σ districts), the type axis (all = Σ types) and the time axis (the month,
   its quarter to date and the year to date within the release, and ytd(M) = ytd(M−1) +
   month(M), quarter(M) = quarter(M−1) + month(M), ytd(M) = ytd(end of last quarter) +
   quarter(M) with the neighbouring releases of the same year, earlier or later) — must hold
   0 or at least 2 *protecting* cells. A protecting cell is withheld (or never released), has
   units (an empty cell is presumed known to be zero) and its value is not already public
   (`known`: published with these rounded values by an earlier version of the same month).
   Where a relation has exactly one, its smallest publishable cell (fewest units, then fewest
   nights; cells that are not public yet first) is withheld as well, repeating until nothing
   changes (a fixed point: it only ever adds, so it ends).
   Then an **audit**: all relations are solved together (exact rational Gauss–Jordan
   elimination over the unknown cells), because three relations with two unknowns each can
   still pin one down. A withheld cell the published cells determine gets a further partner
   withheld — from its own relations, or breadth-first from the withheld cells around it —
   and the relations are checked again, until no withheld cell is determined.
   - Across **versions** of the same month: what an earlier version withheld stays withheld
     (`sticky`), and the audit solves the earlier versions' relations too, a cell withheld in
     both taken as one unchanged unknown and a cell withheld then but empty or public now as
     that version's own unknown — so a correction cannot give a value away by difference.
     A withheld cell `known` by its rounded values protects nothing, but its exact value
     (changed under the rounding) must not be determined either.
   - Months of the year that were **never released** are still differences of this release
     (ytd(M) − month(M) = ytd(M−1)): their cells join the audit as unknowns, and those the
     primary rules would withhold must stay undetermined (`unreleased`).
4. **Rounding** of what is published: counts to the nearest multiple of `round_counts`,
   nights to `round_nights`, halves up. Percentages and averages are made of the rounded
   parts (occupancy to a whole per cent, the average stay to one decimal), so that a ratio
   tells nothing the rounding hides.
5. **The LP audit** (rentalcoop.stats.lpaudit, run by services.plan_release) then checks each
   primary cell's protection levels against every published release of the year, outside
   and inside, and withholds more until they hold (docs/statistics-disclosure.md).
"""

from __future__ import annotations

from collections.abc import Hashable, Iterable, Mapping
from dataclasses import asdict, dataclass, field
from fractions import Fraction
from typing import Any, NamedTuple

THRESHOLD = "threshold"
DOMINANCE = "dominance"
SECONDARY = "secondary"
STICKY = "earlier_version"
PERIOD_KINDS = ("month", "quarter", "ytd")
TOTAL_AREA = "total"
# What the dominance rule weighs besides nights and guest nights: every published magnitude,
# and the parts of the published ratios. Unit counts (listed, active, by band) are frequencies:
# the threshold rule covers them.
MAGNITUDES = ("stays", "stay_nights", "available")
ALL_TYPES = "all"


@dataclass(frozen=True)
class Rules:
    """The rule parameters; every release stores the ones it was made with."""

    min_units: int = 5
    min_hosts: int = 3
    dominance_n: int = 2
    dominance_pct: int = 85
    round_counts: int = 5
    round_nights: int = 10
    # Protection levels of a withheld cell (τ-Argus, sdcTable): its feasible range for an
    # attacker must reach this many per cent below and above the true value.
    protection_pct: int = 30

    @classmethod
    def from_config(cls, config: Mapping[str, Any]) -> Rules:
        return cls(
            min_units=int(config.get("STATS_MIN_UNITS", cls.min_units)),
            min_hosts=int(config.get("STATS_MIN_HOSTS", cls.min_hosts)),
            dominance_pct=int(config.get("STATS_DOMINANCE_PCT", cls.dominance_pct)),
            round_counts=int(config.get("STATS_ROUND_COUNTS", cls.round_counts)),
            round_nights=int(config.get("STATS_ROUND_NIGHTS", cls.round_nights)),
            protection_pct=int(config.get("STATS_PROTECTION_PCT", cls.protection_pct)),
        )

    def as_dict(self) -> dict[str, int]:
        return asdict(self)


@dataclass(frozen=True)
class Contributions:
    """What the rules need to know about one cell: its size and who contributes how much."""

    units: int
    hosts: int
    nights_by_host: Mapping[Hashable, int] = field(default_factory=dict)
    guest_nights_by_host: Mapping[Hashable, int] = field(default_factory=dict)
    # Every other published magnitude (stays, the nights of the stays, available nights,
    # units, active units …): measure → host → value. Dominance is tested on each.
    by_host: Mapping[str, Mapping[Hashable, int]] = field(default_factory=dict)
    # The units in each nights band (year to date only).
    bands: tuple[int, ...] = ()

    @property
    def nights(self) -> int:
        return sum(self.nights_by_host.values())

    @property
    def is_empty(self) -> bool:
        return self.units == 0

    @property
    def cost(self) -> tuple[int, int]:
        """What withholding it costs the reader: the smallest cells go first."""
        return (self.units, self.nights)


class CellKey(NamedTuple):
    """A cell: the release month ("YYYY-MM"), area code or "total", period kind, type or "all"."""

    release: str
    area: str
    kind: str
    ptype: str


class Relation(NamedTuple):
    """`total` = Σ `parts`, for every additive measure."""

    total: Hashable
    parts: tuple[Hashable, ...]

    @property
    def cells(self) -> tuple[Hashable, ...]:
        return (self.total, *self.parts)


# --- primary rules -----------------------------------------------------------------------------


def passes_threshold(cell: Contributions, rules: Rules) -> bool:
    """Enough units and enough hosts that no single one stands out."""
    return cell.units >= rules.min_units and cell.hosts >= rules.min_hosts


def passes_dominance(values_by_host: Mapping[Hashable, int], rules: Rules) -> bool:
    """The `dominance_n` largest contributors hold at most `dominance_pct` % of the total."""
    total = sum(values_by_host.values())
    if total == 0:
        return True
    largest = sum(sorted(values_by_host.values(), reverse=True)[: rules.dominance_n])
    return 100 * largest <= rules.dominance_pct * total


def primary_reason(cell: Contributions, rules: Rules) -> str | None:
    """Why the cell must be withheld on its own (threshold, dominance), or None."""
    if not passes_threshold(cell, rules):
        return THRESHOLD
    magnitudes = [
        cell.nights_by_host,
        cell.guest_nights_by_host,
        *(v for m, v in cell.by_host.items() if m in MAGNITUDES),
    ]
    if not all(passes_dominance(values, rules) for values in magnitudes):
        return DOMINANCE
    return None


# --- the table's linear relations --------------------------------------------------------------


def quarter_of(month: int) -> int:
    return (month - 1) // 3 + 1


def month_label(year: int, month: int) -> str:
    return f"{year:04d}-{month:02d}"


def table_relations(
    release: str, areas: Iterable[str], types: Iterable[str], neighbours: Iterable[str] = ()
) -> list[Relation]:
    """Every sum relation among the cells of `release`, and between them and the cells of the
    `neighbours` (other releases of the same year, "YYYY-MM", earlier or later).

    Area and type margins within the release; time: month ≡ quarter to date when the month
    opens its quarter, quarter ≡ year to date in the first quarter, and between a month M and
    the release before it, ytd(M) = ytd(M−1) + month(M), quarter(M) = quarter(M−1) + month(M)
    within a quarter, and ytd(M) = ytd(end of last quarter) + quarter(M).
    """
    areas = [a for a in areas if a != TOTAL_AREA]
    types = [t for t in types if t != ALL_TYPES]
    all_areas = [*areas, TOTAL_AREA]
    all_types = [*types, ALL_TYPES]
    year, month = int(release[:4]), int(release[5:])

    def key(area: str, kind: str, ptype: str, at: str = release) -> CellKey:
        return CellKey(at, area, kind, ptype)

    relations = []
    for kind in PERIOD_KINDS:
        for ptype in all_types:
            relations.append(
                Relation(key(TOTAL_AREA, kind, ptype), tuple(key(a, kind, ptype) for a in areas))
            )
        for area in all_areas:
            relations.append(
                Relation(key(area, kind, ALL_TYPES), tuple(key(area, kind, t) for t in types))
            )
    for area in all_areas:
        for ptype in all_types:
            if month % 3 == 1:
                relations.append(
                    Relation(key(area, "quarter", ptype), (key(area, "month", ptype),))
                )
            if quarter_of(month) == 1:
                relations.append(Relation(key(area, "ytd", ptype), (key(area, "quarter", ptype),)))
    for other in set(neighbours):
        if int(other[:4]) != year or other == release:
            continue
        before, after = sorted((release, other))
        relations += _time_links(before, after, all_areas, all_types)
    return [r for r in relations if r.parts]


def _time_links(before: str, after: str, areas: list[str], types: list[str]) -> list[Relation]:
    """The relations between the releases of two months of one year (`before` < `after`)."""
    b, a = int(before[5:]), int(after[5:])
    last_quarter_end = (quarter_of(a) - 1) * 3
    links = []
    for area in areas:
        for ptype in types:

            def cell(at: str, kind: str, area=area, ptype=ptype) -> CellKey:
                return CellKey(at, area, kind, ptype)

            if b == a - 1:
                links.append(
                    Relation(cell(after, "ytd"), (cell(before, "ytd"), cell(after, "month")))
                )
                if a % 3 != 1:
                    links.append(
                        Relation(
                            cell(after, "quarter"), (cell(before, "quarter"), cell(after, "month"))
                        )
                    )
            elif b == last_quarter_end:
                links.append(
                    Relation(cell(after, "ytd"), (cell(before, "ytd"), cell(after, "quarter")))
                )
    return links


# --- secondary suppression and the audit ----------------------------------------------------------


@dataclass
class Protection:
    """The outcome: every withheld cell of the release with the reason it is withheld."""

    withheld: dict[Hashable, str]
    # Cells no further suppression could protect (only known or fixed cells around them).
    unprotected: set[Hashable] = field(default_factory=set)

    def is_withheld(self, key: Hashable) -> bool:
        return key in self.withheld


def protect(
    cells: Mapping[Hashable, Contributions],
    relations: Iterable[Relation],
    rules: Rules,
    *,
    sticky: Iterable[Hashable] = (),
    known: Iterable[Hashable] = (),
    fixed_withheld: Iterable[Hashable] = (),
    fixed_published: Iterable[Hashable] = (),
    earlier_versions: Iterable[tuple[Iterable[Hashable], Iterable[Hashable]]] = (),
    unreleased: Mapping[Hashable, bool] | None = None,
) -> Protection:
    """Decide which cells of a release to withhold.

    `cells` are this release's cells; `relations` may also name cells of earlier releases,
    whose state is fixed (`fixed_withheld` / `fixed_published`). `sticky` cells were withheld by
    an earlier version of this month; `known` cells were published by one with the same values.
    `earlier_versions` are (withheld cells, of them the empty ones) of each earlier version of
    this month: the audit solves their relations together with this version's, taking a cell
    withheld in both to be unchanged and an empty one to be known as zero (the attacker's best
    case), so that a correction cannot give a cell away by difference with what an earlier
    version published.
    `unreleased` are cells of neighbouring months that were never released (no reader has
    them, but this release's differences may give them away): True for those the primary
    rules would withhold, which must stay unknown; the others may be worked out.
    """
    unreleased = dict(unreleased or {})
    earlier_versions = [set(w) - set(e) for w, e in earlier_versions]
    fixed_withheld = set(fixed_withheld)
    fixed_published = set(fixed_published)
    known = set(known) | fixed_published
    present = set(cells) | fixed_withheld | fixed_published | set(unreleased)
    relations = [r for r in relations if all(c in present for c in r.cells)]

    withheld: dict[Hashable, str] = {}
    for key, cell in cells.items():
        reason = primary_reason(cell, rules)
        if reason:
            withheld[key] = reason
    for key in sticky:
        if key in cells:
            withheld.setdefault(key, STICKY)

    def protecting(key: Hashable) -> bool:
        if key in fixed_withheld or key in unreleased:
            return True
        return key in withheld and key not in known and not cells[key].is_empty

    def candidates(relation: Relation) -> list[Hashable]:
        """Cells of the relation worth withholding: published, with units, not public already
        — or, when only cells published before with the same rounded values are left, those
        (their exact values may have changed under the rounding, which is what protects)."""
        fresh = [
            c
            for c in relation.cells
            if c in cells and c not in withheld and c not in known and not cells[c].is_empty
        ]
        return fresh or [
            c
            for c in relation.cells
            if c in cells and c not in withheld and c in known and not cells[c].is_empty
        ]

    def cheapest(options: Iterable[Hashable]) -> Hashable:
        return min(options, key=lambda c: (cells[c].cost, repr(c)))

    unprotected: set[Hashable] = set()
    by_cell: dict[Hashable, list[Relation]] = {}
    for relation in relations:
        for c in relation.cells:
            by_cell.setdefault(c, []).append(relation)

    def nearest_candidates(cell: Hashable) -> set[Hashable]:
        """Publishable cells in the relations of `cell`, or, when all of those are withheld
        already, in the relations of the withheld cells around it (breadth first)."""
        seen, frontier = {cell}, [cell]
        while frontier:
            options = {o for c in frontier for r in by_cell.get(c, ()) for o in candidates(r)}
            if options:
                return options
            frontier = [
                o
                for c in frontier
                for r in by_cell.get(c, ())
                for o in r.cells
                if o not in seen
                and (o in withheld or o in unreleased or o in fixed_withheld)
                and not seen.add(o)
            ]
        return set()

    while True:
        # Each relation: 0 or ≥ 2 protecting cells, to a fixed point.
        changed = True
        while changed:
            changed = False
            for relation in relations:
                hidden = [c for c in relation.cells if protecting(c)]
                singleton = (
                    len(hidden) == 2
                    and len(relation.cells) > 2
                    and any(c in cells and cells[c].hosts == 1 for c in hidden)
                )
                if singleton:
                    # The singleton problem: the one host of a withheld cell knows it, and so
                    # its partner by difference. A third withheld cell is needed (the LP
                    # audit checks that insider too, when no cell is left to withhold).
                    single = next(c for c in hidden if c in cells and cells[c].hosts == 1)
                    hidden = [c for c in hidden if c != single]
                if len(hidden) != 1 or not any(c in cells for c in relation.cells):
                    continue
                if not unreleased.get(hidden[0], True):
                    continue  # an unreleased cell the rules would publish may be worked out
                options = candidates(relation)
                if not options:
                    if not singleton:
                        unprotected.add(hidden[0])
                    continue
                withheld[cheapest(options)] = SECONDARY
                changed = True
        # The audit: solved together, the relations must determine no protecting cell.
        unknown = {c for c in present if protecting(c)}
        systems = [(relations, {c: c for c in unknown})]
        for n, hidden_then in enumerate(earlier_versions):
            # Withheld then and still protecting: the same unknown (taken as unchanged);
            # withheld then but empty or public now: that version's own unknown, which must
            # stay unknown as well (a unit that left must not be recovered by difference).
            names = {c: c if c in unknown else EarlierCell(n, c) for c in hidden_then}
            # Cells of neighbouring releases (and months never released) are the same
            # unknowns for every version of this month: not known values.
            names.update({c: c for c in unknown if c not in cells})
            systems.append((relations, names))
        exposed = {
            c.key if isinstance(c, EarlierCell) else c for c in determined_cells_together(systems)
        }
        # A withheld cell public before only by its rounded values (`known`) does not protect
        # the others, but its exact value may have changed under the rounding: that value must
        # not be worked out either (this version's published parts + what an earlier version
        # published around it). Checked on its own system, with those cells unknown as well.
        stale = {c for c in withheld if c in known and c in cells and not cells[c].is_empty}
        if stale:
            names = {c: c for c in unknown | stale}
            systems[0] = (relations, names)
            for n, hidden_then in enumerate(earlier_versions, start=1):
                then = {c: c if c in names else EarlierCell(n - 1, c) for c in hidden_then}
                then.update({c: c for c in names if c not in cells})
                systems[n] = (relations, then)
            exposed |= stale & determined_cells_together(systems)
        exposed = {c for c in exposed if unreleased.get(c, True)} - unprotected
        if not exposed:
            break
        for cell in sorted(exposed, key=repr):
            options = nearest_candidates(cell)
            if options:
                withheld[cheapest(options)] = SECONDARY
                break
            unprotected.add(cell)
    return Protection(withheld=withheld, unprotected=unprotected)


class EarlierCell(NamedTuple):
    """A cell's value in an earlier version of the release (the `version`-th), as an unknown."""

    version: int
    key: Hashable


def determined_cells(relations: Iterable[Relation], unknown: set[Hashable]) -> set[Hashable]:
    """The unknown cells whose value the relations fix, given every other cell's value."""
    return determined_cells_together([(relations, {c: c for c in unknown})])


def determined_cells_together(
    systems: Iterable[tuple[Iterable[Relation], Mapping[Hashable, Hashable]]],
) -> set[Hashable]:
    """The unknowns fixed by several systems of relations solved together. Each system names
    its unknown cells (cell → unknown); an unknown of the same name is the same value in all.

    Gauss–Jordan elimination in exact fractions over the unknowns' coefficients (+1 for a
    total, −1 for a part): an unknown is determined exactly when its pivot row has no entry in
    a free column.
    """
    pivots: dict[Hashable, dict[Hashable, Fraction]] = {}
    for relations, names in systems:
        for relation in relations:
            row: dict[Hashable, Fraction] = {}
            for cell, sign in ((relation.total, 1), *((p, -1) for p in relation.parts)):
                if cell in names:
                    name = names[cell]
                    row[name] = row.get(name, Fraction(0)) + sign
            _add_row({c: v for c, v in row.items() if v}, pivots)
    return {col for col, row in pivots.items() if len(row) == 1}


def _add_row(row: dict[Hashable, Fraction], pivots: dict[Hashable, dict[Hashable, Fraction]]):
    """Reduce `row` by the pivot rows; if anything is left, it becomes a new pivot row."""
    for col in [c for c in row if c in pivots]:
        factor = row.get(col)
        if not factor:
            continue
        for c, v in pivots[col].items():
            row[c] = row.get(c, Fraction(0)) - factor * v
        row = {c: v for c, v in row.items() if v}
    if not row:
        return
    col = min(row, key=repr)
    lead = row[col]
    row = {c: v / lead for c, v in row.items()}
    for other in list(pivots):
        factor = pivots[other].get(col)
        if factor:
            other_row = dict(pivots[other])
            for c, v in row.items():
                other_row[c] = other_row.get(c, Fraction(0)) - factor * v
            pivots[other] = {c: v for c, v in other_row.items() if v}
    pivots[col] = row


# --- rounding ----------------------------------------------------------------------------------


def round_to(value: int, base: int) -> int:
    """To the nearest multiple of `base`, halves up (0–2 → 0, 3–7 → 5 for base 5)."""
    if base <= 1:
        return value
    return (value + base // 2) // base * base


def percent(numerator: int, denominator: int) -> int | None:
    """A whole per cent, halves up, from unrounded numbers; None when there is no denominator."""
    if denominator <= 0:
        return None
    return (200 * numerator + denominator) // (2 * denominator)


def one_decimal(numerator: int, denominator: int) -> float | None:
    """A ratio to one decimal, halves up, from unrounded numbers; None without a denominator."""
    if denominator <= 0:
        return None
    return ((20 * numerator + denominator) // (2 * denominator)) / 10
