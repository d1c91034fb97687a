"""allocate: the largest remainder split of DESIGN §10, by hand-checked cases and properties."""

from __future__ import annotations

from fractions import Fraction

import pytest
from hypothesis import given
from hypothesis import strategies as st

from rentalcoop.ledger.allocation import allocate

amounts = st.integers(min_value=0, max_value=10**12)
weight_maps = st.dictionaries(
    st.integers(min_value=1, max_value=10_000), st.integers(min_value=0, max_value=400), max_size=30
)


@pytest.mark.parametrize(
    ("amount", "weights", "expected"),
    [
        # 100/3 = 33⅓ each; one leftover öre, all remainders and weights tie → smallest key.
        (100, {"a": 1, "b": 1, "c": 1}, {"a": 34, "b": 33, "c": 33}),
        (100, {"c": 1, "b": 1, "a": 1}, {"a": 34, "b": 33, "c": 33}),
        # Exact shares 0.5, 1, 1.5: remainders of a and c tie (3/6) → larger weight (c) wins.
        (3, {"a": 1, "b": 2, "c": 3}, {"a": 0, "b": 1, "c": 2}),
        # 14/3 = 4⅔ and 7/3 = 2⅓: the larger remainder gets the leftover öre.
        (7, {"x": 2, "y": 1}, {"x": 5, "y": 2}),
        # Shares 16⅔ ×3 and 50: two leftover öre to the two smallest keys among the tied.
        (100, {4: 3, 3: 1, 2: 1, 1: 1}, {1: 17, 2: 17, 3: 16, 4: 50}),
        # A year's surplus split by booked nights with no remainder at all.
        (1_000_000, {1: 120, 2: 45, 3: 35}, {1: 600_000, 2: 225_000, 3: 175_000}),
        # A zero weight gets nothing, even when there are leftover öre to give.
        (5, {"a": 0, "b": 1, "c": 1}, {"a": 0, "b": 3, "c": 2}),
        (1, {"only": 7}, {"only": 1}),
        # One öre over many equal weights: the smallest key takes it.
        (1, {k: 1 for k in range(10, 0, -1)}, {k: int(k == 1) for k in range(10, 0, -1)}),
        # Nothing to split, or nothing to split by: zeros for every key.
        (0, {"a": 3, "b": 1}, {"a": 0, "b": 0}),
        (500, {"a": 0, "b": 0}, {"a": 0, "b": 0}),
        (500, {}, {}),
    ],
)
def test_hand_checked_splits(amount, weights, expected):
    assert allocate(amount, weights) == expected


def test_keeps_the_keys_in_input_order():
    assert list(allocate(10, {"b": 1, "a": 1, "c": 0})) == ["b", "a", "c"]


def test_keys_may_be_any_orderable_type():
    result = allocate(10, {(2, "b"): 1, (1, "z"): 1, (1, "a"): 1})
    assert result == {(1, "a"): 4, (1, "z"): 3, (2, "b"): 3}


@pytest.mark.parametrize(
    ("amount", "weights", "error"),
    [
        (-1, {"a": 1}, ValueError),
        (10, {"a": 1, "b": -1}, ValueError),
        (10.0, {"a": 1}, TypeError),
        (10, {"a": 1.5}, TypeError),
        (10, {"a": True}, TypeError),
        (Fraction(10), {"a": 1}, TypeError),
    ],
)
def test_refuses_negative_or_inexact_input(amount, weights, error):
    with pytest.raises(error):
        allocate(amount, weights)


@given(amounts, weight_maps)
def test_shares_sum_to_the_amount_exactly(amount, weights):
    shares = allocate(amount, weights)
    assert shares.keys() == weights.keys()
    if sum(weights.values()) > 0:
        assert sum(shares.values()) == amount
    else:
        assert all(share == 0 for share in shares.values())


@given(amounts, weight_maps)
def test_each_share_is_less_than_one_ore_from_the_exact_share(amount, weights):
    total = sum(weights.values())
    shares = allocate(amount, weights)
    for key, weight in weights.items():
        exact = Fraction(amount * weight, total) if total else Fraction(0)
        assert abs(shares[key] - exact) < 1
        assert shares[key] >= 0


@given(amounts, weight_maps, st.randoms(use_true_random=False))
def test_does_not_depend_on_input_order(amount, weights, rnd):
    items = list(weights.items())
    rnd.shuffle(items)
    assert allocate(amount, dict(items)) == allocate(amount, weights)


@given(amounts, weight_maps)
def test_more_weight_never_gets_less(amount, weights):
    shares = allocate(amount, weights)
    for i, weight_i in weights.items():
        for j, weight_j in weights.items():
            if weight_i > weight_j:
                assert shares[i] >= shares[j]
            if weight_i == weight_j:
                assert abs(shares[i] - shares[j]) <= 1


@given(weight_maps)
def test_zero_amount_gives_zeros(weights):
    assert allocate(0, weights) == dict.fromkeys(weights, 0)


@given(amounts, st.lists(st.text(max_size=5), unique=True, max_size=20))
def test_zero_weights_give_zeros(amount, keys):
    assert allocate(amount, dict.fromkeys(keys, 0)) == dict.fromkeys(keys, 0)


@given(st.integers(min_value=1, max_value=10**9), weight_maps)
def test_leftover_goes_only_to_positive_weights(amount, weights):
    shares = allocate(amount, weights)
    assert all(shares[key] == 0 for key, weight in weights.items() if weight == 0)
