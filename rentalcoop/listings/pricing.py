"""What a stay costs: one function, `quote`, for search cards, the listing page and bookings.

DESIGN §5, all integer öre:

    accommodation = Σ nightly price of each night (override or base) + cleaning_fee
    service_fee   = (accommodation * fee_bps + 5_000) // 10_000     # guest pays, VAT included
    fee_vat       = service_fee - (service_fee * 10_000 + (10_000 + vat_bps) // 2)
                                  // (10_000 + vat_bps)
    fee_net       = service_fee - fee_vat
    community     = (fee_net * community_bps + 5_000) // 10_000     # to the community fund
    total         = accommodation + service_fee                      # ≥ 300 öre
    host_payout   = accommodation                                    # hosts pay no fee

The rates come from the fee schedule version in force at `at` (the moment the booking is made).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import Date, bindparam, select

from rentalcoop.db import utcnow
from rentalcoop.errors import DomainError
from rentalcoop.extensions import db
from rentalcoop.i18n import _l
from rentalcoop.listings import reads
from rentalcoop.listings.models import FeeScheduleVersion, Listing, NightPrice

# The cooperative's dates (fee schedule decisions, "today") are Swedish calendar dates.
COOP_TZ = ZoneInfo("Europe/Stockholm")
# The smallest amount a card payment can be (Stripe's minimum charge in SEK is 3 kr).
MINIMUM_TOTAL_ORE = 300
BPS = 10_000


class PricingError(DomainError):
    status_code = 422


@dataclass(frozen=True)
class FeeRates:
    fee_bps: int
    community_bps: int
    vat_bps: int
    version_id: int | None = None


@dataclass(frozen=True)
class Quote:
    """The price of one stay, with every part the guest sees and the booking stores."""

    check_in: date
    check_out: date
    guests: int
    night_prices: tuple[tuple[date, int], ...]
    nights_ore: int
    cleaning_fee_ore: int
    accommodation_ore: int
    service_fee_ore: int
    fee_vat_ore: int
    fee_net_ore: int
    community_ore: int
    total_ore: int
    host_payout_ore: int
    fee_bps: int
    community_bps: int
    vat_bps: int
    fee_schedule_version_id: int | None

    @property
    def nights(self) -> int:
        return len(self.night_prices)

    @property
    def price_lines(self) -> list[tuple[int, int]]:
        """(number of nights, price per night), one line per distinct price, cheapest first."""
        counts: dict[int, int] = {}
        for _night, price in self.night_prices:
            counts[price] = counts.get(price, 0) + 1
        return [(count, price) for price, count in sorted(counts.items())]


def fee_parts(accommodation_ore: int, rates: FeeRates) -> tuple[int, int, int, int]:
    """(service_fee, fee_vat, fee_net, community) of an accommodation amount, DESIGN §5."""
    service_fee = (accommodation_ore * rates.fee_bps + 5_000) // BPS
    divisor = BPS + rates.vat_bps
    fee_vat = service_fee - (service_fee * BPS + divisor // 2) // divisor
    fee_net = service_fee - fee_vat
    community = (fee_net * rates.community_bps + 5_000) // BPS
    return service_fee, fee_vat, fee_net, community


def price_stay(
    check_in: date,
    check_out: date,
    guests: int,
    night_prices: Iterable[tuple[date, int]],
    cleaning_fee_ore: int,
    rates: FeeRates,
) -> Quote:
    """The pure arithmetic of DESIGN §5 over given night prices (no database)."""
    nights = tuple(night_prices)
    nights_ore = sum(price for _night, price in nights)
    accommodation = nights_ore + cleaning_fee_ore
    service_fee, fee_vat, fee_net, community = fee_parts(accommodation, rates)
    total = accommodation + service_fee
    if total < MINIMUM_TOTAL_ORE:
        raise PricingError(_l("This stay costs less than the smallest amount we can charge."))
    return Quote(
        check_in=check_in,
        check_out=check_out,
        guests=guests,
        night_prices=nights,
        nights_ore=nights_ore,
        cleaning_fee_ore=cleaning_fee_ore,
        accommodation_ore=accommodation,
        service_fee_ore=service_fee,
        fee_vat_ore=fee_vat,
        fee_net_ore=fee_net,
        community_ore=community,
        total_ore=total,
        host_payout_ore=accommodation,
        fee_bps=rates.fee_bps,
        community_bps=rates.community_bps,
        vat_bps=rates.vat_bps,
        fee_schedule_version_id=rates.version_id,
    )


def coop_date(at: datetime | date | None = None) -> date:
    """The Swedish calendar date of an instant (now when None)."""
    if at is None:
        at = utcnow()
    if isinstance(at, datetime):
        if at.tzinfo is None:
            raise ValueError("naive datetime given where UTC is required")
        return at.astimezone(COOP_TZ).date()
    return at


def fee_schedule_in_force(at: datetime | date | None = None) -> FeeScheduleVersion:
    """The fee schedule version in force on the coop date of `at` (now when None)."""
    return db.session.get(FeeScheduleVersion, fee_rates_in_force(at).version_id)


@reads.once
def _rates_statement():
    return (
        select(
            FeeScheduleVersion.fee_bps,
            FeeScheduleVersion.community_bps,
            FeeScheduleVersion.vat_bps,
            FeeScheduleVersion.id,
        )
        .where(FeeScheduleVersion.effective_from <= bindparam("on", type_=Date))
        .order_by(FeeScheduleVersion.effective_from.desc())
        .limit(1)
    )


def fee_rates_in_force(at: datetime | date | None = None) -> FeeRates:
    """The rates of the fee schedule version in force on the coop date of `at` (now when
    None), read without building the ORM object."""
    on = coop_date(at)
    found = reads.rows(_rates_statement(), {"on": on})
    if not found:  # the founding version is created by the migration
        raise LookupError(f"no fee schedule in force on {on}")
    return FeeRates(*found[0])


@reads.once
def _overrides_statement():
    return select(NightPrice.listing_id, NightPrice.night, NightPrice.price_ore).where(
        NightPrice.listing_id.in_(bindparam("ids", expanding=True)),
        NightPrice.night >= bindparam("start", type_=Date),
        NightPrice.night < bindparam("end", type_=Date),
    )


def night_overrides(
    listing_ids: Iterable[int], check_in: date, check_out: date
) -> dict[int, dict[date, int]]:
    """Per-night price overrides of several listings in [check_in, check_out), in one query."""
    ids = list(listing_ids)
    found: dict[int, dict[date, int]] = {listing_id: {} for listing_id in ids}
    if not ids:
        return found
    rows = reads.rows(_overrides_statement(), {"ids": ids, "start": check_in, "end": check_out})
    for listing_id, night, price in rows:
        found[listing_id][night] = price
    return found


def stay_nights(check_in: date, check_out: date) -> list[date]:
    return [check_in + timedelta(days=n) for n in range((check_out - check_in).days)]


# A stay longer than a year is not a short-term rental; pricing never expands more nights
# than this (issue 12: check_out=9999-12-31 cost seconds of CPU).
MAX_STAY_NIGHTS = 365


def _check_stay_shape(listing: Listing, check_in: date, check_out: date, guests: int) -> None:
    if check_out <= check_in:
        raise PricingError(_l("Check-out must be after check-in."))
    if (check_out - check_in).days > MAX_STAY_NIGHTS:
        raise PricingError(_l("A stay can be at most %(count)s nights."), count=MAX_STAY_NIGHTS)
    if guests < 1 or guests > listing.max_guests:
        raise PricingError(
            _l("This home takes at most %(count)s guests."), count=listing.max_guests
        )


def quote(
    listing: Listing,
    check_in: date,
    check_out: date,
    guests: int,
    at: datetime | date | None = None,
    *,
    overrides: Mapping[date, int] | None = None,
    rates: FeeRates | None = None,
) -> Quote:
    """The price of a stay at `listing`, with the fee rates in force at `at` (default: now).

    `overrides` and `rates` may be passed when already loaded (search prices many listings with
    one query each); otherwise they are read here. Availability and stay rules are not checked:
    see `rentalcoop.listings.availability`.
    """
    _check_stay_shape(listing, check_in, check_out, guests)
    if overrides is None:
        overrides = night_overrides([listing.id], check_in, check_out)[listing.id]
    if rates is None:
        rates = fee_rates_in_force(at)
    nights = stay_nights(check_in, check_out)
    return _priced(listing, check_in, check_out, guests, nights, overrides, rates)


def _priced(
    listing: Listing,
    check_in: date,
    check_out: date,
    guests: int,
    nights: list[date],
    overrides: Mapping[date, int],
    rates: FeeRates,
) -> Quote:
    """DESIGN §5 for a stay whose shape is checked: each night at its own price or the
    listing's, plus cleaning and the fee."""
    base = listing.nightly_price_ore
    prices = [(night, overrides.get(night, base)) for night in nights]
    return price_stay(check_in, check_out, guests, prices, listing.cleaning_fee_ore, rates)


def quotes_for(
    listings: Iterable[Listing],
    check_in: date,
    check_out: date,
    guests: int,
    at: datetime | date | None = None,
    *,
    priced_nights: Iterable[int] | None = None,
) -> dict[int, Quote | None]:
    """Quotes for many listings in two queries (overrides, fee schedule); None where invalid.

    `priced_nights`, when the caller knows it, lists the homes with a price override in the
    stay: only theirs are read (none: one query fewer).
    """
    homes = list(listings)
    if not homes:
        return {}
    overrides = night_overrides(
        (home.id for home in homes) if priced_nights is None else priced_nights,
        check_in,
        check_out,
    )
    rates = fee_rates_in_force(at)
    nights = stay_nights(check_in, check_out)  # the same nights for every home
    quotes: dict[int, Quote | None] = {}
    for home in homes:
        # What `quote` does, with the nights worked out once for the page.
        try:
            _check_stay_shape(home, check_in, check_out, guests)
            own = overrides.get(home.id, {})
            quotes[home.id] = _priced(home, check_in, check_out, guests, nights, own, rates)
        except PricingError:
            quotes[home.id] = None
    return quotes
