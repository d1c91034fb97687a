"""The demo town's year of releases, for the attack test and benchmarks/stats_demo_year.py:
months released in a given order, and a correction (a home that was missed, with a stay).

A correction here changes only the corrected month and what comes after it, and the months
after it are released later (or not yet): the attacker (tests/stats/lp_attacker.py) reads
every version as figures of one and the same data, so a later month published before the
correction, whose year to date still holds the old figures, would make its system
inconsistent (it stops there: HiGHS finds it infeasible)."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

from sqlalchemy import select

from rentalcoop.extensions import db
from rentalcoop.listings.models import Area
from rentalcoop.stats import services
from rentalcoop.stats.models import StatsRelease
from tests.stats.towns import home, stay


def publish(year: int, month: int, today: date) -> StatsRelease | None:
    """`flask stats release` for one month, committed."""
    release = services.release_month(f"{year}-{month:02d}", today=today)
    db.session.commit()
    return release


def correct(year: int, month: int, today: date) -> StatsRelease:
    """A home that had been missed, listed from the 1st of `month`, with a ten-night stay in
    it, and the month released again: a new version."""
    area = db.session.scalars(select(Area).order_by(Area.code)).first()
    listing = home(area, published_at=datetime(year, month, 1, 8, tzinfo=UTC))
    stay(listing, date(year, month, 3), nights=10, guests=3)
    db.session.commit()
    release = publish(year, month, today)
    assert release is not None
    assert release.version > 1
    return release


def day_after(year: int, month: int) -> date:
    return services.month_end(year, month) + timedelta(days=1)
