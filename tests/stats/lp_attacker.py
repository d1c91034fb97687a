"""An attacker with a linear program over the downloaded releases (the JSON export), written
apart from rentalcoop.stats.lpaudit so that it can check it.

The attacker has every release of the year as downloaded and knows: districts add up to the
municipality and property types to "all" (within a period); a quarter to date or year to date
is the sum of its months (nights, guest nights, stays); the month that opens a quarter is its
quarter to date, and Q1 to date is the year to date; the nights bands add up to the listed
units and the 0-night band is listed − active units; each published value lies in its
rounding interval (halves up); every count is ≥ 0. An insider also knows one host's own
figures. For a withheld cell it asks HiGHS the smallest and the largest value possible.
"""

from __future__ import annotations

from collections import defaultdict

import highspy
import numpy as np
from scipy.sparse import coo_array
from scipy.sparse.csgraph import connected_components

TOTAL, ALL = "total", "all"
SUMMED = ("booked_nights", "guest_nights", "stays")
BANDS = (
    "units_nights_0",
    "units_nights_1_30",
    "units_nights_31_60",
    "units_nights_61_90",
    "units_nights_91_180",
    "units_nights_181_plus",
)
COUNTED = ("listed_units", "active_units", *BANDS)
BASE = {m: "round_counts" for m in ("stays", *COUNTED)} | {
    "booked_nights": "round_nights",
    "guest_nights": "round_nights",
}


OPTIMAL = highspy.HighsModelStatus.kOptimal
UNBOUNDED = highspy.HighsModelStatus.kUnbounded


def first_month(kind: str, month: int) -> int:
    return {"month": month, "quarter": (month - 1) // 3 * 3 + 1, "ytd": 1}[kind]


class Attacker:
    """The equations and bounds from a list of JSON releases (every version of every month)."""

    def __init__(self, releases: list[dict]):
        """`releases` oldest version first."""
        self.releases = releases
        self.areas = sorted({c["area_code"] for r in releases for c in r["cells"]} - {TOTAL})
        self.types = sorted({c["property_type"] for r in releases for c in r["cells"]} - {ALL})
        self.months = sorted({int(r["release"]["period"][5:]) for r in releases})
        self.names: dict = {}
        self.rows: list[dict] = []
        self.bounds: dict = {}
        for release in releases:
            self._read(release)
        self._equations()

    def var(self, key) -> int:
        if key not in self.names:
            self.names[key] = len(self.names)
        return self.names[key]

    def key(self, month: int, kind: str, area: str, ptype: str, measure: str):
        """A cell-measure; a month opening its quarter is the same number as its quarter to
        date, Q1 to date the same as the year to date."""
        if kind == "month" and month % 3 == 1:
            kind = "quarter"
        if kind == "quarter" and month <= 3:
            kind = "ytd"
        return (month, kind, area, ptype, measure)

    def _read(self, release: dict) -> None:
        month = int(release["release"]["period"][5:])
        rules = release["rules"]
        for cell in release["cells"]:
            measure = cell["measure"]
            if measure not in SUMMED + COUNTED:
                continue
            key = self.key(
                month, cell["period_kind"], cell["area_code"], cell["property_type"], measure
            )
            self.var(key)
            if cell["flag"] == "c":
                continue
            base = int(rules[BASE[measure]])
            value = cell["value"]
            lo, hi = max(0, value - base // 2), value + base - 1 - base // 2
            if key in self.bounds:
                # Two versions of the month: the same value unless a correction changed it
                # (then the intervals may not meet, and the newer one counts).
                both = max(lo, self.bounds[key][0]), min(hi, self.bounds[key][1])
                if both[0] <= both[1]:
                    lo, hi = both
            self.bounds[key] = (lo, hi)

    def _equations(self) -> None:
        keys = list(self.names)
        present = set(keys)
        groups = defaultdict(set)
        for month, kind, _a, _t, measure in keys:
            groups[(month, kind, measure)].add(1)
        for month, kind, measure in groups:
            for area in [*self.areas, TOTAL]:
                self._sum(
                    self.key(month, kind, area, ALL, measure),
                    [self.key(month, kind, area, t, measure) for t in self.types],
                    present,
                )
            for ptype in [*self.types, ALL]:
                self._sum(
                    self.key(month, kind, TOTAL, ptype, measure),
                    [self.key(month, kind, a, ptype, measure) for a in self.areas],
                    present,
                )
        last = max(self.months)
        for month, kind, area, ptype, measure in keys:
            if measure in SUMMED and kind != "month":
                # The period is its months (months never released are unknowns of their own).
                start = first_month(kind, month)
                months = [("m", m, area, ptype, measure) for m in range(start, month + 1)]
                self._sum((month, kind, area, ptype, measure), months, None)
            if kind == "ytd" and measure == "listed_units":
                cell = (month, kind, area, ptype)
                self._sum((*cell, measure), [(*cell, b) for b in BANDS], present)
                self._sum((*cell, measure), [(*cell, "active_units"), (*cell, BANDS[0])], present)
        for m in range(1, last + 1):
            # A released month's own cells are its month variables.
            for area in [*self.areas, TOTAL]:
                for ptype in [*self.types, ALL]:
                    for measure in SUMMED:
                        own = self.key(m, "month", area, ptype, measure)
                        if own in present and own[1] == "month":
                            self._sum(own, [("m", m, area, ptype, measure)], None)
            # Unreleased months add up too.
            for measure in SUMMED:
                for area in [*self.areas, TOTAL]:
                    self._sum(
                        ("m", m, area, ALL, measure),
                        [("m", m, area, t, measure) for t in self.types],
                        None,
                    )
                for ptype in [*self.types, ALL]:
                    self._sum(
                        ("m", m, TOTAL, ptype, measure),
                        [("m", m, a, ptype, measure) for a in self.areas],
                        None,
                    )

    def _sum(self, total, parts, present) -> None:
        if present is not None and not all(k in present for k in (total, *parts)):
            return
        row = defaultdict(int)
        row[self.var(total)] += 1
        for p in parts:
            row[self.var(p)] -= 1
        self.rows.append({k: v for k, v in row.items() if v})

    def interval(self, key, own: dict | None = None, need=None) -> tuple[float, float]:
        """The smallest and largest value of `key` (for an insider: of the others' part).
        With `need` = (low, high): a side that a point already found reaches is that point's
        value (the interval is at least that wide), not its optimum."""
        if getattr(self, "_blocks", None) is None:
            self._start()
        block = self._blocks[self._block_of[self.names[key]]]
        bounds = block.outside.copy()
        if own:
            for k, value in own.items():
                i = block.local.get(self.names.get(k))
                if i is not None:
                    bounds[i] = (max(0, bounds[i, 0] - value), bounds[i, 1] - value)
        return block.interval(block.local[self.names[key]], bounds, need)

    def _start(self) -> None:
        """The equations split into independent blocks (variables no row links: the min and
        max of a cell over its block are those over the whole system), each given to HiGHS
        once."""
        n = len(self.names)
        r, c, d = [], [], []
        for i, row in enumerate(self.rows):
            for j, v in row.items():
                r.append(i)
                c.append(j)
                d.append(v)
        matrix = coo_array((d, (r, c)), shape=(len(self.rows), n)).tocsc()
        outside = np.zeros((n, 2))
        outside[:, 1] = np.inf
        for k, (lo, hi) in self.bounds.items():
            outside[self.names[k]] = (lo, hi)
        # Variables linked through a row (AᵀA ≠ 0) belong to one block.
        links = (matrix.T @ matrix).tocsr()
        count, self._block_of = connected_components(links, directed=False)
        self._blocks = []
        by_row = matrix.tocsr()
        # A row belongs to the block of any of its variables (rows that cancelled out: none).
        starts, ends = by_row.indptr[:-1], by_row.indptr[1:]
        first = np.where(
            ends > starts, by_row.indices[np.minimum(starts, len(by_row.indices) - 1)], -1
        )
        row_block = np.where(first >= 0, self._block_of[np.maximum(first, 0)], -1)
        for b in range(count):
            cols = np.nonzero(self._block_of == b)[0]
            rows = np.nonzero(row_block == b)[0]
            self._blocks.append(_Block(matrix[rows][:, cols], outside[cols], cols))


class _Block:
    """One independent part of the attacker's system in HiGHS: each LP changes only the bounds
    that differ from the last one and the objective, and starts from the last basis."""

    def __init__(self, matrix, outside: np.ndarray, cols: np.ndarray):
        self.local = {int(j): i for i, j in enumerate(cols)}
        self.outside = outside
        csc = matrix.tocsc()
        lp = highspy.HighsLp()
        lp.num_col_, lp.num_row_ = csc.shape[1], csc.shape[0]
        lp.col_cost_ = np.zeros(csc.shape[1])
        lp.col_lower_ = outside[:, 0].copy()
        lp.col_upper_ = np.minimum(outside[:, 1], highspy.kHighsInf)
        lp.row_lower_ = np.zeros(csc.shape[0])
        lp.row_upper_ = np.zeros(csc.shape[0])
        lp.a_matrix_.format_ = highspy.MatrixFormat.kColwise
        lp.a_matrix_.start_ = csc.indptr.astype(np.int32)
        lp.a_matrix_.index_ = csc.indices.astype(np.int32)
        lp.a_matrix_.value_ = csc.data.astype(float)
        self.highs = highspy.Highs()
        self.highs.setOptionValue("output_flag", False)
        self.highs.setOptionValue("presolve", "off")
        self.highs.passModel(lp)
        self.bounds = outside.copy()
        self.cost: int | None = None
        self.points: dict[bytes, list[np.ndarray]] = {}  # optima found, by the bounds they met

    def interval(self, j: int, bounds: np.ndarray, need=None) -> tuple[float, float]:
        points = self.points.setdefault(bounds.tobytes(), [])
        highs = self.highs
        out = []
        for sign in (1, -1):
            if need is not None and points:
                reach = min(p[j] for p in points) if sign == 1 else max(p[j] for p in points)
                if sign * reach <= sign * need[0 if sign == 1 else 1] + 1e-9:
                    out.append(reach)
                    continue
            changed = np.nonzero((bounds != self.bounds).any(axis=1))[0]
            if len(changed):
                highs.changeColsBounds(
                    len(changed),
                    changed.astype(np.int32),
                    bounds[changed, 0].copy(),
                    np.minimum(bounds[changed, 1], highspy.kHighsInf),
                )
                self.bounds = bounds
            if self.cost is not None:
                highs.changeColCost(self.cost, 0.0)
            highs.changeColCost(j, float(sign))
            self.cost = j
            highs.run()
            status = highs.getModelStatus()
            assert status in (OPTIMAL, UNBOUNDED), highs.modelStatusToString(status)
            value = highs.getInfo().objective_function_value
            out.append(np.inf if status == UNBOUNDED else sign * value)
            if status == OPTIMAL:
                points.append(np.array(highs.getSolution().col_value))
        return out[0], out[1]
