"""Availability search (DESIGN §3, §15): one SQL query decides which listings are free.

The query filters on the listing row (state, area, capacity, price, type, instant book, stay
rules) and asks each unavailable-night source `NOT EXISTS` over (listing_id, night). It is
ordered like an index (`state, [area_id,] nightly_price_ore, id` or `state, published_at, id`)
so the database walks candidates in result order and stops at the page size instead of ranking
them all. Counting is bounded too: it looks at no more than 1 001 candidates (DESIGN §15: keep a
search to about 1 000 candidates), so the page says "1 000+" or, when dates leave only some of
those free, "at least so many" — never a count that grows with the town.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass, field
from datetime import date

from sqlalchemy import ColumnElement, func, select

from rentalcoop.extensions import db
from rentalcoop.listings import availability, photos, pricing
from rentalcoop.listings.models import Listing, ListingPhoto, ListingState

PAGE_SIZE = 20
COUNT_CAP = 1000  # shown as "1 000+"
MAX_PAGE = COUNT_CAP // PAGE_SIZE


class Sort(enum.StrEnum):
    PRICE = "price"
    NEWEST = "newest"


@dataclass(frozen=True)
class Criteria:
    area_id: int | None = None
    check_in: date | None = None
    check_out: date | None = None
    guests: int | None = None
    min_price_ore: int | None = None
    max_price_ore: int | None = None
    property_type: str | None = None
    instant_only: bool = False
    sort: Sort = Sort.PRICE
    page: int = 1

    @property
    def has_stay(self) -> bool:
        return self.check_in is not None and self.check_out is not None


@dataclass
class Results:
    listings: list[Listing]
    count: int  # matches among the candidates looked at
    page: int
    has_next: bool
    is_lower_bound: bool = False  # more candidates were left unexamined: "at least `count`"
    quotes: dict[int, pricing.Quote | None] = field(default_factory=dict)
    covers: dict[int, ListingPhoto] = field(default_factory=dict)

    @property
    def cap(self) -> int:
        return COUNT_CAP

    @property
    def is_capped(self) -> bool:
        return self.count > COUNT_CAP

    @property
    def shown_count(self) -> int:
        return min(self.count, COUNT_CAP)

    @property
    def is_open_ended(self) -> bool:
        """Whether to show the count as "N+"."""
        return self.is_capped or self.is_lower_bound

    @property
    def has_previous(self) -> bool:
        return self.page > 1


def listing_conditions(criteria: Criteria, today: date) -> list[ColumnElement[bool]]:
    """Filters on the listing row alone (cheap: no calendar is read)."""
    where: list[ColumnElement[bool]] = [Listing.state == ListingState.PUBLISHED]
    if criteria.area_id is not None:
        where.append(Listing.area_id == criteria.area_id)
    if criteria.guests:
        where.append(Listing.max_guests >= criteria.guests)
    if criteria.min_price_ore is not None:
        where.append(Listing.nightly_price_ore >= criteria.min_price_ore)
    if criteria.max_price_ore is not None:
        where.append(Listing.nightly_price_ore <= criteria.max_price_ore)
    if criteria.property_type:
        where.append(Listing.property_type == criteria.property_type)
    if criteria.instant_only:
        where.append(Listing.is_instant_book.is_(True))
    if criteria.has_stay:
        where.extend(availability.stay_rules_allow(criteria.check_in, criteria.check_out, today))
    return where


def conditions(criteria: Criteria, today: date) -> list[ColumnElement[bool]]:
    """The WHERE clause of a search: listing filters, stay rules and free nights."""
    where = listing_conditions(criteria, today)
    if criteria.has_stay:
        where.append(availability.free_during(Listing.id, criteria.check_in, criteria.check_out))
    return where


def _count(criteria: Criteria, today: date) -> tuple[int, bool]:
    """(matches, whether candidates were left unexamined), looking at ≤ COUNT_CAP + 1 of them."""
    candidates = (
        select(Listing.id).where(*listing_conditions(criteria, today)).limit(COUNT_CAP + 1)
    ).subquery()
    looked_at = select(func.count()).select_from(candidates)
    if not criteria.has_stay:
        count = db.session.scalar(looked_at)
        return count, count > COUNT_CAP
    free = availability.free_during(candidates.c.id, criteria.check_in, criteria.check_out)
    found = select(func.count()).select_from(candidates).where(free)
    # Two scalar subqueries in one round trip; NOT EXISTS stays in a WHERE, where it is fastest.
    looked_at, found = db.session.execute(
        select(looked_at.scalar_subquery(), found.scalar_subquery())
    ).one()
    return int(found), looked_at > COUNT_CAP


def _order(sort: Sort) -> list:
    if sort == Sort.NEWEST:
        return [Listing.published_at.desc(), Listing.id.desc()]
    return [Listing.nightly_price_ore, Listing.id]


def search(criteria: Criteria, today: date | None = None, page_size: int = PAGE_SIZE) -> Results:
    """One page of listings matching `criteria`, with cover photos and (given dates) quotes.

    Four queries whatever the page holds: the page, the capped count, the cover photos, and for
    a stay the price overrides plus the fee schedule. Areas come from the session's identity
    map (the caller has loaded them for the form).
    """
    today = today or pricing.coop_date()
    page = max(1, min(criteria.page, MAX_PAGE))
    where = conditions(criteria, today)
    rows = list(
        db.session.scalars(
            select(Listing)
            .where(*where)
            .order_by(*_order(criteria.sort))
            .offset((page - 1) * page_size)
            .limit(page_size + 1)
        )
    )
    has_next = len(rows) > page_size and page < MAX_PAGE
    rows = rows[:page_size]
    count, is_lower_bound = _count(criteria, today)
    results = Results(
        listings=rows,
        count=count,
        page=page,
        has_next=has_next,
        is_lower_bound=is_lower_bound and criteria.has_stay,
    )
    ids = [listing.id for listing in rows]
    results.covers = photos.covers(ids)
    if criteria.has_stay and rows:
        results.quotes = pricing.quotes_for(
            rows, criteria.check_in, criteria.check_out, criteria.guests or 1
        )
    return results


def matching_ids(criteria: Criteria, today: date) -> set[int]:
    """Every matching listing id, unpaged (for tests and checks)."""
    return set(db.session.scalars(select(Listing.id).where(*conditions(criteria, today))))


class CardTexts:
    """The phrases every result card repeats, translated once per page."""

    def __init__(self, href_prefix: str, href_query: str, nights: int | None) -> None:
        from flask_babel import gettext, ngettext

        from rentalcoop.listings.models import PROPERTY_TYPE_LABELS

        self.href_prefix = href_prefix
        self.href_query = href_query
        self.types = {str(k): str(v) for k, v in PROPERTY_TYPE_LABELS.items()}
        self.instant = gettext("Instant book")
        self.per_night = gettext("per night")
        self.fees_included = gettext("Cleaning and service fee included")
        self.total_for_nights = (
            ngettext("in total for %(num)s night", "in total for %(num)s nights", nights)
            if nights
            else ""
        )
        self._guests: dict[int, str] = {}
        self._ngettext = ngettext

    def guests(self, count: int) -> str:
        if count not in self._guests:
            self._guests[count] = self._ngettext(
                "Up to %(count)s guest", "Up to %(count)s guests", count, count=count
            )
        return self._guests[count]
