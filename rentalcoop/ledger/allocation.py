"""Split an amount of öre over weights exactly, by the largest remainder method (DESIGN §10).

The fiscal-year close splits the distributable surplus D over host-members by booked nights;
a stay that crosses a year end splits its fee over its nights. Both need every öre accounted for
(Σ shares = D), nobody more than one öre from their exact share, and a result that does not
depend on the order the members happen to be listed in — which the usual "leftover to the first
in the list" splits (Fowler's allocate, RubyMoney) do not give.
"""

from __future__ import annotations

from collections.abc import Hashable, Mapping
from typing import TypeVar

K = TypeVar("K", bound=Hashable)


def allocate(amount_ore: int, weights: Mapping[K, int]) -> dict[K, int]:
    """Split `amount_ore` over `weights` in whole öre, summing exactly, order-independently.

    Hamilton's largest remainder method in integers: with N = Σ n_i, each key first gets
    q_i = D*n_i // N; the leftover L = D − Σ q_i öre go one each to the L keys with the largest
    remainders D*n_i % N, ties broken by larger weight, then smaller key. Keys need only be
    orderable among themselves (they are compared only to break a full tie).

    A zero amount, or weights that are all zero (or no weights at all), give zero to every key:
    there is nothing to split by, so the caller keeps the amount (DESIGN §10 carries it).
    Negative amounts or weights raise ValueError; non-integers raise TypeError, because a float
    would silently break the exact sums.
    """
    _check_ore("amount_ore", amount_ore)
    for key, weight in weights.items():
        _check_ore(f"weight of {key!r}", weight)

    total_weight = sum(weights.values())
    if amount_ore == 0 or total_weight == 0:
        return dict.fromkeys(weights, 0)

    shares: dict[K, int] = {}
    remainders: dict[K, int] = {}
    for key, weight in weights.items():
        shares[key], remainders[key] = divmod(amount_ore * weight, total_weight)

    leftover = amount_ore - sum(shares.values())
    # leftover < the number of non-zero remainders, so a zero weight never gets an extra öre.
    ranked = sorted(weights, key=lambda key: (-remainders[key], -weights[key], key))
    for key in ranked[:leftover]:
        shares[key] += 1
    return shares


def _check_ore(what: str, value: int) -> None:
    """Refuse anything but a non-negative int (bool is an int in Python, but never a weight)."""
    if isinstance(value, bool) or not isinstance(value, int):
        raise TypeError(f"{what} must be an int, not {type(value).__name__}")
    if value < 0:
        raise ValueError(f"{what} must not be negative, got {value}")
