"""`quote` equals DESIGN §5: hand-worked tables, rounding edges, overrides, fee versions."""

from __future__ import annotations

from datetime import UTC, date, datetime
from fractions import Fraction

import pytest
from hypothesis import given
from hypothesis import strategies as st

from rentalcoop.listings.pricing import (
    FeeRates,
    PricingError,
    fee_parts,
    fee_schedule_in_force,
    price_stay,
    quote,
    quotes_for,
)
from tests import factories

FOUNDING = FeeRates(1500, 5000, 2500)
D = date(2027, 6, 1)


def half_up(value: Fraction) -> int:
    """Round a non-negative exact value to the nearest integer, halves up (the §5 intent)."""
    return int(value + Fraction(1, 2))


def oracle(accommodation: int, rates: FeeRates) -> tuple[int, int, int, int]:
    """DESIGN §5 stated in exact fractions, independent of the integer tricks."""
    service_fee = half_up(Fraction(accommodation * rates.fee_bps, 10_000))
    fee_net = half_up(Fraction(service_fee * 10_000, 10_000 + rates.vat_bps))
    community = half_up(Fraction(fee_net * rates.community_bps, 10_000))
    return service_fee, service_fee - fee_net, fee_net, community


# accommodation, (service_fee, fee_vat, fee_net, community), worked by hand with founding rates.
TABLE = [
    (190_000, (28_500, 5_700, 22_800, 11_400)),  # 2 × 800 kr + 300 kr cleaning
    (10_000, (1_500, 300, 1_200, 600)),
    (10, (2, 0, 2, 1)),  # 1.5 öre fee rounds up to 2; community 1.0
    (30, (5, 1, 4, 2)),  # 4.5 öre fee rounds up to 5; 5 / 1.25 = 4
    (10_007, (1_501, 300, 1_201, 601)),  # 1 501 / 1.25 = 1 200.8 → 1 201; half of it 600.5 → 601
    (3, (0, 0, 0, 0)),  # 0.45 öre rounds down
    (123_456_789, (18_518_518, 3_703_704, 14_814_814, 7_407_407)),
]


@pytest.mark.parametrize(("accommodation", "expected"), TABLE)
def test_fee_parts_table(accommodation, expected):
    assert fee_parts(accommodation, FOUNDING) == expected
    assert oracle(accommodation, FOUNDING) == expected


@given(
    accommodation=st.integers(min_value=0, max_value=10**10),
    fee_bps=st.integers(min_value=0, max_value=10_000),
    community_bps=st.integers(min_value=0, max_value=10_000),
    vat_bps=st.integers(min_value=0, max_value=10_000),
)
def test_fee_parts_equal_the_exact_rounding(accommodation, fee_bps, community_bps, vat_bps):
    rates = FeeRates(fee_bps, community_bps, vat_bps)
    service_fee, fee_vat, fee_net, community = fee_parts(accommodation, rates)
    assert (service_fee, fee_vat, fee_net, community) == oracle(accommodation, rates)
    assert fee_vat + fee_net == service_fee
    assert 0 <= community <= fee_net


def test_price_stay_totals():
    nights = [(D, 80_000), (date(2027, 6, 2), 80_000)]
    q = price_stay(D, date(2027, 6, 3), 2, nights, 30_000, FOUNDING)
    assert q.nights == 2
    assert q.nights_ore == 160_000
    assert q.accommodation_ore == 190_000
    assert q.service_fee_ore == 28_500
    assert q.community_ore == 11_400
    assert q.total_ore == 218_500
    assert q.host_payout_ore == 190_000
    assert q.price_lines == [(2, 80_000)]


def test_minimum_total_is_three_kronor():
    # 261 öre of accommodation + 39 öre fee = 300: allowed; 260 + 39 = 299: refused.
    assert price_stay(D, date(2027, 6, 2), 1, [(D, 261)], 0, FOUNDING).total_ore == 300
    with pytest.raises(PricingError):
        price_stay(D, date(2027, 6, 2), 1, [(D, 260)], 0, FOUNDING)


def test_quote_uses_overrides_and_cleaning(app, ctx):
    home = factories.listing(nightly_price_ore=100_000, cleaning_fee_ore=25_050, max_guests=4)
    factories.night_price(home, date(2027, 6, 2), 150_000)
    factories.night_price(home, date(2027, 6, 9), 1)  # outside the stay: ignored
    q = quote(home, D, date(2027, 6, 4), 3, at=datetime(2026, 12, 1, tzinfo=UTC))
    assert [price for _night, price in q.night_prices] == [100_000, 150_000, 100_000]
    assert q.nights_ore == 350_000
    assert q.accommodation_ore == 375_050
    expected = oracle(375_050, FOUNDING)
    assert (q.service_fee_ore, q.fee_vat_ore, q.fee_net_ore, q.community_ore) == expected
    assert q.total_ore == 375_050 + expected[0]
    assert q.price_lines == [(2, 100_000), (1, 150_000)]
    assert (q.fee_bps, q.community_bps, q.vat_bps) == (1500, 5000, 2500)
    assert q.fee_schedule_version_id is not None


def test_quote_refuses_bad_stays(app, rctx):
    home = factories.listing(max_guests=2)
    with pytest.raises(PricingError):
        quote(home, D, D, 1)
    with pytest.raises(PricingError):
        quote(home, date(2027, 6, 3), D, 1)
    with pytest.raises(PricingError):
        quote(home, D, date(2027, 6, 2), 3)
    with pytest.raises(PricingError):
        quote(home, D, date(2027, 6, 2), 0)


def test_fee_version_in_force_follows_swedish_dates(app, ctx):
    founding = fee_schedule_in_force(datetime(2026, 12, 31, 12, tzinfo=UTC))
    assert (founding.fee_bps, founding.community_bps, founding.vat_bps) == (1500, 5000, 2500)
    later = factories.fee_version(date(2027, 1, 1), fee_bps=1200, community_bps=6000)
    # 23:30 UTC on New Year's Eve is already 1 January in Stockholm.
    assert fee_schedule_in_force(datetime(2026, 12, 31, 22, 59, tzinfo=UTC)).id == founding.id
    assert fee_schedule_in_force(datetime(2026, 12, 31, 23, 30, tzinfo=UTC)).id == later.id
    home = factories.listing(nightly_price_ore=100_000)
    before = quote(home, D, date(2027, 6, 2), 1, at=datetime(2026, 6, 1, tzinfo=UTC))
    after = quote(home, D, date(2027, 6, 2), 1, at=date(2027, 3, 1))
    assert before.service_fee_ore == 15_000
    assert after.service_fee_ore == 12_000
    assert after.community_ore == oracle(100_000, FeeRates(1200, 6000, 2500))[3]


def test_quotes_for_many_listings_use_constant_queries(app, ctx, count_queries):
    homes = [factories.listing(nightly_price_ore=50_000 + n) for n in range(12)]
    for home in homes:
        factories.night_price(home, D, 70_000)
    with count_queries() as counter:
        quotes = quotes_for(homes, D, date(2027, 6, 3), 2)
    assert counter.count == 2
    assert all(quotes[h.id].nights_ore == 70_000 + h.nightly_price_ore for h in homes)
