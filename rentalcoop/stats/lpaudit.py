"""The audit of a release before it is published: an attacker's linear program (DESIGN §13,
docs/statistics-disclosure.md). Pure: no database.

The attacker holds every published release of the year and knows how the tables add up:
districts sum to the municipality, property types to "all", the months of a period to the
period (quarter to date, year to date), the nights bands to the listed units and units with
no night to the listed units minus the active ones. Every published value only says that the
true value lies in its rounding interval, and every count is ≥ 0. For each cell the rules
withheld on their own (a *primary* suppression), the smallest and largest value the published
tables allow are found with HiGHS (highspy, the solver's own binding) and compared with
the cell's protection levels (τ-Argus, sdcTable: the feasible range must reach the true value
minus the lower and plus the upper level).

An **insider** is a host who also knows their own figures in every cell: their model is the
same with their contributions subtracted (the others' part of each cell, ≥ 0), and the part
of the cell that is not theirs must keep the same protection.

The variables are cells of *spans* — (first month, last month) of one year — so that a month
that opens its quarter and its quarter to date are one variable, as they are one number.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Hashable, Iterable, Mapping
from dataclasses import dataclass, field

import highspy
import numpy as np
from scipy.sparse import coo_array

TOTAL_AREA = "total"
ALL_TYPES = "all"
# Measures that add up over time (a period is the sum of its months).
ADDITIVE = ("booked_nights", "guest_nights", "stays")
BANDS = (
    "units_nights_0",
    "units_nights_1_30",
    "units_nights_31_60",
    "units_nights_61_90",
    "units_nights_91_180",
    "units_nights_181_plus",
)
# Measures of one span only (a unit listed in two months is one unit of both).
UNIT_MEASURES = ("listed_units", "active_units", *BANDS)
AUDITED = (*ADDITIVE, *UNIT_MEASURES)
TOLERANCE = 1e-6

Span = tuple[int, int]
Cell = tuple[Span, str, str]  # span, area code or "total", property type or "all"
Var = tuple[Cell, str]  # a cell's measure


def has_bands(span: Span) -> bool:
    """Bands are published for the year to date only: spans that start in January."""
    return span[0] == 1


@dataclass(frozen=True)
class Check:
    """One protection requirement: `measure` of `cell` (minus the insider's own part) must be
    able to lie anywhere in [value − lower, value + upper]."""

    cell: Cell
    measure: str
    value: float
    lower: float
    upper: float
    host: Hashable | None = None  # the insider; None: an outsider with every release


@dataclass
class Outcome:
    check: Check
    low: float  # the lowest value reached (exact, or a witness when certified in a batch)
    high: float

    @property
    def is_protected(self) -> bool:
        c = self.check
        return (
            self.low <= c.value - c.lower + TOLERANCE and self.high >= c.value + c.upper - TOLERANCE
        )

    @property
    def share(self) -> float:
        """How much of the protection levels the interval reaches (≥ 1: protected)."""
        c = self.check
        shares = []
        for reach, level in ((c.value - self.low, c.lower), (self.high - c.value, c.upper)):
            if level > 0:
                shares.append(reach / level)
        return min(shares, default=float("inf"))

    @property
    def is_exact(self) -> bool:
        return self.high - self.low < 0.5


@dataclass
class AuditResult:
    outcomes: list[Outcome] = field(default_factory=list)
    lp_solved: int = 0

    @property
    def failing(self) -> list[Outcome]:
        return [o for o in self.outcomes if not o.is_protected]

    @property
    def narrowest_share(self) -> float | None:
        shares = [o.share for o in self.outcomes if o.share != float("inf")]
        return min(shares) if shares else None

    def summary(self) -> dict:
        """What the release stores: cells checked, the narrowest interval, failures."""
        cells = {o.check.cell for o in self.outcomes}
        narrowest = self.narrowest_share
        return {
            "cells_checked": len(cells),
            "checks": len(self.outcomes),
            "insider_checks": sum(1 for o in self.outcomes if o.check.host is not None),
            "narrowest_share": None if narrowest is None else round(float(min(narrowest, 99.0)), 3),
            "failing": len(self.failing),
            "exact": sum(1 for o in self.outcomes if o.is_exact),
            "lp_solved": self.lp_solved,
        }


def protection_levels(value: float, pct: int) -> tuple[float, float]:
    """±pct % of the value; the upper level at least 1, so that nothing, not even a zero, is
    ever recovered exactly."""
    level = value * pct / 100
    return level, max(level, 1.0)


class Solver:
    """One HiGHS instance per model: the equations are passed once; each LP changes only the
    objective and the bounds that differ from the last one, and the dual simplex starts from
    the last optimal basis (a warm start). The LP solved is the same as from scratch: only
    the path to its optimum is shorter."""

    def __init__(self, matrix, bounds: np.ndarray):
        csc = matrix.tocsc()
        lp = highspy.HighsLp()
        lp.num_col_, lp.num_row_ = csc.shape[1], csc.shape[0]
        lp.col_cost_ = np.zeros(csc.shape[1])
        lp.col_lower_ = bounds[:, 0].copy()
        lp.col_upper_ = np.minimum(bounds[:, 1], highspy.kHighsInf)
        lp.row_lower_ = np.zeros(csc.shape[0])
        lp.row_upper_ = np.zeros(csc.shape[0])
        lp.a_matrix_.format_ = highspy.MatrixFormat.kColwise
        lp.a_matrix_.start_ = csc.indptr.astype(np.int32)
        lp.a_matrix_.index_ = csc.indices.astype(np.int32)
        lp.a_matrix_.value_ = csc.data.astype(float)
        self.highs = highspy.Highs()
        self.highs.setOptionValue("output_flag", False)
        self.highs.setOptionValue("presolve", "off")  # keeps the basis from one LP to the next
        self.highs.passModel(lp)
        self.bounds = bounds.copy()
        self.cost: dict[int, float] = {}

    def solve(self, objective: Mapping[int, float], bounds: np.ndarray):
        """Minimise Σ objective[j]·x[j] subject to the equations and `bounds`: (status, x),
        status "optimal", "unbounded" or None (anything else: certifies nothing)."""
        changed = np.nonzero((self.bounds != bounds).any(axis=1))[0]
        if len(changed):
            self.highs.changeColsBounds(
                len(changed),
                changed.astype(np.int32),
                bounds[changed, 0].copy(),
                np.minimum(bounds[changed, 1], highspy.kHighsInf),
            )
            self.bounds[changed] = bounds[changed]
        cost = {j: 0.0 for j in self.cost} | dict(objective)
        if cost:
            index = np.fromiter(cost, dtype=np.int32, count=len(cost))
            self.highs.changeColsCost(len(index), index, np.array([cost[j] for j in index]))
        self.cost = {j: c for j, c in objective.items() if c}
        self.highs.run()
        status = self.highs.getModelStatus()
        if status == highspy.HighsModelStatus.kOptimal:
            return "optimal", np.array(self.highs.getSolution().col_value)
        if status == highspy.HighsModelStatus.kUnbounded:
            return "unbounded", None
        return None, None


class Model:
    """The attacker's equations for one group of measures, built once per release audit."""

    def __init__(self, variables: list[Var], rows: list[list[tuple[Var, int]]]):
        self.index = {v: i for i, v in enumerate(variables)}
        self.variables = variables
        r, c, d = [], [], []
        for i, row in enumerate(rows):
            for var, coef in row:
                r.append(i)
                c.append(self.index[var])
                d.append(coef)
        self.matrix = coo_array((d, (r, c)), shape=(len(rows), len(variables))).tocsr()
        self.solver: Solver | None = None
        # Feasible points found so far (outside the insider's terms), kept across audits of
        # the same release: each is rechecked against the bounds of the audit at hand.
        self.points: list[np.ndarray] = []

    def vector(self, values: Mapping[Var, float]) -> np.ndarray:
        out = np.zeros(len(self.variables))
        for var, value in values.items():
            i = self.index.get(var)
            if i is not None:
                out[i] = value
        return out

    def bounds(
        self, intervals: Mapping[Var, tuple[float, float]], own: np.ndarray | None = None
    ) -> np.ndarray:
        """Each variable's bounds: its rounding interval when published, else [0, ∞); for an
        insider, those of the others' part (their own contribution subtracted, ≥ 0)."""
        out = np.empty((len(self.variables), 2))
        out[:, 0] = 0.0
        out[:, 1] = np.inf
        for var, (lo, hi) in intervals.items():
            i = self.index.get(var)
            if i is not None:
                out[i] = (lo, hi)
        if own is not None:
            out[:, 0] = np.maximum(0.0, out[:, 0] - own)
            out[:, 1] = out[:, 1] - own
        return out

    def solve_all(
        self,
        by_host: Mapping[Hashable, list[Check]],
        intervals: Mapping[Var, tuple[float, float]],
        truth: np.ndarray,
        own_of: Callable[[Hashable], np.ndarray],
        result: AuditResult,
    ) -> None:
        """Every check of this model, the outsider's first. Each LP's solution is a point the
        published tables allow (for an insider: plus their own figures), kept in a pool with
        the true values; a check a point of the pool (or, for an insider, a mix of one with the
        truth that leaves everyone else ≥ 0) carries beyond its level needs no LP of its own."""
        outside = self.bounds(intervals)
        pool = [truth, *(p for p in self.points if self._feasible(p, outside))]
        hosts = sorted(by_host, key=lambda h: (h is not None, repr(h)))
        for host in hosts:
            checks = [c for c in by_host[host] if (c.cell, c.measure) in self.index]
            if not checks:
                continue
            own = own_of(host) if host is not None else None
            bounds = self.bounds(intervals, own)
            for direction in (1, -1):
                reached = self._from_pool(checks, pool, truth, own, direction)
                self._reach(checks, bounds, direction, reached, pool, own, result)
                if direction == 1:
                    high = reached
                else:
                    low = reached
            for c in checks:
                result.outcomes.append(Outcome(c, low[c], high[c]))
        self.points = pool[1:]

    def _feasible(self, point: np.ndarray, bounds: np.ndarray) -> bool:
        """Whether a point found in an earlier audit still satisfies this audit's bounds (the
        equations are the same)."""
        return bool(
            (point >= bounds[:, 0] - TOLERANCE).all() and (point <= bounds[:, 1] + TOLERANCE).all()
        )

    def _from_pool(self, checks, pool, truth, own, direction) -> dict[Check, float]:
        """How far the points of the pool carry each check (in the insider's terms)."""
        points = np.array(pool)
        if own is not None:
            # The furthest mix λ·p + (1−λ)·truth whose every cell still holds the insider's
            # own part: others' share ≥ 0 (the truth always does).
            slack_truth = truth - own
            short = own - points  # > 0 where a point leaves less than the insider's own
            with np.errstate(divide="ignore", invalid="ignore"):
                limits = np.where(short > 1e-9, slack_truth / (slack_truth + short), 1.0)
            lam = np.clip(limits.min(axis=1), 0.0, 1.0)[:, None]
            points = lam * points + (1 - lam) * truth - own
        reached = {}
        for c in checks:
            column = points[:, self.index[(c.cell, c.measure)]]
            best = column.max() if direction == 1 else column.min()
            reached[c] = max(best, c.value) if direction == 1 else min(best, c.value)
        return reached

    def _reach(self, checks, bounds, direction, reached, pool, own, result) -> None:
        """Push each check not yet carried far enough. A batch LP pushes all the pending
        cells at once, each capped at its level (so one cell cannot take the whole objective);
        the cells left are solved one by one, to their exact extreme."""
        column = {c: self.index[(c.cell, c.measure)] for c in checks}

        def need(c: Check) -> float:
            return c.value + c.upper if direction == 1 else c.value - c.lower

        def done(c: Check) -> bool:
            if direction == 1:
                return reached[c] >= need(c) - TOLERANCE
            return reached[c] <= need(c) + TOLERANCE

        pending = [c for c in checks if not done(c)]
        batch = len(pending) > 1
        while pending:
            targets = pending if batch else pending[:1]
            objective: dict[int, float] = defaultdict(float)
            lp_bounds = bounds
            if batch:
                lp_bounds = bounds.copy()
            for c in targets:
                objective[column[c]] -= direction / max(c.upper, 1.0)
                if batch:
                    j = column[c]
                    if direction == 1:
                        lp_bounds[j, 1] = min(lp_bounds[j, 1], need(c))
                    else:
                        lp_bounds[j, 0] = max(lp_bounds[j, 0], need(c))
            if self.solver is None:
                self.solver = Solver(self.matrix, lp_bounds)
            status, x = self.solver.solve(objective, lp_bounds)
            result.lp_solved += 1
            if status == "unbounded" and not batch:  # the cell can grow without end
                reached[targets[0]] = np.inf * direction
            elif status == "optimal":
                pool.append(x + own if own is not None else x)
                for c in pending:
                    value = float(x[column[c]])
                    if direction == 1:
                        reached[c] = max(reached[c], value)
                    else:
                        reached[c] = min(reached[c], value)
            # Anything else (infeasible, a numerical failure) certifies nothing: fail closed.
            left = [c for c in pending if not done(c)]
            if not batch:
                left = [c for c in left if c is not targets[0]]
            elif len(left) == len(pending):
                batch = False
            pending = left


@dataclass
class World:
    """What the audit sees: the table's dimensions, the spans in the year's releases, the true
    values (for the protection levels only), and the published intervals."""

    areas: list[str]
    types: list[str]
    months: int  # the months 1..months of the year exist as variables of the additive measures
    spans: set[Span]  # spans published by some release (units groups exist for these)
    intervals: dict[Var, tuple[float, float]]
    true_value: Callable[[Var], float]
    host_values: Callable[[Hashable], Mapping[Var, int]]
    # Models with their solvers and feasible points, built once for every audit of a release
    # (the equations depend on the dimensions only; the intervals change between audits).
    models: dict[tuple, tuple[Model, np.ndarray]] = field(default_factory=dict, repr=False)

    def all_areas(self) -> list[str]:
        return [*self.areas, TOTAL_AREA]

    def all_types(self) -> list[str]:
        return [*self.types, ALL_TYPES]

    def margins(self, span: Span, measure: str) -> list[list[tuple[Var, int]]]:
        rows = []
        for area in self.all_areas():
            rows.append(
                [
                    (((span, area, ALL_TYPES), measure), 1),
                    *((((span, area, t), measure), -1) for t in self.types),
                ]
            )
        for ptype in self.all_types():
            rows.append(
                [
                    (((span, TOTAL_AREA, ptype), measure), 1),
                    *((((span, a, ptype), measure), -1) for a in self.areas),
                ]
            )
        return rows

    def additive_spans(self) -> list[Span]:
        return sorted({(m, m) for m in range(1, self.months + 1)} | set(self.spans))

    def additive_model(self, measure: str) -> Model:
        spans = self.additive_spans()
        variables = [
            ((s, a, t), measure) for s in spans for a in self.all_areas() for t in self.all_types()
        ]
        rows = []
        for span in spans:
            rows += self.margins(span, measure)
            first, last = span
            if first < last:
                for a in self.all_areas():
                    for t in self.all_types():
                        rows.append(
                            [
                                (((span, a, t), measure), 1),
                                *(((((m, m), a, t), measure), -1) for m in range(first, last + 1)),
                            ]
                        )
        return Model(variables, rows)

    def units_model(self, span: Span) -> Model:
        measures = UNIT_MEASURES if has_bands(span) else UNIT_MEASURES[:2]
        cells = [(span, a, t) for a in self.all_areas() for t in self.all_types()]
        variables = [(c, m) for c in cells for m in measures]
        rows = []
        for m in measures:
            rows += self.margins(span, m)
        if has_bands(span):
            for c in cells:
                rows.append([((c, "listed_units"), 1), *(((c, b), -1) for b in BANDS)])
                rows.append(
                    [((c, "listed_units"), 1), ((c, "active_units"), -1), ((c, BANDS[0]), -1)]
                )
        return Model(variables, rows)

    def relations_of(self, cell: Cell) -> list[list[Cell]]:
        """The cells that share a sum relation with `cell` (for choosing what to suppress)."""
        span, area, ptype = cell
        out = [
            [(span, area, t) for t in self.all_types()],
            [(span, a, ptype) for a in self.all_areas()],
        ]
        first, last = span
        if first < last:
            out.append([cell, *(((m, m), area, ptype) for m in range(first, last + 1))])
        else:
            for other in self.spans:
                if other[0] <= first <= other[1] and other[0] < other[1]:
                    out.append(
                        [
                            (other, area, ptype),
                            *(((m, m), area, ptype) for m in range(other[0], other[1] + 1)),
                        ]
                    )
        return out


def audit(world: World, checks: Iterable[Check]) -> AuditResult:
    """Solve every check against the published intervals (outsiders) and, for insiders, with
    the insider's own figures subtracted."""
    result = AuditResult()
    by_model: dict[tuple, dict[Hashable, list[Check]]] = defaultdict(lambda: defaultdict(list))
    for check in checks:
        span = check.cell[0]
        if check.measure in ADDITIVE:
            key = ("additive", check.measure)
        elif span in world.spans:
            key = ("units", span)
        else:
            continue
        by_model[key][check.host].append(check)
    for key, by_host in by_model.items():
        if key not in world.models:
            model = (
                world.additive_model(key[1]) if key[0] == "additive" else world.units_model(key[1])
            )
            truth = model.vector({v: world.true_value(v) for v in model.variables})
            world.models[key] = (model, truth)
        model, truth = world.models[key]

        def own_of(host, model=model):
            return model.vector(world.host_values(host))

        model.solve_all(by_host, world.intervals, truth, own_of, result)
    return result
