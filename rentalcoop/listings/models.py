"""Areas (the coop's districts) and listings (DESIGN §2)."""

from __future__ import annotations

import enum
from datetime import datetime

from sqlalchemy import CheckConstraint, ForeignKey, Index, String, Text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from rentalcoop.accounts.models import User
from rentalcoop.db import UTCDateTime, utcnow
from rentalcoop.extensions import db
from rentalcoop.i18n import _l


class Area(db.Model):
    """A district of the town, with its official code. Listings pick one; never free text."""

    __tablename__ = "areas"

    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(16), unique=True)
    name: Mapped[str] = mapped_column(String(120))
    # EU 2024/1028: where the municipality runs a registration scheme, listings need its number.
    requires_registration: Mapped[bool] = mapped_column(default=False)

    def __repr__(self) -> str:
        return f"<Area {self.code}>"


class PropertyType(enum.StrEnum):
    ENTIRE_HOME = "entire_home"
    PRIVATE_ROOM = "private_room"
    SHARED_ROOM = "shared_room"


PROPERTY_TYPE_LABELS = {
    PropertyType.ENTIRE_HOME: _l("Entire home"),
    PropertyType.PRIVATE_ROOM: _l("Private room"),
    PropertyType.SHARED_ROOM: _l("Shared room"),
}


class ListingState(enum.StrEnum):
    DRAFT = "draft"
    PUBLISHED = "published"
    PAUSED = "paused"
    ARCHIVED = "archived"


LISTING_STATE_LABELS = {
    ListingState.DRAFT: _l("Draft"),
    ListingState.PUBLISHED: _l("Published"),
    ListingState.PAUSED: _l("Paused"),
    ListingState.ARCHIVED: _l("Archived"),
}


class Listing(db.Model):
    __tablename__ = "listings"
    __table_args__ = (
        CheckConstraint("nightly_price_ore > 0", name="nightly_price_positive"),
        CheckConstraint("max_guests > 0", name="max_guests_positive"),
        Index("ix_listings_state_area", "state", "area_id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    host_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)
    area_id: Mapped[int] = mapped_column(ForeignKey("areas.id"))
    title: Mapped[str] = mapped_column(String(120))
    description: Mapped[str] = mapped_column(Text, default="")
    property_type: Mapped[str] = mapped_column(String(20), default=PropertyType.ENTIRE_HOME)
    max_guests: Mapped[int] = mapped_column(default=2)
    nightly_price_ore: Mapped[int]
    state: Mapped[str] = mapped_column(String(16), default=ListingState.DRAFT)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    host: Mapped[User] = relationship()
    area: Mapped[Area] = relationship()

    @property
    def is_published(self) -> bool:
        return self.state == ListingState.PUBLISHED

    @property
    def property_type_label(self) -> str:
        return str(PROPERTY_TYPE_LABELS[PropertyType(self.property_type)])
