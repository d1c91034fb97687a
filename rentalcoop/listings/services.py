"""Finding listings for guests."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import joinedload

from rentalcoop.extensions import db
from rentalcoop.listings.models import Area, Listing, ListingState


def areas() -> list[Area]:
    return list(db.session.scalars(select(Area).order_by(Area.name)))


def published_listings(
    area_code: str | None = None, guests: int | None = None, limit: int = 24
) -> list[Listing]:
    """Published listings, newest first, optionally in one area and for a number of guests."""
    query = (
        select(Listing)
        .options(joinedload(Listing.area))
        .where(Listing.state == ListingState.PUBLISHED)
        .order_by(Listing.created_at.desc(), Listing.id.desc())
        .limit(limit)
    )
    if area_code:
        query = query.join(Listing.area).where(Area.code == area_code)
    if guests:
        query = query.where(Listing.max_guests >= guests)
    return list(db.session.scalars(query))


def get_published_listing(listing_id: int) -> Listing | None:
    listing = db.session.get(Listing, listing_id, options=[joinedload(Listing.area)])
    if listing is None or not listing.is_published:
        return None
    return listing
