"""Helpers for the statistics tests: small towns in the database, and an attacker who reads the
stored cells (exactly what the exports show) and solves every sum relation among them."""

from __future__ import annotations

from datetime import UTC, date, datetime

from rentalcoop.extensions import db
from rentalcoop.stats.models import StatsRelease
from tests import factories
from tests.stats import audit

PUBLISHED = datetime(2025, 6, 1, tzinfo=UTC)


def home(area, host=None, ptype="entire_home", **fields):
    """A listing published long before the months under test."""
    return factories.listing(
        host=host or factories.host(),
        area=area,
        property_type=ptype,
        published_at=fields.pop("published_at", PUBLISHED),
        max_guests=fields.pop("max_guests", 6),
        **fields,
    )


def stay(listing, check_in: date, nights: int = 2, guests: int = 2, state: str = "completed"):
    return factories.booking(
        listing=listing, check_in=check_in, nights=nights, guests=guests, state=state
    )


def district(code: str, units: int, nights_each: int = 2, *, month=(2026, 3), hosts=None):
    """A district with `units` homes of different hosts (or of `hosts`), each booked for
    `nights_each` nights in the month (two-night stays from the 1st, 5th, 9th …)."""
    area = factories.area(code=code, name=f"Distrikt {code}")
    homes = []
    for n in range(units):
        owner = hosts[n % len(hosts)] if hosts else None
        listing = home(area, owner)
        homes.append(listing)
        day = 1
        left = nights_each
        while left > 0:
            length = min(2, left)
            stay(listing, date(*month, day), nights=length)
            left -= length
            day += 4
    return area, homes


def cells_of(release: StatsRelease) -> dict:
    """key (period, area, kind, type) → {"withheld": bool, "empty": bool, measure: value}."""
    out: dict = {}
    for cell in release.cells:
        key = (release.period, cell.area_code, cell.period_kind, cell.property_type)
        entry = out.setdefault(key, {"withheld": False, "empty": False})
        entry["withheld"] = cell.flag == "c"
        entry["empty"] = cell.is_empty
        entry[cell.measure] = cell.value
    return out


def assert_release_safe(release: StatsRelease, earlier_versions=()):
    """The attacker's check on stored cells: every sum relation has 0 or ≥ 2 withheld cells
    with units, and solving all of them — with the earlier versions of the month, a cell
    withheld in both taken as unchanged — pins no withheld value down."""
    cells = cells_of(release)
    areas = sorted({k[1] for k in cells} - {"total"})
    types = sorted({k[3] for k in cells} - {"all"})
    relations = audit.all_relations(release.period, areas, types)
    hidden = {k for k, c in cells.items() if c["withheld"] and not c["empty"]}
    for total, parts in relations:
        assert len([c for c in (total, *parts) if c in hidden]) != 1, (total, parts)
    system = list(relations)
    unknown = set(hidden)
    for n, earlier in enumerate(earlier_versions, start=1):
        before = cells_of(earlier)

        def var(key, n=n, before=before):
            # Withheld in both: the same unknown; otherwise this version's own value.
            if before[key]["withheld"] and not before[key]["empty"] and key in hidden:
                return key
            return (*key, n)

        for total, parts in relations:
            system.append((var(total), [var(p) for p in parts]))
        unknown |= {var(k) for k, c in before.items() if c["withheld"] and not c["empty"]}
    assert audit.exposed(system, unknown) == set()
    return cells


def latest(period: str) -> StatsRelease:
    return db.session.scalars(
        db.select(StatsRelease)
        .where(StatsRelease.period == period)
        .order_by(StatsRelease.version.desc())
    ).first()
