"""Run the LP attacker (tests/stats/lp_attacker.py) on every release of a year as downloaded,
and judge each withheld cell the rules withhold on their own (threshold, dominance) against
its protection interval: outside (every release) and inside (its largest host's own figures).
"""

from __future__ import annotations

from dataclasses import dataclass, field

from sqlalchemy import select

from rentalcoop.extensions import db
from rentalcoop.listings.models import Area
from rentalcoop.stats import exports, services
from rentalcoop.stats.models import StatsRelease
from tests.stats.lp_attacker import COUNTED, SUMMED, Attacker

PCT = 0.30


def primary(con) -> bool:
    """The rules of DESIGN §13, written again: ≥ 5 units, ≥ 3 hosts, the two largest hosts
    ≤ 85 % of nights and of guest nights."""
    if con.units < 5 or con.hosts < 3:
        return True
    for values in (con.nights_by_host, con.guest_nights_by_host):
        total = sum(values.values())
        top = sum(sorted(values.values(), reverse=True)[:2])
        if total and 100 * top > 85 * total:
            return True
    return False


def host_of_most(con, measure: str):
    values = {
        "booked_nights": con.nights_by_host,
        "guest_nights": con.guest_nights_by_host,
    }.get(measure) or getattr(con, "by_host", {}).get(measure, {})
    return max(values, key=lambda h: (values[h], repr(h)), default=None), values


@dataclass
class Findings:
    checked: int = 0
    exact: list = field(default_factory=list)
    outside: list = field(default_factory=list)
    inside: list = field(default_factory=list)

    def __bool__(self) -> bool:  # True when the attack succeeded somewhere
        return bool(self.exact or self.outside or self.inside)


def reach(value: float) -> tuple[float, float]:
    """The protection interval: the attacker must not be able to rule out either end."""
    return value * (1 - PCT), value + max(value * PCT, 1.0)


def judge(value: float, lo: float, hi: float) -> tuple[bool, bool]:
    """(recovered exactly, failing its ±30 % interval)."""
    exact = hi - lo < 0.5
    failing = lo > value * (1 - PCT) + 1e-6 or hi < value + max(value * PCT, 1.0) - 1e-6
    return exact, failing


def own_figures(attacker: Attacker, units, year: int, months: list[int], last: int, areas, host):
    """One host's own value of every cell-measure the attacker has."""
    mine = [u for u in units if u.host == host]
    own = {}
    for month in range(1, last + 1):
        for key, cell in services.compute_cells(mine, year, month, areas).items():
            for measure, value in cell.raw.items():
                if measure not in SUMMED + COUNTED or not value:
                    continue
                if month in months:
                    own[attacker.key(month, key.kind, key.area, key.ptype, measure)] = value
                if key.kind == "month" and measure in SUMMED:
                    own[("m", month, key.area, key.ptype, measure)] = value
    return own


def attack_year(year: int, *, insiders: bool = True) -> Findings:
    """Every published version of every month of `year`, downloaded, attacked."""
    releases = db.session.scalars(
        select(StatsRelease)
        .where(StatsRelease.period.like(f"{year}-%"), StatsRelease.published_at.is_not(None))
        .order_by(StatsRelease.period, StatsRelease.version)
    ).all()
    docs = [exports.release_json(r) for r in releases]
    return attack_docs(docs, year, insiders=insiders)


def attack_docs(docs: list[dict], year: int, *, insiders: bool = True, units=None, areas=None):
    attacker = Attacker(docs)
    months = attacker.months
    last = max(months)
    if areas is None:
        areas = list(db.session.scalars(select(Area.code)))
    if units is None:
        units = services.load_units(year, last)
    truth = {m: services.compute_cells(units, year, m, areas) for m in months}
    found = Findings()
    secret: dict = {}
    published: set = set()
    for doc in docs:
        month = int(doc["release"]["period"][5:])
        for c in doc["cells"]:
            if c["measure"] not in SUMMED + COUNTED:
                continue
            key = attacker.key(
                month, c["period_kind"], c["area_code"], c["property_type"], c["measure"]
            )
            if c["flag"] == "c":
                secret[key] = (month, c["period_kind"], c["area_code"], c["property_type"])
            else:
                published.add(key)
    own_cache: dict = {}
    inside: list = []
    singles: dict = {}
    for key, (month, kind, area, ptype) in secret.items():
        con = truth[month][services.CellKey(f"{year}-{month:02d}", area, kind, ptype)].contributions
        if con.hosts == 1 and key not in published:
            singles.setdefault((month, kind), set()).add(next(iter(con.nights_by_host)))
    for key, (month, kind, area, ptype) in sorted(secret.items(), key=repr):
        if key in published:
            continue
        cell = truth[month][services.CellKey(f"{year}-{month:02d}", area, kind, ptype)]
        con = cell.contributions
        if con.is_empty or not primary(con):
            continue
        measure = key[-1]
        value = cell.raw.get(measure) or 0
        found.checked += 1
        lo, hi = attacker.interval(key, need=reach(value))
        exact, failing = judge(value, lo, hi)
        if exact:
            found.exact.append((key, value, lo, hi))
        if failing:
            found.outside.append((key, value, lo, hi))
        if not insiders or con.hosts < 2:
            continue
        host, values = host_of_most(con, measure)
        # Insiders: the cell's largest host, and the one host of any withheld cell beside it
        # (the singleton problem).
        suspects = {host} | singles.get((month, kind), set())
        for suspect in sorted(suspects - {None}, key=repr):
            rest = value - values.get(suspect, 0)
            if rest > 0:
                inside.append((suspect, key, rest))
    # One insider at a time (the solver keeps their bounds from one LP to the next).
    for suspect, key, rest in sorted(inside, key=repr):
        if suspect not in own_cache:
            own_cache.clear()
            own_cache[suspect] = own_figures(attacker, units, year, months, last, areas, suspect)
        lo, hi = attacker.interval(key, own_cache[suspect], need=reach(rest))
        exact, failing = judge(rest, lo, hi)
        if exact:
            found.exact.append((key, "inside", rest, lo, hi))
        if failing:
            found.inside.append((key, suspect, rest, lo, hi))
    return found
