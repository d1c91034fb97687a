"""The independent attacker itself: on a table that leaks it finds the leak (so that its
silence on the releases means something), and its shortcut — a side of an interval that an
optimum already found reaches needs no LP of its own — reports the same verdicts."""

from __future__ import annotations

from tests.stats.attack import judge, reach
from tests.stats.lp_attacker import Attacker

MARCH = "2026-03"


def doc(values: dict[tuple[str, str], int | None], base: int = 1) -> dict:
    """March's booked nights by (area, type); None: withheld."""
    return {
        "release": {"period": MARCH, "version": 1},
        "rules": {"round_counts": base, "round_nights": base},
        "cells": [
            {
                "area_code": area,
                "period_kind": "month",
                "property_type": ptype,
                "measure": "booked_nights",
                "value": value,
                "flag": "c" if value is None else "",
            }
            for (area, ptype), value in values.items()
        ],
    }


def key(area: str, ptype: str = "entire_home"):
    return (3, "month", area, ptype, "booked_nights")


def table(d1, d2, total):
    return {
        ("D1", "entire_home"): d1,
        ("D2", "entire_home"): d2,
        ("total", "entire_home"): total,
        ("D1", "all"): d1,
        ("D2", "all"): d2,
        ("total", "all"): total,
    }


def test_a_cell_withheld_alone_in_its_margin_is_recovered():
    attacker = Attacker([doc(table(None, 20, 50))])
    lo, hi = attacker.interval(key("D1"), need=reach(30))
    assert (lo, hi) == (30, 30)
    assert judge(30, lo, hi) == (True, True)


def test_rounding_and_two_withheld_cells_leave_the_range_open():
    attacker = Attacker([doc(table(None, None, 50), base=10)])
    assert attacker.interval(key("D1")) == (0, 54)  # 50 published: 45…54 nights
    # With what it needs to reach, the same verdict from points already found.
    for area, value in (("D1", 30), ("D2", 20)):
        lo, hi = attacker.interval(key(area), need=reach(value))
        assert judge(value, lo, hi) == (False, False)
        assert 0 <= lo <= hi <= 54


def test_an_insider_with_their_own_figures_recovers_the_rest():
    """D1's 30 nights: the insider has 25 of them and knows D2 (all theirs, 20)."""
    attacker = Attacker([doc(table(None, 20, 50))])
    own = {key("D1"): 25, key("D2"): 20, key("total"): 45}
    own |= {(3, "month", a, "all", "booked_nights"): v for a, v in (("D1", 25), ("D2", 20))}
    own[(3, "month", "total", "all", "booked_nights")] = 45
    lo, hi = attacker.interval(key("D1"), own, need=reach(5))
    assert (lo, hi) == (5, 5)
    assert judge(5, lo, hi) == (True, True)
