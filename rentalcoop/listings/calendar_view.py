"""Month grids for the host calendar and the guest's availability calendar."""

from __future__ import annotations

import calendar
from dataclasses import dataclass
from datetime import date, timedelta

from markupsafe import Markup, escape

from rentalcoop.listings import availability, pricing
from rentalcoop.listings.availability import add_months
from rentalcoop.listings.models import Listing


@dataclass(frozen=True)
class Day:
    night: date
    kind: str  # past, free, blocked, booked, imported, closed (outside notice or window)
    price_ore: int
    is_override: bool


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
    prices = pricing.night_overrides([listing.id], first, end)[listing.id]
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


_GUEST_KINDS = ("past", "free")  # a guest sees every other kind as "unavailable"


def month_table(
    month: Month, week: list[str], labels: dict, month_id: str, caption: str, host: bool
) -> Markup:
    """The table of `month_grid` (listings/_parts.html): ~40 cells of markup a month, joined
    here rather than through Jinja's per-expression lookups, calls and escapes. `labels` are
    the grid's translated state words; every value is escaped as Jinja's autoescape would."""
    month_id = escape(month_id)
    out = [
        f'<table class="month" aria-labelledby="{month_id}">\n'
        f'  <caption id="{month_id}">{escape(caption)}</caption>\n'
        "  <thead><tr>",
        *(f'<th scope="col">{escape(name)}</th>' for name in week),
        "</tr></thead>\n  <tbody>\n  ",
    ]
    labels = {kind: escape(label) for kind, label in labels.items()}
    for row in month.weeks:
        out.append("\n    <tr>\n    ")
        for cell in row:
            if cell is None:
                out.append('\n      <td class="day day--empty"></td>\n      \n    ')
                continue
            kind = cell.kind
            shown = kind if host or kind in _GUEST_KINDS else "unavailable"
            override = " day--override" if host and cell.is_override else ""
            price = (
                f'<span class="day__price">{cell.price_ore // 100}</span>'
                if host and kind != "past"
                else ""
            )
            out.append(
                f'\n      \n      <td class="day day--{escape(shown)}{override}" '
                f'data-night="{cell.night.isoformat()}" data-state="{escape(kind)}">\n'
                f'        <span class="day__number">{cell.night.day}</span>\n'
                f'        <span class="visually-hidden">{labels[kind]}</span>\n'
                f"        {price}\n"
                "      </td>\n      \n    "
            )
        out.append("\n    </tr>\n  ")
    out.append("\n  </tbody>\n</table>")
    return Markup("".join(out))  # noqa: S704 - every value above went through escape()
