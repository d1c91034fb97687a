"""Month grids for the host calendar and the guest's availability calendar."""

from __future__ import annotations

import calendar
from collections.abc import Callable
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


@dataclass(frozen=True)
class Picker:
    """What choosing each day of the guest's calendar does: a link that sets the check-in
    (`"in"`) or, once a check-in is chosen, the check-out (`"out"`), so the dates can be picked
    by clicking without JavaScript. `href` makes each link from the night and its action."""

    check_in: date | None
    check_out: date | None
    actions: dict[date, str]
    href: Callable[[date, str], str]

    def chosen(self, night: date) -> str | None:
        """`start`, `end` or `stay` (a night between) when `night` is in the chosen stay."""
        if self.check_in is None:
            return None
        if night == self.check_in:
            return "start"
        if self.check_out is None:
            return None
        if night == self.check_out:
            return "end"
        return "stay" if self.check_in < night < self.check_out else None


def picker(
    listing: Listing,
    shown: list[Month],
    check_in: date | None,
    check_out: date | None,
    href: Callable[[date, str], str],
) -> Picker:
    """The clickable days: any free night starts a stay; with only a check-in chosen, each day
    that ends a stay of allowed length whose nights are all free ends it (the check-out day
    itself may be taken: it is not a night, DESIGN §3)."""
    kinds = {cell.night: cell.kind for m in shown for row in m.weeks for cell in row if cell}
    actions = {night: "in" for night, kind in kinds.items() if kind == "free"}
    if check_in is not None and check_out is None:
        actions.pop(check_in, None)
        night = check_in
        for nights in range(1, listing.max_nights + 1):
            if kinds.get(night) != "free":
                break
            night = check_in + timedelta(days=nights)
            if night not in kinds:
                break
            if nights >= listing.min_nights:
                actions[night] = "out"
    return Picker(check_in, check_out, actions, href)


WEEK = [date(2024, 1, 1) + timedelta(days=n) for n in range(7)]  # a Monday-to-Sunday week


def weekday_names() -> list[str]:
    """Short weekday names, Monday first, in the current language (once per page)."""
    from rentalcoop.i18n import day

    return [day(d, "EEE") for d in WEEK]


_GUEST_KINDS = ("past", "free")  # a guest sees every other kind as "unavailable"


def month_table(
    month: Month,
    week: list[str],
    labels: dict,
    month_id: str,
    caption: str,
    host: bool,
    picks: Picker | None = None,
) -> Markup:
    """The table of `month_grid` (listings/_parts.html): ~40 cells of markup a month, joined
    here rather than through Jinja's per-expression lookups, calls and escapes. `labels` are
    the grid's translated state words (and, with `picks`, the words for choosing a day and for
    the chosen stay); every value is escaped as Jinja's autoescape would."""
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
            night = cell.night.isoformat()
            inner = (
                f'<span class="day__number">{cell.night.day}</span>'
                f'<span class="visually-hidden"> {labels[kind]}</span>'
            )
            chosen = ""
            if picks is not None:
                where = picks.chosen(cell.night)
                if where:
                    chosen = f" day--chosen day--chosen-{where}"
                    inner += f'<span class="visually-hidden">, {labels["chosen-" + where]}</span>'
                action = picks.actions.get(cell.night)
                if action:
                    inner = (
                        f'<a class="day__link" href="{escape(picks.href(cell.night, action))}" '
                        f'data-pick="{action}">{inner}'
                        f'<span class="visually-hidden">, {labels["pick-" + action]}</span></a>'
                    )
            out.append(
                f'\n      <td class="day day--{escape(shown)}{override}{chosen}" '
                f'data-night="{night}" data-state="{escape(kind)}">\n'
                f"        {inner}\n"
                f"        {price}\n"
                "      </td>\n    "
            )
        out.append("\n    </tr>\n  ")
    out.append("\n  </tbody>\n</table>")
    return Markup("".join(out))  # noqa: S704 - every value above went through escape()
