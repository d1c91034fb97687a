"""The rules of listings: creating and editing them, their states, calendars and photos.

Views call these with plain values; a broken rule raises `ListingError` with a translatable
message. Services flush; the request commits once.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date, timedelta
from typing import Any

from sqlalchemy import delete, func, select
from sqlalchemy.orm import joinedload, selectinload

from rentalcoop.accounts.models import User
from rentalcoop.db import lock_for_change, utcnow
from rentalcoop.errors import DomainError
from rentalcoop.extensions import db
from rentalcoop.i18n import _l
from rentalcoop.listings.models import (
    Area,
    BlockedNight,
    Listing,
    ListingState,
    NightPrice,
)

# Fields a host edits through the listing form (everything else is managed by the app).
EDITABLE_FIELDS = (
    "title",
    "description",
    "property_type",
    "area_id",
    "street_address",
    "registration_number",
    "max_guests",
    "bedrooms",
    "beds",
    "bathrooms",
    "amenities",
    "house_rules",
    "check_in_time",
    "check_out_time",
    "nightly_price_ore",
    "cleaning_fee_ore",
    "min_nights",
    "max_nights",
    "advance_notice_days",
    "booking_window_months",
    "is_instant_book",
    "cancellation_policy",
)
RULE_FIELDS = ("min_nights", "max_nights", "advance_notice_days", "booking_window_months")
# Ranges a host may change at once (a year and a day covers any yearly pattern).
MAX_RANGE_NIGHTS = 366


class ListingError(DomainError):
    status_code = 409


# --- Reading -----------------------------------------------------------------------------------


def get_listing(listing_id: int) -> Listing | None:
    """A listing with its area, host and photos (three queries whatever the number of photos)."""
    return db.session.get(
        Listing,
        listing_id,
        options=[
            joinedload(Listing.area),
            joinedload(Listing.host),
            selectinload(Listing.photos),
        ],
    )


def get_published_listing(listing_id: int) -> Listing | None:
    listing = get_listing(listing_id)
    if listing is None or not listing.is_published:
        return None
    return listing


def host_listings(host: User) -> list[Listing]:
    """A host's listings, archived last, newest first."""
    return list(
        db.session.scalars(
            select(Listing)
            .options(joinedload(Listing.area), selectinload(Listing.photos))
            .where(Listing.host_id == host.id)
            .order_by(
                (Listing.state == ListingState.ARCHIVED).asc(),
                Listing.created_at.desc(),
                Listing.id.desc(),
            )
        )
    )


# --- Creating and editing ----------------------------------------------------------------------


def _apply(listing: Listing, data: Mapping[str, Any], fields: tuple[str, ...]) -> None:
    for name in fields:
        if name in data:
            setattr(listing, name, data[name])
    if listing.registration_number is not None:
        listing.registration_number = listing.registration_number.strip() or None
    if listing.max_nights < listing.min_nights:
        raise ListingError(_l("The longest stay cannot be shorter than the shortest stay."))


def create_listing(host: User, data: Mapping[str, Any]) -> Listing:
    """A new draft listing of a host-member (guests must join the cooperative first)."""
    if not host.is_member:
        raise ListingError(_l("Only members of the cooperative can offer homes."))
    listing = Listing(host=host, state=ListingState.DRAFT)
    _apply(listing, data, EDITABLE_FIELDS)
    db.session.add(listing)
    db.session.flush()
    return listing


def update_listing(listing: Listing, data: Mapping[str, Any]) -> None:
    """Change what the host wrote; a published listing must still meet the publishing rules."""
    if listing.is_archived:
        raise ListingError(_l("An archived listing cannot be changed."))
    _apply(listing, data, EDITABLE_FIELDS)
    if listing.is_published:
        _check_registration(listing)
    db.session.flush()


def set_rules(listing: Listing, data: Mapping[str, Any]) -> None:
    """Stay length, advance notice and booking window (DESIGN §3)."""
    if listing.is_archived:
        raise ListingError(_l("An archived listing cannot be changed."))
    _apply(listing, data, RULE_FIELDS)
    db.session.flush()


# --- States (DESIGN §2) ------------------------------------------------------------------------


def max_active_listings() -> int:
    """The statutes' cap on a host's published listings (DESIGN §2): the meeting decides it,
    a deployment's `MAX_ACTIVE_LISTINGS_PER_HOST` gives the value before any meeting did."""
    from rentalcoop.governance import services as governance  # governance reads listings

    return int(governance.setting(governance.MAX_ACTIVE_LISTINGS))


def _check_registration(listing: Listing) -> None:
    # EU 2024/1028: where the municipality runs a registration scheme, no number, no listing.
    area = db.session.get(Area, listing.area_id)
    if area is not None and area.requires_registration and not listing.registration_number:
        raise ListingError(
            _l(
                "%(area)s requires a registration number for short-term rentals. Add it "
                "before publishing.",
                area=area.name,
            )
        )


def _check_publishable(listing: Listing) -> None:
    _check_registration(listing)
    # Publishes by one host take turns: two drafts published at once both counted no other
    # published listing (PostgreSQL; SQLite's writers already take turns, and ignore this).
    db.session.execute(select(User.id).where(User.id == listing.host_id).with_for_update())
    others = db.session.scalar(
        select(func.count())
        .select_from(Listing)
        .where(
            Listing.host_id == listing.host_id,
            Listing.state == ListingState.PUBLISHED,
            Listing.id != listing.id,
        )
    )
    cap = max_active_listings()
    if others >= cap:
        raise ListingError(
            _l(
                "The cooperative allows %(count)s published listing(s) per host. Pause or "
                "archive another one first.",
                count=cap,
            )
        )


def change_state(listing: Listing, state: ListingState, by: User) -> None:
    """Publish, pause or archive, along the allowed transitions only; decided on the listing's
    row as it is under our lock, so two clicks at once cannot both pass the check."""
    lock_for_change(db.session, listing)
    if not listing.can_become(state):
        raise ListingError(
            _l("A listing that is %(state)s cannot become %(new)s."),
            state=listing.state_label.lower(),
            new=str(_state_label(state)).lower(),
        )
    if state == ListingState.PUBLISHED:
        if not by.is_member:
            raise ListingError(_l("Only members of the cooperative can offer homes."))
        _check_publishable(listing)
        if listing.published_at is None:
            listing.published_at = utcnow()
    listing.state = state
    db.session.flush()


def _state_label(state: ListingState):
    from rentalcoop.listings.models import LISTING_STATE_LABELS

    return LISTING_STATE_LABELS[state]


# --- Calendar (DESIGN §3) ----------------------------------------------------------------------


def _nights(first: date, last: date) -> list[date]:
    if last < first:
        raise ListingError(_l("The last night cannot be before the first night."))
    count = (last - first).days + 1
    if count > MAX_RANGE_NIGHTS:
        raise ListingError(_l("Choose at most %(count)s nights at a time."), count=MAX_RANGE_NIGHTS)
    return [first + timedelta(days=n) for n in range(count)]


def block_nights(listing: Listing, first: date, last: date) -> int:
    """Close the nights first…last (inclusive); returns how many were newly closed."""
    nights = _nights(first, last)
    existing = set(
        db.session.scalars(
            select(BlockedNight.night).where(
                BlockedNight.listing_id == listing.id,
                BlockedNight.night >= first,
                BlockedNight.night <= last,
            )
        )
    )
    new = [BlockedNight(listing_id=listing.id, night=n) for n in nights if n not in existing]
    db.session.add_all(new)
    db.session.flush()
    return len(new)


def booked_nights_between(listing: Listing, first: date, last: date) -> int:
    """How many of the nights first…last a booking holds: blocking them changes nothing for
    those guests, and the host should be told so rather than "blocked"."""
    from rentalcoop.bookings.models import BookedNight

    return db.session.scalar(
        select(func.count())
        .select_from(BookedNight)
        .where(
            BookedNight.listing_id == listing.id,
            BookedNight.night >= first,
            BookedNight.night <= last,
        )
    )


def unblock_nights(listing: Listing, first: date, last: date) -> int:
    """Open the nights first…last again (bookings and imported blocks are not touched)."""
    _nights(first, last)
    result = db.session.execute(
        delete(BlockedNight).where(
            BlockedNight.listing_id == listing.id,
            BlockedNight.night >= first,
            BlockedNight.night <= last,
        )
    )
    return result.rowcount or 0


def set_night_prices(listing: Listing, first: date, last: date, price_ore: int | None) -> None:
    """Give the nights first…last their own price, or (None) the listing's nightly price."""
    nights = _nights(first, last)
    db.session.execute(
        delete(NightPrice).where(
            NightPrice.listing_id == listing.id,
            NightPrice.night >= first,
            NightPrice.night <= last,
        )
    )
    if price_ore is not None:
        if price_ore <= 0:
            raise ListingError(_l("A price must be more than zero."))
        db.session.add_all(
            NightPrice(listing_id=listing.id, night=n, price_ore=price_ore) for n in nights
        )
    db.session.flush()
