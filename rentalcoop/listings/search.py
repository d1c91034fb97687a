"""Availability search (DESIGN §3, §15): one SQL query decides which listings are free.

The query filters on the listing row (state, area, capacity, price, type, instant book, stay
rules) and asks each unavailable-night source `NOT EXISTS` over (listing_id, night). It is
ordered like an index (`state, [area_id,] nightly_price_ore, id` or `state, published_at, id`)
so the database walks candidates in result order and stops at the page size instead of ranking
them all. Counting stops too: above 1 000 matches the page says "1 000+".
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
COUNT_CAP = 1000
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
    count: int  # exact up to COUNT_CAP; COUNT_CAP + 1 means "more than COUNT_CAP"
    page: int
    has_next: bool
    quotes: dict[int, pricing.Quote | None] = field(default_factory=dict)
    covers: dict[int, ListingPhoto] = field(default_factory=dict)

    @property
    def cap(self) -> int:
        return COUNT_CAP

    @property
    def is_capped(self) -> bool:
        return self.count > COUNT_CAP

    @property
    def has_previous(self) -> bool:
        return self.page > 1


def conditions(criteria: Criteria, today: date) -> list[ColumnElement[bool]]:
    """The WHERE clause of a search: listing filters, stay rules and free nights."""
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
        check_in, check_out = criteria.check_in, criteria.check_out
        where.extend(availability.stay_rules_allow(check_in, check_out, today))
        where.append(availability.free_during(Listing.id, check_in, check_out))
    return where


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
    capped = select(Listing.id).where(*where).limit(COUNT_CAP + 1).subquery()
    count = db.session.scalar(select(func.count()).select_from(capped))
    results = Results(listings=rows, count=count, page=page, has_next=has_next)
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
