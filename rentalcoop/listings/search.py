"""Availability search (DESIGN §3, §15): one SQL query decides which listings are free.

The query filters on the listing row (state, area, capacity, price, type, instant book, stay
rules) and asks each unavailable-night source `NOT EXISTS` over (listing_id, night). It is
ordered like an index (`state, [area_id,] nightly_price_ore, id` or `state, published_at, id`)
so the database walks candidates in result order and stops at the page size instead of ranking
them all. Counting is bounded too: it stops at `COUNT_CAP` + 1 matches ("100+") and looks at no
more than `CANDIDATE_CAP` + 1 candidates (DESIGN §15: keep a search to about 1 000 candidates),
so the page says "100+", an exact count, or, when dates leave only a few of those candidates
free, "at least so many" — never a count that grows with the town.
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
    case,
    false,
    func,
    null,
    select,
)

from rentalcoop.listings import availability, photos, pricing, reads
from rentalcoop.listings.models import Listing, ListingState

PAGE_SIZE = 20
# The count stops at COUNT_CAP + 1 matches, shown as "100+". Counting is a probe of each
# candidate's nights; stopping at 101 matches instead of looking at 1 001 candidates halved the
# search page's SQL (issue 3's throughput target). A page of 20 needs no exact "1 713 stays".
COUNT_CAP = 100
CANDIDATE_CAP = 1000  # a search looks at no more candidates than this (DESIGN §15)
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
    # Light rows (`Row`s with the columns of `CARD_COLUMNS`), not ORM objects: a card needs a
    # few columns, and building 21 `Listing`s cost more than the query finding them.
    listings: list[Row]
    count: int  # matches among the candidates looked at
    page: int
    has_next: bool
    is_lower_bound: bool = False  # more candidates were left unexamined: "at least `count`"
    quotes: dict[int, pricing.Quote | None] = field(default_factory=dict)
    covers: dict[int, Row] = field(default_factory=dict)

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


def _order(sort: Sort) -> list:
    if sort == Sort.NEWEST:
        return [Listing.published_at.desc(), Listing.id.desc()]
    return [Listing.nightly_price_ore, Listing.id]


def _count_statement(shape: _Shape):
    """(matches, candidates looked at): matches stop at COUNT_CAP + 1, candidates at
    CANDIDATE_CAP + 1; candidates are only counted (None otherwise) when the matches fell short.

    The matches are the first candidates whose nights are free, so a busy search stops probing
    after ≈ 100 matches instead of probing every one of 1 001 candidates (SQLite 10k town,
    July week: ≈ 1.0 → 0.4 ms; the candidate scan without probes is cheap and rarely needed).
    """

    def candidates():
        return (
            select(Listing.id)
            .where(*_listing_conditions(shape))
            .limit(bindparam("looked_at_most"))
            .subquery()
        )

    if not shape.stay:
        matches = candidates()
        found = select(func.count()).select_from(matches).scalar_subquery()
        return select(found, null())
    among = candidates()
    matches = (
        select(among.c.id).where(_free(among.c.id)).limit(bindparam("count_at_most")).subquery()
    )
    # `found` from a derived table, so it is counted once (a scalar subquery named twice is
    # rendered, and run, twice); `looked` runs only when the CASE reaches it.
    found = select(func.count().label("found")).select_from(matches).subquery()
    looked = select(func.count()).select_from(candidates()).scalar_subquery()
    cap = bindparam("count_cap", type_=Integer)
    return select(found.c.found, case((found.c.found > cap, null()), else_=looked))


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
            statement = (
                select(*CARD_COLUMNS)
                .where(*_conditions(shape))
                .order_by(*_order(sort))
                .offset(bindparam("skip"))
                .limit(bindparam("take"))
            )
        elif kind == "count":
            statement = _count_statement(shape)
        else:
            statement = select(Listing.id).where(*_conditions(shape))
        entry = _statements[key] = (sources, statement)
    return entry[1]


def search(criteria: Criteria, today: date | None = None, page_size: int = PAGE_SIZE) -> Results:
    """One page of listings matching `criteria`, with cover photos and (given dates) quotes.

    Four queries whatever the page holds: the page, the capped count, the cover photos, and for
    a stay the price overrides plus the fee schedule.
    """
    today = today or pricing.coop_date()
    page = max(1, min(criteria.page, MAX_PAGE))
    shape, params = _shape_and_params(criteria, today)
    found = reads.rows(
        _statement("page", shape, criteria.sort),
        {**params, "skip": (page - 1) * page_size, "take": page_size + 1},
    )
    has_next = len(found) > page_size and page < MAX_PAGE
    found = found[:page_size]
    count, looked_at = reads.rows(
        _statement("count", shape),
        {
            **params,
            "looked_at_most": CANDIDATE_CAP + 1,
            "count_at_most": COUNT_CAP + 1,
            "count_cap": COUNT_CAP,
        },
    )[0]
    results = Results(
        listings=found,
        count=int(count),
        page=page,
        has_next=has_next,
        is_lower_bound=looked_at is not None and looked_at > CANDIDATE_CAP,
    )
    ids = [listing.id for listing in found]
    results.covers = photos.covers(ids)
    if criteria.has_stay and found:
        results.quotes = pricing.quotes_for(
            found, criteria.check_in, criteria.check_out, criteria.guests or 1
        )
    return results


def matching_ids(criteria: Criteria, today: date) -> set[int]:
    """Every matching listing id, unpaged (for tests and checks)."""
    shape, params = _shape_and_params(criteria, today)
    return {row.id for row in reads.rows(_statement("ids", shape), params)}
