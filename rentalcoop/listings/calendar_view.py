"""Month grids for the host calendar and the guest's availability calendar."""

from __future__ import annotations

import calendar
from dataclasses import dataclass
from datetime import date, timedelta

from rentalcoop.listings import availability, services
from rentalcoop.listings.availability import add_months
from rentalcoop.listings.models import Listing


@dataclass(frozen=True)
class Day:
    night: date
    kind: str  # past, free, blocked, booked, imported, closed (outside notice or window)
    price_ore: int
    is_override: bool

    @property
    def is_free(self) -> bool:
        return self.kind == "free"


@dataclass(frozen=True)
class Month:
    first: date
    weeks: list[list[Day | None]]


def first_of_month(day: date) -> date:
    return day.replace(day=1)


def parse_month(value: str | None, default: date) -> date:
    """`YYYY-MM` → the first of that month; anything else → the month of `default`."""
    try:
        year, month = (int(part) for part in (value or "").split("-"))
        return date(year, month, 1)
    except ValueError:
        return first_of_month(default)


def months(listing: Listing, start: date, count: int, today: date) -> list[Month]:
    """`count` months from `start`'s month, with every night's state and price (two queries)."""
    first = first_of_month(start)
    end = add_months(first, count)
    taken = availability.unavailable_nights(listing.id, first, end)
    prices = services.night_prices(listing.id, first, end)
    earliest = today + timedelta(days=listing.advance_notice_days)
    latest = add_months(today, listing.booking_window_months)  # last bookable night is before
    result = []
    for n in range(count):
        month_first = add_months(first, n)
        weeks = []
        for week in calendar.Calendar(firstweekday=0).monthdatescalendar(
            month_first.year, month_first.month
        ):
            row: list[Day | None] = []
            for night in week:
                if night.month != month_first.month:
                    row.append(None)
                    continue
                if night < today:
                    kind = "past"
                elif night in taken:
                    kind = taken[night]
                elif night < earliest or night >= latest:
                    kind = "closed"
                else:
                    kind = "free"
                price = prices.get(night)
                row.append(Day(night, kind, price or listing.nightly_price_ore, price is not None))
            weeks.append(row)
        result.append(Month(month_first, weeks))
    return result


WEEK = [date(2024, 1, 1) + timedelta(days=n) for n in range(7)]  # a Monday-to-Sunday week


def weekday_names() -> list[str]:
    """Short weekday names, Monday first, in the current language (once per page)."""
    from rentalcoop.i18n import day

    return [day(d, "EEE") for d in WEEK]
