"""Issue 19's acceptance on the demo town: its months released after its last full month
(out of order), in order among themselves, and a correction of the last month; the
independent attacker (tests/stats/lp_attacker.py) with every published version finds no
withheld cell recovered exactly, none failing its ±30 % interval outside, none inside. The
whole year is benchmarks/stats_demo_year.py (too long for the suite)."""

from __future__ import annotations

from rentalcoop.demo import load_demo_data
from rentalcoop.stats import services
from tests.stats.attack import attack_year
from tests.stats.demo_year import correct, day_after, publish


def test_the_demo_towns_releases_survive_the_attack(app, ctx, demo_town):
    assert not load_demo_data()  # loaded already (`flask demo-data` published the last full month)
    year, last = services.parse_period(services.previous_month())
    today = day_after(year, last)
    months = [m for m in (1, 2, 3) if m < last]
    for month in months:
        assert publish(year, month, today) is not None
    corrected = correct(year, last, today)
    found = attack_year(year)
    assert found.checked > 0
    assert found.exact == []
    assert found.outside == []
    assert found.inside == []
    assert corrected.audit["failing"] == 0
