"""Releases in the database: the measures as defined, freezing, corrections, the command, the
job, and the attack fixtures of issue 7."""

from __future__ import annotations

from datetime import date

import pytest
from sqlalchemy import func, select

from rentalcoop.extensions import db
from rentalcoop.jobs import run_all
from rentalcoop.listings.models import Area, Listing, ListingState
from rentalcoop.stats import services
from rentalcoop.stats.disclosure import Rules
from rentalcoop.stats.models import StatsCell, StatsRelease
from tests import factories
from tests.stats.towns import assert_release_safe, cells_of, district, home, latest, stay

EXACT = Rules(min_units=1, min_hosts=1, dominance_pct=100, round_counts=1, round_nights=1)
APRIL = date(2026, 4, 10)


def test_measures_follow_their_definitions(app, ctx):
    a = factories.area(code="A01")
    b = factories.area(code="B01")
    whole = home(a)
    room = home(a, ptype="private_room", published_at=services_dt(2026, 3, 15))
    quiet = home(b)
    gone = home(b, state=ListingState.ARCHIVED)
    gone.updated_at = services_dt(2026, 1, 31)
    factories.listing(area=b, state=ListingState.DRAFT)  # never published: never counted
    factories.blocked(whole, date(2026, 3, 10), date(2026, 3, 11))
    stay(whole, date(2026, 3, 30), nights=4, guests=2, state="confirmed")  # 30, 31 | 1, 2 April
    stay(whole, date(2026, 3, 5), nights=2, guests=3, state="cancelled_by_guest")
    stay(room, date(2026, 3, 20), nights=2, guests=1)
    stay(quiet, date(2026, 1, 10), nights=31, guests=1)  # 10–31 Jan, 1–9 Feb
    db.session.commit()

    release = services.release_month("2026-03", today=APRIL, rules=EXACT)
    cells = cells_of(release)

    month_a = cells[("2026-03", "A01", "month", "all")]
    assert month_a["listed_units"] == 2
    assert month_a["active_units"] == 2
    assert month_a["booked_nights"] == 4  # two in March of the 4-night stay, two of the room
    assert month_a["guest_nights"] == 2 * 2 + 1 * 2
    assert month_a["stays"] == 2
    assert month_a["avg_stay_nights"] == 3.0  # (4 + 2) / 2: whole stays, by check-in month
    # Available: 31 − 2 blocked nights for the home, 15–31 March (17) for the room.
    assert month_a["occupancy_pct"] == round(100 * 4 / (29 + 17))
    month_b = cells[("2026-03", "B01", "month", "all")]
    assert month_b["listed_units"] == 1  # archived in January, the draft never listed
    assert month_b["booked_nights"] == 0
    assert month_b["occupancy_pct"] == 0
    assert month_b["avg_stay_nights"] is None

    ytd_b = cells[("2026-03", "B01", "ytd", "all")]
    assert ytd_b["listed_units"] == 2  # the archived home was listed in January
    assert ytd_b["booked_nights"] == 31
    assert ytd_b["stays"] == 1
    assert ytd_b["units_nights_0"] == 1
    assert ytd_b["units_nights_31_60"] == 1
    ytd_total = cells[("2026-03", "total", "ytd", "all")]
    assert sum(ytd_total[m] for m in services.BAND_MEASURES) == ytd_total["listed_units"] == 4
    assert ytd_total["units_nights_1_30"] == 2
    # March opens no quarter: Q1 to date = the year to date; no bands outside the year to date.
    assert cells[("2026-03", "total", "quarter", "all")]["booked_nights"] == 4 + 31
    assert "units_nights_0" not in cells[("2026-03", "total", "month", "all")]
    assert cells[("2026-03", "A01", "month", "private_room")]["listed_units"] == 1
    # A cell with no units is withheld too (it has fewer than the minimum), flagged empty inside.
    empty = cells[("2026-03", "total", "month", "shared_room")]
    assert empty["withheld"]
    assert empty["empty"]
    assert empty["listed_units"] is None
    assert release.parameters == EXACT.as_dict()


def services_dt(y, m, d):
    from datetime import UTC, datetime

    return datetime(y, m, d, 12, tzinfo=UTC)


def test_a_release_is_frozen_and_a_correction_supersedes_it(app, ctx):
    _area, homes = district("A01", 6)
    district("B01", 6)
    db.session.commit()
    first = services.release_month("2026-03", today=APRIL)
    db.session.commit()
    assert first.version == 1
    assert first.supersedes_id is None
    before = [
        (c.area_code, c.period_kind, c.property_type, c.measure, c.value, c.flag)
        for c in first.cells
    ]

    assert services.release_month("2026-03", today=APRIL) is None  # nothing changed

    stay(homes[0], date(2026, 3, 20), nights=7)
    db.session.commit()
    second = services.release_month("2026-03", today=APRIL)
    db.session.commit()
    assert second.version == 2
    assert second.supersedes_id == first.id
    db.session.expire_all()
    after = [
        (c.area_code, c.period_kind, c.property_type, c.measure, c.value, c.flag)
        for c in db.session.get(StatsRelease, first.id).cells
    ]
    assert after == before  # the published version never changes
    assert latest("2026-03").id == second.id
    assert_release_safe(second, [first])


def test_only_finished_months_named_yyyy_mm(app, ctx):
    for bad in ("2026-3", "2026-13", "26-03", "2026-03-01", "", "2026-00"):
        with pytest.raises(services.StatsError):
            services.release_month(bad, today=APRIL)
    with pytest.raises(services.StatsError):
        services.release_month("2026-04", today=APRIL)
    assert services.release_month("2026-03", today=date(2026, 4, 1)) is not None


def test_the_command_releases_and_then_finds_nothing_new(app, runner):
    result = runner.invoke(args=["stats", "release", "2026-03"])
    assert result.exit_code == 0, result.output
    assert "version 1" in result.output
    result = runner.invoke(args=["stats", "release", "2026-03"])
    assert result.exit_code == 0
    assert "nothing changed" in result.output
    result = runner.invoke(args=["stats", "release", "march"])
    assert result.exit_code != 0
    assert "-MM" in result.output  # the message names the form (ÅÅÅÅ-MM in Swedish)


def test_the_job_releases_last_month_once(app, ctx):
    assert run_all(only="stats-release") == {"stats-release": 1}
    assert run_all(only="stats-release") == {"stats-release": 0}
    periods = db.session.scalars(select(StatsRelease.period)).all()
    assert periods == [services.previous_month()]


# --- attack fixtures ------------------------------------------------------------------------


def test_a_district_with_four_units_is_withheld_and_cannot_be_recovered(app, ctx):
    district("A01", 4, nights_each=6)
    district("B01", 6)
    district("C01", 7)
    db.session.commit()
    release = services.release_month("2026-03", today=APRIL)
    cells = assert_release_safe(release)
    for kind in ("month", "quarter", "ytd"):
        assert cells[("2026-03", "A01", kind, "all")]["withheld"]
        assert cells[("2026-03", "A01", kind, "entire_home")]["withheld"]
        # The municipality total would give A01 away with B01 and C01 published: one more
        # district (the smaller) or the total is withheld too.
        partners = [cells[("2026-03", x, kind, "all")]["withheld"] for x in ("B01", "C01", "total")]
        assert any(partners)
    # A withheld cell has no value anywhere.
    values = db.session.scalars(
        select(func.count())
        .select_from(StatsCell)
        .where(StatsCell.flag == "c", StatsCell.value.is_not(None))
    ).one()
    assert values == 0


def test_dominance_by_one_host_with_ninety_percent(app, ctx):
    area = factories.area(code="A01", name="Distrikt A01")
    big = factories.host()
    homes = [home(area) for _ in range(5)]
    for listing in homes:
        stay(listing, date(2026, 3, 2), nights=1)  # 5 nights for five small hosts
    mine = home(area, big)
    for day in (1, 7, 13, 19, 25):
        stay(mine, date(2026, 3, day), nights=5)  # 25 … more below
    extra = home(area, big)
    for day in (1, 7, 13, 19):
        stay(extra, date(2026, 3, day), nights=5)  # the big host: 45 of 50 nights = 90 %
    district("B01", 6)
    district("C01", 6)
    db.session.commit()
    release = services.release_month("2026-03", today=APRIL)
    cells = assert_release_safe(release)
    assert release.cells  # written
    for kind in ("month", "quarter", "ytd"):
        assert cells[("2026-03", "A01", kind, "all")]["withheld"], kind
    reasons = services.plan_release("2026-03", Rules())[1].withheld
    assert any(r == "dominance" for k, r in reasons.items() if k.area == "A01")


def test_one_booking_between_two_versions_reveals_nothing(app, ctx):
    """Five balanced homes published in version 1; one late booking makes a host dominant in
    version 2. The difference of the totals of the two versions must not give it away."""
    area = factories.area(code="A01", name="Distrikt A01")
    homes = [home(area) for _ in range(5)]
    for listing in homes:
        stay(listing, date(2026, 3, 3), nights=2)
    district("B01", 6)
    district("C01", 8)
    db.session.commit()
    first = services.release_month("2026-03", today=APRIL)
    db.session.commit()
    assert not cells_of(first)[("2026-03", "A01", "month", "all")]["withheld"]

    stay(homes[0], date(2026, 3, 10), nights=14, guests=6)  # the correction: one booking
    db.session.commit()
    second = services.release_month("2026-03", today=APRIL)
    db.session.commit()
    cells = assert_release_safe(second, [first])
    assert cells[("2026-03", "A01", "month", "all")]["withheld"]
    # What version 1 withheld, version 2 still withholds.
    for key, cell in cells_of(first).items():
        if cell["withheld"]:
            assert cells[key]["withheld"], key


def test_a_withheld_cell_stays_withheld_when_it_grows(app, ctx):
    """Four units withheld in version 1; a fifth appears by the correction: still withheld."""
    area, homes = district("A01", 4)
    district("B01", 6)
    district("C01", 6)
    late = home(area, published_at=services_dt(2026, 4, 5))  # listed in April…
    db.session.commit()
    first = services.release_month("2026-03", today=APRIL)
    db.session.commit()
    stay(late, date(2026, 3, 20), nights=9)  # …but a March stay is found later
    db.session.commit()
    second = services.release_month("2026-03", today=APRIL)
    db.session.commit()
    cells = assert_release_safe(second, [first])
    assert cells[("2026-03", "A01", "month", "all")]["withheld"]
    assert cells[("2026-03", "A01", "month", "all")]["empty"] is False


def test_the_months_before_a_first_release_cannot_be_recovered_by_difference(app, ctx):
    """No February release exists, yet year to date − March = January–February, the nights of
    the four homes listed then: too few to publish, so March withholds what would give it."""
    area = factories.area(code="A01", name="Distrikt A01")
    old = [home(area) for _ in range(4)]
    for listing in old:
        stay(listing, date(2026, 2, 10), nights=2)
        stay(listing, date(2026, 3, 10), nights=2)
    for _ in range(2):
        stay(home(area, published_at=services_dt(2026, 3, 1)), date(2026, 3, 20), nights=2)
    district("B01", 6, month=(2026, 2))
    district("C01", 6, month=(2026, 2))
    for code in ("B01", "C01"):
        for listing in db.session.scalars(
            select(Listing).join(Area).where(Area.code == code)
        ).all():
            stay(listing, date(2026, 3, 15), nights=2)
    db.session.commit()
    release = services.release_month("2026-03", today=APRIL)
    cells = assert_release_safe(release)
    for ptype in ("all", "entire_home"):
        month = cells[("2026-03", "A01", "month", ptype)]
        ytd = cells[("2026-03", "A01", "ytd", ptype)]
        assert month["withheld"] or ytd["withheld"], ptype
