"""Availability search (DESIGN §3, §15): one SQL query decides which listings are free.

The query filters on the listing row (state, area, capacity, price, type, instant book, stay
rules) and asks each unavailable-night source `NOT EXISTS` over (listing_id, night). It is
ordered like an index (`state, [area_id,] nightly_price_ore, id` or `state, published_at, id`)
so the database walks candidates in result order and stops at the page size instead of ranking
them all. The same query brings each card's cover photo and whether the stay has per-night
prices, so a page of results is two statements (three when some night has its own price).

Counting: without dates the page counts its candidates, stopping at `CANDIDATE_CAP` + 1
("100+"). With dates nothing is counted beyond the page: a count would probe the nights of a
hundred more homes for a number nobody books by (it was half the search's database time). The
page says how many there are when it is the last one, and otherwise shows its dates.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass, field
from datetime import date

from sqlalchemy import (
    ColumnElement,
    Date,
    Integer,
    Row,
    Select,
    bindparam,
    false,
    func,
    select,
)
from sqlalchemy.orm import aliased

from rentalcoop.listings import availability, pricing, reads
from rentalcoop.listings.models import Listing, ListingPhoto, ListingState, NightPrice

PAGE_SIZE = 20
# Shown as "100+" above this many (searches without dates count their candidates).
COUNT_CAP = 100
CANDIDATE_CAP = 1000  # a count looks at no more candidates than this (DESIGN §15)
MAX_PAGE = CANDIDATE_CAP // PAGE_SIZE


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
    # Light rows (`Row`s with `CARD_COLUMNS` and the cover's `COVER_COLUMNS`), not ORM objects:
    # a card needs a few columns, and building 21 `Listing`s cost more than the query finding them.
    listings: list[Row]
    # How many match: exact, above COUNT_CAP ("100+"), or None when not counted (a search
    # with dates whose results go on past this page).
    count: int | None
    page: int
    has_next: bool
    quotes: dict[int, pricing.Quote | None] = field(default_factory=dict)

    @property
    def is_counted(self) -> bool:
        return self.count is not None

    @property
    def is_capped(self) -> bool:
        return self.count is not None and self.count > COUNT_CAP

    @property
    def shown_count(self) -> int | None:
        return None if self.count is None else min(self.count, COUNT_CAP)

    @property
    def has_previous(self) -> bool:
        return self.page > 1


# What a result card and its quote read (`pricing.quote` takes any object with these).
CARD_COLUMNS = (
    Listing.id,
    Listing.area_id,
    Listing.title,
    Listing.property_type,
    Listing.max_guests,
    Listing.is_instant_book,
    Listing.nightly_price_ore,
    Listing.cleaning_fee_ore,
)
# The first photo beside them (NULLs when the listing has none): the card's cover, read from
# the row itself.
COVER_COLUMNS = (
    ListingPhoto.token,
    ListingPhoto.width,
    ListingPhoto.height,
    ListingPhoto.alt_text,
)

# --- The statements, built once per shape of search -------------------------------------------
# A search's SQL depends only on which filters are given, the sort and the registered night
# sources; the values travel as bind parameters. Building the statement anew for every request
# (operators, coercions, annotations) cost more than running it.


@dataclass(frozen=True)
class _Shape:
    area: bool
    guests: bool
    min_price: bool
    max_price: bool
    property_type: bool
    instant_only: bool
    stay: str  # "" (no dates), "rules" (dates a listing may take) or "none" (no listing can)


def _shape_and_params(criteria: Criteria, today: date) -> tuple[_Shape, dict]:
    params: dict = {"published": ListingState.PUBLISHED}
    stay = ""
    if criteria.has_stay:
        rules = availability.stay_rule_values(criteria.check_in, criteria.check_out, today)
        stay = "none" if rules is None else "rules"
        params.update(rules or {}, check_in=criteria.check_in, check_out=criteria.check_out)
        params.setdefault("stay_nights", (criteria.check_out - criteria.check_in).days)
    shape = _Shape(
        area=criteria.area_id is not None,
        guests=bool(criteria.guests),
        min_price=criteria.min_price_ore is not None,
        max_price=criteria.max_price_ore is not None,
        property_type=bool(criteria.property_type),
        instant_only=criteria.instant_only,
        stay=stay,
    )
    params.update(
        area_id=criteria.area_id,
        guests=criteria.guests,
        min_price=criteria.min_price_ore,
        max_price=criteria.max_price_ore,
        property_type=criteria.property_type,
    )
    return shape, params


def _listing_conditions(shape: _Shape) -> list[ColumnElement[bool]]:
    """Filters on the listing row alone (cheap: no calendar is read)."""
    where: list[ColumnElement[bool]] = [
        Listing.state == bindparam("published", type_=Listing.state.type)
    ]
    if shape.area:
        where.append(Listing.area_id == bindparam("area_id", type_=Integer))
    if shape.guests:
        where.append(Listing.max_guests >= bindparam("guests", type_=Integer))
    if shape.min_price:
        where.append(Listing.nightly_price_ore >= bindparam("min_price", type_=Integer))
    if shape.max_price:
        where.append(Listing.nightly_price_ore <= bindparam("max_price", type_=Integer))
    if shape.property_type:
        where.append(
            Listing.property_type == bindparam("property_type", type_=Listing.property_type.type)
        )
    if shape.instant_only:
        where.append(Listing.is_instant_book.is_(True))
    if shape.stay == "rules":
        where.extend(availability.stay_rules_sql())
    elif shape.stay == "none":
        where.append(false())
    return where


def _free(listing_id) -> ColumnElement[bool]:
    return availability.free_during(
        listing_id, bindparam("check_in", type_=Date), bindparam("check_out", type_=Date)
    )


def _conditions(shape: _Shape) -> list[ColumnElement[bool]]:
    """The WHERE clause of a search: listing filters, stay rules and free nights."""
    where = _listing_conditions(shape)
    if shape.stay:
        where.append(_free(Listing.id))
    return where


def _order(sort: Sort, stay: bool = False) -> list:
    if sort == Sort.NEWEST:
        return [Listing.published_at.desc(), Listing.id.desc()]
    if stay:
        # With dates the cards show the stay's total: order by it (nights × price + cleaning;
        # per-night prices are applied to the page's order below, issue 16).
        nights = bindparam("stay_nights", type_=Integer)
        return [Listing.nightly_price_ore * nights + Listing.cleaning_fee_ore, Listing.id]
    return [Listing.nightly_price_ore, Listing.id]


def _count_statement(shape: _Shape):
    """How many candidates match a search without dates, stopping at CANDIDATE_CAP + 1.

    Only the listing row is filtered (no nights are read), so the database counts index
    entries; a search with dates is not counted (see the module's note).
    """
    matches = (
        select(Listing.id)
        .where(*_listing_conditions(shape))
        .limit(bindparam("looked_at_most"))
        .subquery()
    )
    return select(func.count()).select_from(matches)


def _page_statement(shape: _Shape, sort: Sort) -> Select:
    """A page of cards, each with its cover photo and, given dates, whether any night of the
    stay has its own price (only then are those prices read)."""
    photo = aliased(ListingPhoto)
    first_photo = (
        select(photo.id)
        .where(photo.listing_id == Listing.id)
        .order_by(photo.position, photo.id)
        .limit(1)
        .correlate(Listing)
        .scalar_subquery()
    )
    columns = [*CARD_COLUMNS, *COVER_COLUMNS]
    if shape.stay:
        # A scalar subquery, not EXISTS: PostgreSQL turns an EXISTS among the columns into a
        # hashed subplan that reads the stay's prices of every listing (3 ms at 10k).
        priced_night = (
            select(NightPrice.night)
            .where(
                NightPrice.listing_id == Listing.id,
                NightPrice.night >= bindparam("check_in", type_=Date),
                NightPrice.night < bindparam("check_out", type_=Date),
            )
            .limit(1)
            .scalar_subquery()
        )
        columns.append(priced_night.label("a_priced_night"))
    return (
        select(*columns)
        .outerjoin(ListingPhoto, ListingPhoto.id == first_photo)
        .where(*_conditions(shape))
        .order_by(*_order(sort, shape.stay))
        .offset(bindparam("skip"))
        .limit(bindparam("take"))
    )


_statements: dict[tuple, tuple[list[availability.NightSource], Select]] = {}


def _statement(kind: str, shape: _Shape, sort: Sort = Sort.PRICE) -> Select:
    """The statement of `kind` ("page", "count", "ids") for `shape`, built once.

    Built again when the registered night sources change (tests and features register them).
    """
    sources = availability.night_sources()
    key = (kind, shape, sort)
    entry = _statements.get(key)
    if (
        entry is None
        or len(entry[0]) != len(sources)
        or any(a is not b for a, b in zip(entry[0], sources, strict=True))
    ):
        if kind == "page":
            statement = _page_statement(shape, sort)
        elif kind == "count":
            statement = _count_statement(shape)
        else:
            statement = select(Listing.id).where(*_conditions(shape))
        entry = _statements[key] = (sources, statement)
    return entry[1]


def search(criteria: Criteria, today: date | None = None, page_size: int = PAGE_SIZE) -> Results:
    """One page of listings matching `criteria`, with cover photos and (given dates) quotes.

    Without dates: the page (cards and covers) and the capped count. With dates: the page, the
    fee schedule, and the per-night prices of the homes that have some for the stay.
    """
    today = today or pricing.coop_date()
    page = max(1, min(criteria.page, MAX_PAGE))
    shape, params = _shape_and_params(criteria, today)
    skipped = (page - 1) * page_size
    found = reads.rows(
        _statement("page", shape, criteria.sort), {**params, "skip": skipped, "take": page_size + 1}
    )
    more = len(found) > page_size
    has_next = more and page < MAX_PAGE
    found = found[:page_size]
    if not criteria.has_stay:
        count = reads.rows(
            _statement("count", shape), {**params, "looked_at_most": CANDIDATE_CAP + 1}
        )[0][0]
    elif not more and (found or page == 1):
        count = skipped + len(found)  # the last page: everything before it was full
    else:
        count = None
    results = Results(listings=found, count=count, page=page, has_next=has_next)
    if criteria.has_stay and found:
        results.quotes = pricing.quotes_for(
            found,
            criteria.check_in,
            criteria.check_out,
            criteria.guests or 1,
            priced_nights=[row.id for row in found if row.a_priced_night is not None],
        )
        if criteria.sort == Sort.PRICE:
            # Per-night prices can change a total: the page lists what it shows in order.
            def total(row) -> tuple[int, int]:
                quote = results.quotes.get(row.id)
                return (quote.total_ore if quote else 2**62, row.id)

            results.listings = sorted(found, key=total)
    return results


def matching_ids(criteria: Criteria, today: date) -> set[int]:
    """Every matching listing id, unpaged (for tests and checks)."""
    shape, params = _shape_and_params(criteria, today)
    return {row.id for row in reads.rows(_statement("ids", shape), params)}
