"""Issue 19: towns built so that an attack succeeded on the releases of issue 7 (an LP over
the downloaded JSON, with rounding intervals and non-negativity; an insider with one host's
own figures), each now failing; a correction, a re-run and months out of order; a release
the audit cannot protect is refused."""

from __future__ import annotations

from datetime import UTC, date, datetime

import pytest

from rentalcoop.extensions import db
from rentalcoop.stats import services
from rentalcoop.stats.models import StatsCell, StatsRelease
from tests import factories
from tests.stats.attack import attack_year
from tests.stats.towns import home, stay

APRIL = date(2026, 4, 10)
AUGUST = date(2026, 8, 10)


def homes(area, count: int, nights: int, ptype="entire_home", host=None, guests=2, month=3):
    """`count` homes of different hosts (or all of `host`), each one stay of `nights` nights
    from the 1st of the month."""
    made = []
    for _ in range(count):
        listing = home(area, host, ptype=ptype)
        if nights:
            stay(listing, date(2026, month, 1), nights=nights, guests=guests)
        made.append(listing)
    return made


def singleton_town():
    """A district's 4 entire homes (below the threshold) whose row partner is a shared room
    with one host: that host knows their own room and so the four homes' nights, to the
    rounding."""
    d1 = factories.area(code="D1", name="Ett")
    d2 = factories.area(code="D2", name="Två")
    homes(d1, 4, 25)
    homes(d1, 1, 2, "shared_room")
    homes(d2, 6, 20)
    homes(d2, 6, 10, "shared_room")
    db.session.commit()


def insider_town():
    """A host with a big home in a 4-home cell and the only shared room of the district: what
    they know of their own gives the other three hosts' nights away."""
    d1 = factories.area(code="D1", name="Ett")
    d2 = factories.area(code="D2", name="Två")
    big = factories.host()
    homes(d1, 1, 28, host=big)
    homes(d1, 3, 12)
    homes(d1, 6, 10, "private_room")
    homes(d1, 1, 9, "shared_room", host=big)
    homes(d2, 6, 20)
    homes(d2, 6, 10, "private_room")
    homes(d2, 6, 3, "shared_room")
    db.session.commit()


def bands_town():
    """Year-to-date bands: a withheld district of three units, all in the 1–30 band, next to
    districts whose bands are all published."""
    d1 = factories.area(code="D1", name="Ett")
    d2 = factories.area(code="D2", name="Två")
    d3 = factories.area(code="D3", name="Tre")
    homes(d1, 3, 6)
    homes(d2, 7, 12)
    homes(d3, 8, 0)
    homes(d3, 2, 20, "private_room")
    db.session.commit()


@pytest.mark.parametrize("town", [singleton_town, insider_town, bands_town])
def test_the_attacks_of_issue_19_fail(app, ctx, town):
    town()
    release = services.release_month("2026-03", today=APRIL)
    db.session.commit()
    found = attack_year(2026)
    assert found.checked > 0
    assert found.exact == []
    assert found.outside == []
    assert found.inside == []
    # The audit's result is stored with the release.
    assert release.audit["failing"] == 0
    assert release.audit["cells_checked"] > 0
    assert release.audit["narrowest_share"] >= 1


def test_months_released_out_of_order_do_not_leak(app, ctx):
    """July published while June was not, then June: June's small cells stay protected by
    May and July together (the audit counts months never released as unknowns)."""
    d1 = factories.area(code="D1", name="Ett")
    d2 = factories.area(code="D2", name="Två")
    small, large = homes(d1, 6, 0), homes(d2, 6, 0)
    for month in (5, 6, 7):
        # In June only two of D1's hosts had guests: its June cell is dominated.
        for listing in small if month != 6 else small[:2]:
            stay(listing, date(2026, month, 2), nights=9 if month != 6 else 20)
        for listing in large:
            stay(listing, date(2026, month, 3), nights=12)
    db.session.commit()
    for period in ("2026-05", "2026-07", "2026-06"):
        services.release_month(period, today=AUGUST)
        db.session.commit()
    found = attack_year(2026)
    assert found.checked > 0
    assert (found.exact, found.outside, found.inside) == ([], [], [])


def test_a_rerun_without_change_publishes_nothing_new_and_a_correction_what_it_can(app, ctx):
    """The utility bug: a correction next to a published month withheld every cell for good.
    Now a re-run finds nothing changed, and a correction keeps publishing."""
    d1 = factories.area(code="D1", name="Ett")
    d2 = factories.area(code="D2", name="Två")
    first_homes = homes(d1, 6, 9) + homes(d2, 6, 12)
    homes(d1, 2, 5, "private_room")
    for listing in first_homes:
        stay(listing, date(2026, 2, 3), nights=4)
    db.session.commit()
    today = date(2026, 5, 10)
    february = services.release_month("2026-02", today=today)
    db.session.commit()
    march = services.release_month("2026-03", today=today)
    db.session.commit()
    assert services.release_month("2026-03", today=today) is None
    stay(first_homes[0], date(2026, 3, 20), nights=6)
    db.session.commit()
    corrected = services.release_month("2026-03", today=today)
    db.session.commit()
    assert corrected.version == 2
    april = services.release_month("2026-04", today=today)
    db.session.commit()

    def published(release):
        return {(c.area_code, c.period_kind, c.property_type) for c in release.cells if not c.flag}

    assert published(february)
    assert published(march)
    assert len(published(corrected)) >= len(published(march)) - 3
    assert published(april)
    found = attack_year(2026)
    assert found.checked > 0
    assert (found.exact, found.outside, found.inside) == ([], [], [])


def test_a_release_the_audit_cannot_protect_is_refused(app, ctx):
    """Releases already out (here made by hand, unrounded) pin March's small district down:
    nothing March could withhold protects it, so the board gets a refusal, not a release."""
    d1 = factories.area(code="D1", name="Ett")
    d2 = factories.area(code="D2", name="Två")
    homes(d1, 3, 9)
    homes(d2, 6, 12)
    db.session.commit()
    exact = {**services.Rules().as_dict(), "round_counts": 1, "round_nights": 1}
    units = services.load_units(2026, 4)
    spans = services.SpanCells(units, 2026, ["D1", "D2"])
    for month in (2, 4):
        release = StatsRelease(
            period=f"2026-{month:02d}",
            version=1,
            parameters=exact,
            published_at=datetime(2026, 5, 1, tzinfo=UTC),
        )
        for key, cell in spans.release_cells(month).items():
            for measure, raw in cell.raw.items():
                if isinstance(raw, tuple):
                    continue
                release.cells.append(
                    StatsCell(
                        area_code=key.area,
                        period_kind=key.kind,
                        period_label="x",
                        property_type=key.ptype,
                        measure=measure,
                        value=raw,
                        flag="",
                    )
                )
        db.session.add(release)
    db.session.commit()
    with pytest.raises(services.ReleaseRefused) as refused:
        services.release_month("2026-03", today=date(2026, 5, 10))
    assert "2026-03" in refused.value.message
    assert (
        db.session.scalar(db.select(StatsRelease).where(StatsRelease.period == "2026-03")) is None
    )
