"""Issue 19, the property: on random towns, no withheld cell the rules withhold on their own
has an LP interval narrower than its protection levels, for an outsider or an insider (the
independent attacker of tests/stats/lp_attacker.py, over the release as exported)."""

from __future__ import annotations

from hypothesis import HealthCheck, Phase, given, settings

from rentalcoop.stats import services
from rentalcoop.stats.disclosure import Rules
from tests.stats.attack import attack_docs
from tests.stats.test_disclosure import AREAS, towns

RULES = Rules()


def as_json(period: str, rows) -> dict:
    """The release as exports.release_json writes it (the fields the attacker reads)."""
    return {
        "release": {"period": period, "version": 1},
        "rules": RULES.as_dict(),
        "cells": [
            {
                "area_code": area,
                "period_kind": kind,
                "property_type": ptype,
                "measure": measure,
                "value": value,
                "flag": flag,
            }
            for area, kind, _label, ptype, measure, value, flag, _empty in rows
        ],
    }


@settings(
    max_examples=6,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow],
    phases=[Phase.explicit, Phase.reuse, Phase.generate],
)
@given(towns())
def test_no_withheld_cell_is_narrower_than_its_protection(town):
    year, month, units = town
    month = 1 + month % 2  # January or February (February: January is an unknown as well)
    period = f"{year}-{month:02d}"
    plan = services.plan_from(period, RULES, AREAS, units, [])
    assert plan.audit.failing == []
    found = attack_docs([as_json(period, plan.rows)], year, units=units, areas=list(AREAS))
    assert found.exact == []
    assert found.outside == []
    assert found.inside == []
