"""Cancellation refunds (DESIGN §6): what goes back to the guest, per component, in integer öre.

`refund_for` is pure — no database, no clock, no Flask — so the cancel page can show the exact
refund before the guest confirms, and the service that cancels, the payment provider and the
ledger all use the same numbers.

How the rules of DESIGN §6 are read here (the tests pin each one, to the second):

- **Where times live.** The check-in instant is the check-in date at the listing's check-in
  time, in the listing's time zone (zoneinfo, so DST is honoured). A wall time that does not
  exist (a 02:30 check-in on the spring-forward night) is read as before the jump, as zoneinfo
  does with `fold=0`.
- **Hours are elapsed time.** "≥ 24 h before check-in" and "within 48 h of booking" are
  durations on the real clock: the flexible deadline is 24 real hours before the check-in
  instant, which is 14:00 or 16:00 local the day before when a DST change falls in between.
- **Days are calendar days in the listing's zone.** "≥ 5 (7, 14, 30) days before check-in" means
  at or before the check-in wall time N dates earlier (check-in 31 March 15:00 → five days
  before is 26 March 15:00 local, even though only 119 real hours separate them across the
  spring change). That is the deadline a guest is shown ("cancel before 15:00 on 26 March").
- **Boundaries are inclusive on the guest's side.** Exactly 24 h / 5, 7, 30 days before is "≥"
  and refunds at the better rate; exactly 48 h after booking is still "within 48 h".
- **The 48-hour grace** (firm and strict) applies when the guest cancels within 48 h of the
  booking's creation *and* the cancellation itself is still ≥ 14 days before check-in. This is
  Airbnb's published wording ("cancel within 48 hours of booking and at least 14 days before
  check-in") and the reading that protects the host: the home always goes back on the market
  at least two weeks ahead. Measuring the 14 days from the booking's creation instead would let
  a guest who booked 15 days out cancel 13 days out for a full refund.
- **Unstayed nights** are the nights from the later of the check-in date and the cancellation's
  local date; "the next night" is the first of them (0 when none is left). So a guest cancelling
  on the evening of their first night pays that night and gets the rest (flexible), and after
  check-out nothing is left to refund.
- **"Before check-in"** (cleaning fee) is strictly before the check-in instant.
- **The service fee** comes back in the proportion nights refunded / nights' total price, half
  up. Its VAT and community-fund parts are reported too, proportionally and half up, so the
  ledger can reverse each account without rounding on its own (they are parts of
  `service_fee_ore`, not extra money). When the nights cost nothing there is no proportion, and
  the fee is kept.
- **Host or board** cancellation refunds everything the guest paid, at any time; whether a
  completed stay may still be cancelled is the lifecycle's decision (DESIGN §4), not this one's.
- **Never more than was paid**: if the components ever exceed `total_ore` (a booking stored
  inconsistently), the refund is cut back, service fee first, then cleaning, then nights.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from enum import StrEnum
from typing import Protocol
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from rentalcoop.cancellation_policy import CancellationPolicy

__all__ = ["CancellationPolicy", "CancelledBy", "Refund", "RefundableBooking", "refund_for"]


class CancelledBy(StrEnum):
    """Who cancels: only a guest's cancellation is subject to the policy."""

    GUEST = "guest"
    HOST = "host"
    BOARD = "board"


class RefundableBooking(Protocol):
    """What `refund_for` reads from a booking; all money in öre, stored when it was booked."""

    @property
    def check_in(self) -> date:
        """First night of the stay."""

    @property
    def check_out(self) -> date:
        """Day of departure, not a night (DESIGN §3)."""

    @property
    def created_at(self) -> datetime:
        """When the booking was made, tz-aware (UTC); starts the 48-hour grace."""

    @property
    def cancellation_policy(self) -> str:
        """A `CancellationPolicy` value, copied from the listing at booking."""

    @property
    def night_prices_ore(self) -> Sequence[int]:
        """The price of each night in stay order, overrides included."""

    @property
    def cleaning_fee_ore(self) -> int:
        """Cleaning fee charged on this booking."""

    @property
    def service_fee_ore(self) -> int:
        """Service fee the guest paid, VAT included (DESIGN §5)."""

    @property
    def fee_vat_ore(self) -> int:
        """The VAT part of the service fee (DESIGN §5 `fee_vat`)."""

    @property
    def community_ore(self) -> int:
        """The community-fund share of the service fee (DESIGN §5 `community`)."""

    @property
    def total_ore(self) -> int:
        """What the guest paid; no refund exceeds it."""

    @property
    def timezone(self) -> str:
        """The listing's IANA zone, e.g. "Europe/Stockholm"."""

    @property
    def check_in_time(self) -> time:
        """The listing's check-in wall time, e.g. 15:00."""


@dataclass(frozen=True, slots=True)
class Refund:
    """Öre going back to the guest, per component; `total_ore` is their sum.

    `fee_vat_ore` and `community_ore` are the parts *of* `service_fee_ore` that reverse VAT
    payable and the community fund; they are not added to the total.
    """

    nights_ore: int
    cleaning_ore: int
    service_fee_ore: int
    fee_vat_ore: int
    community_ore: int
    total_ore: int = field(init=False)

    def __post_init__(self) -> None:
        parts = (self.nights_ore, self.cleaning_ore, self.service_fee_ore)
        of_fee = (self.fee_vat_ore, self.community_ore)
        if min(parts + of_fee) < 0:
            raise ValueError(f"a refund cannot be negative: {parts}, of the fee {of_fee}")
        if sum(of_fee) > self.service_fee_ore:
            raise ValueError(f"VAT and community parts {of_fee} exceed the fee {parts[2]}")
        object.__setattr__(self, "total_ore", sum(parts))


def refund_for(booking: RefundableBooking, cancelled_at: datetime, by: CancelledBy) -> Refund:
    """Work out the refund a cancellation gives, so the guest sees it before confirming."""
    by = CancelledBy(by)
    policy = CancellationPolicy(booking.cancellation_policy)
    nights = list(booking.night_prices_ore)
    _check_booking(booking, nights)
    now = _as_utc("cancelled_at", cancelled_at)
    created = _as_utc("created_at", booking.created_at)
    if now < created:
        raise ValueError("a booking cannot be cancelled before it was made")

    all_nights = sum(nights)
    if by is not CancelledBy.GUEST:
        # Everything back, the whole service fee included (also when the nights cost nothing
        # and there is no proportion to apply).
        return _refund(
            booking, all_nights, booking.cleaning_fee_ore, all_nights, fee=booking.service_fee_ore
        )

    zone = _zone(booking.timezone)
    check_in = datetime.combine(booking.check_in, booking.check_in_time, tzinfo=zone)

    def days_before(days: int) -> datetime:
        # Aware datetime arithmetic is wall-clock arithmetic: N dates earlier, same local time.
        return (check_in - timedelta(days=days)).astimezone(UTC)

    def hours_before(hours: int) -> datetime:
        return check_in.astimezone(UTC) - timedelta(hours=hours)

    first_unstayed = max(booking.check_in, now.astimezone(zone).date())
    unstayed = nights[(first_unstayed - booking.check_in).days :]
    after_the_next_night = sum(unstayed[1:])
    in_grace = now <= created + timedelta(hours=48) and now <= days_before(14)

    if policy is CancellationPolicy.FLEXIBLE:
        nights_refund = all_nights if now <= hours_before(24) else after_the_next_night
    elif policy is CancellationPolicy.MODERATE:
        if now <= days_before(5):
            nights_refund = all_nights
        else:
            nights_refund = _percent(after_the_next_night, 50)
    elif policy is CancellationPolicy.FIRM:
        if now <= days_before(30) or in_grace:
            nights_refund = all_nights
        elif now <= days_before(7):
            nights_refund = _percent(all_nights, 50)
        else:
            nights_refund = 0
    else:  # strict
        if in_grace:
            nights_refund = all_nights
        elif now <= days_before(7):
            nights_refund = _percent(all_nights, 50)
        else:
            nights_refund = 0

    cleaning_refund = booking.cleaning_fee_ore if now < check_in.astimezone(UTC) else 0
    return _refund(booking, nights_refund, cleaning_refund, all_nights)


def _refund(
    booking: RefundableBooking,
    nights_refund: int,
    cleaning_refund: int,
    all_nights: int,
    *,
    fee: int | None = None,
) -> Refund:
    """Add the service fee (proportional unless given) and cap the whole at what was paid."""
    if fee is None:
        fee = _proportion(booking.service_fee_ore, nights_refund, all_nights)
    over = nights_refund + cleaning_refund + fee - booking.total_ore
    for_fee = min(fee, max(over, 0))
    fee, over = fee - for_fee, over - for_fee
    for_cleaning = min(cleaning_refund, max(over, 0))
    cleaning_refund, over = cleaning_refund - for_cleaning, over - for_cleaning
    nights_refund -= max(over, 0)
    vat = _proportion(booking.fee_vat_ore, fee, booking.service_fee_ore)
    # Rounding both parts up could make them one öre more than the fee; the fund gives way.
    community = min(_proportion(booking.community_ore, fee, booking.service_fee_ore), fee - vat)
    return Refund(
        nights_ore=nights_refund,
        cleaning_ore=cleaning_refund,
        service_fee_ore=fee,
        fee_vat_ore=vat,
        community_ore=community,
    )


def _percent(amount_ore: int, percent: int) -> int:
    """`percent` % of an amount in whole öre, half up (DESIGN §6)."""
    return (amount_ore * percent + 50) // 100


def _proportion(amount_ore: int, part: int, whole: int) -> int:
    """amount × part / whole in whole öre, half up; nothing when the whole is nothing."""
    if whole == 0:
        return 0
    return (2 * amount_ore * part + whole) // (2 * whole)


def _zone(name: str) -> ZoneInfo:
    """The listing's zone; an unknown name is a bad booking, like any other bad value."""
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError) as err:
        raise ValueError(f"unknown time zone {name!r}") from err


def _as_utc(name: str, moment: datetime) -> datetime:
    """Refuse a naive datetime: a cancellation deadline is an instant, not a wall time."""
    if moment.tzinfo is None or moment.utcoffset() is None:
        raise ValueError(f"{name} must be timezone-aware")
    return moment.astimezone(UTC)


def _check_booking(booking: RefundableBooking, nights: list[int]) -> None:
    """Refuse a booking whose stored amounts cannot be right, rather than refund a guess."""
    stay_length = (booking.check_out - booking.check_in).days
    if stay_length < 1 or len(nights) != stay_length:
        raise ValueError(
            f"{len(nights)} night prices for a stay of {stay_length} nights "
            f"({booking.check_in} to {booking.check_out})"
        )
    amounts = {
        "night price": min(nights),
        "cleaning fee": booking.cleaning_fee_ore,
        "service fee": booking.service_fee_ore,
        "fee VAT": booking.fee_vat_ore,
        "community share": booking.community_ore,
        "total": booking.total_ore,
    }
    for what, amount in amounts.items():
        if amount < 0:
            raise ValueError(f"{what} cannot be negative: {amount}")
    if booking.fee_vat_ore + booking.community_ore > booking.service_fee_ore:
        raise ValueError("the fee's VAT and community parts exceed the service fee")
