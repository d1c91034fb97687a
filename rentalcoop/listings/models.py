"""Areas (the coop's districts), listings, their photos and calendars, and fee schedules.

DESIGN §2 (listings), §3 (calendar) and §5 (fee schedule versions).
"""

from __future__ import annotations

import enum
from datetime import date, datetime, time

from sqlalchemy import (
    JSON,
    CheckConstraint,
    Date,
    ForeignKey,
    Index,
    String,
    Text,
    Time,
    UniqueConstraint,
    true,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from rentalcoop.accounts.models import User
from rentalcoop.cancellation_policy import CancellationPolicy
from rentalcoop.db import UTCDateTime, in_values, utcnow
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

# DESIGN §2: draft → published ⇄ paused, and any of them → archived (final).
LISTING_TRANSITIONS: dict[ListingState, frozenset[ListingState]] = {
    ListingState.DRAFT: frozenset({ListingState.PUBLISHED, ListingState.ARCHIVED}),
    ListingState.PUBLISHED: frozenset({ListingState.PAUSED, ListingState.ARCHIVED}),
    ListingState.PAUSED: frozenset({ListingState.PUBLISHED, ListingState.ARCHIVED}),
    ListingState.ARCHIVED: frozenset(),
}


CANCELLATION_POLICY_LABELS = {
    CancellationPolicy.FLEXIBLE: _l("Flexible"),
    CancellationPolicy.MODERATE: _l("Moderate"),
    CancellationPolicy.FIRM: _l("Firm"),
    CancellationPolicy.STRICT: _l("Strict"),
}

# DESIGN §6 in words, for guests and hosts.
CANCELLATION_POLICY_TEXTS = {
    CancellationPolicy.FLEXIBLE: _l(
        "Full refund of the nights if you cancel at least 24 hours before check-in. Later, "
        "you get back the nights you do not stay, except the next night."
    ),
    CancellationPolicy.MODERATE: _l(
        "Full refund of the nights if you cancel at least 5 days before check-in. Later, "
        "you get back half of the nights you do not stay, except the next night."
    ),
    CancellationPolicy.FIRM: _l(
        "Full refund if you cancel at least 30 days before check-in, or within 48 hours of "
        "booking when check-in is at least 14 days away. 7 to 30 days before: half of the "
        "nights. Less than 7 days before: no refund of the nights."
    ),
    CancellationPolicy.STRICT: _l(
        "Full refund only within 48 hours of booking when check-in is at least 14 days away. "
        "At least 7 days before check-in: half of the nights. Later: no refund of the nights."
    ),
}

CANCELLATION_FOOTNOTE = _l(
    "The cleaning fee is refunded in full if you cancel before check-in, and the service fee "
    "in the same proportion as the nights. If the host cancels, you get everything back."
)


class Amenity(enum.StrEnum):
    WIFI = "wifi"
    KITCHEN = "kitchen"
    WASHER = "washer"
    DRYER = "dryer"
    DISHWASHER = "dishwasher"
    PARKING = "parking"
    EV_CHARGER = "ev_charger"
    WORKSPACE = "workspace"
    TV = "tv"
    SAUNA = "sauna"
    FIREPLACE = "fireplace"
    GARDEN = "garden"
    BALCONY = "balcony"
    BIKES = "bikes"
    CRIB = "crib"
    STEP_FREE = "step_free"
    PETS_ALLOWED = "pets_allowed"


AMENITY_LABELS = {
    Amenity.WIFI: _l("Wi-fi"),
    Amenity.KITCHEN: _l("Kitchen"),
    Amenity.WASHER: _l("Washing machine"),
    Amenity.DRYER: _l("Tumble dryer"),
    Amenity.DISHWASHER: _l("Dishwasher"),
    Amenity.PARKING: _l("Free parking"),
    Amenity.EV_CHARGER: _l("EV charger"),
    Amenity.WORKSPACE: _l("Workspace"),
    Amenity.TV: _l("TV"),
    Amenity.SAUNA: _l("Sauna"),
    Amenity.FIREPLACE: _l("Fireplace"),
    Amenity.GARDEN: _l("Garden"),
    Amenity.BALCONY: _l("Balcony"),
    Amenity.BIKES: _l("Bikes to borrow"),
    Amenity.CRIB: _l("Cot for a baby"),
    Amenity.STEP_FREE: _l("Step-free access"),
    Amenity.PETS_ALLOWED: _l("Pets allowed"),
}


class Listing(db.Model):
    __tablename__ = "listings"
    __table_args__ = (
        CheckConstraint("nightly_price_ore > 0", name="nightly_price_positive"),
        CheckConstraint("max_guests > 0", name="max_guests_positive"),
        CheckConstraint("cleaning_fee_ore >= 0", name="cleaning_fee_not_negative"),
        CheckConstraint(
            "bedrooms >= 0 AND beds >= 0 AND bathrooms >= 0", name="rooms_not_negative"
        ),
        CheckConstraint("min_nights >= 1 AND max_nights >= min_nights", name="nights_range"),
        CheckConstraint("advance_notice_days >= 0", name="advance_notice_not_negative"),
        CheckConstraint("booking_window_months BETWEEN 1 AND 24", name="booking_window_range"),
        CheckConstraint(in_values("property_type", PropertyType), name="property_type_known"),
        CheckConstraint(in_values("state", ListingState), name="state_known"),
        CheckConstraint(in_values("cancellation_policy", CancellationPolicy), name="policy_known"),
        # Search walks these in result order and stops at the page size (DESIGN §15).
        Index("ix_listings_state_area_price", "state", "area_id", "nightly_price_ore", "id"),
        Index("ix_listings_state_price", "state", "nightly_price_ore", "id"),
        Index("ix_listings_state_published", "state", "published_at", "id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    host_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)
    area_id: Mapped[int] = mapped_column(ForeignKey("areas.id"))
    title: Mapped[str] = mapped_column(String(120))
    description: Mapped[str] = mapped_column(Text, default="")
    property_type: Mapped[str] = mapped_column(String(20), default=PropertyType.ENTIRE_HOME)
    # Shown to a guest only once a booking is confirmed (DESIGN §2).
    street_address: Mapped[str] = mapped_column(String(200), default="", server_default="")
    # EU 2024/1028 short-term rental registration number, where the area requires one.
    registration_number: Mapped[str | None] = mapped_column(String(64))
    max_guests: Mapped[int] = mapped_column(default=2)
    bedrooms: Mapped[int] = mapped_column(default=1, server_default="1")
    beds: Mapped[int] = mapped_column(default=1, server_default="1")
    bathrooms: Mapped[int] = mapped_column(default=1, server_default="1")
    amenities: Mapped[list[str]] = mapped_column(JSON, default=list, server_default="[]")
    house_rules: Mapped[str] = mapped_column(Text, default="", server_default="")
    check_in_time: Mapped[time] = mapped_column(
        Time, default=time(15, 0), server_default="15:00:00"
    )
    check_out_time: Mapped[time] = mapped_column(
        Time, default=time(11, 0), server_default="11:00:00"
    )
    timezone: Mapped[str] = mapped_column(
        String(64), default="Europe/Stockholm", server_default="Europe/Stockholm"
    )
    nightly_price_ore: Mapped[int]
    cleaning_fee_ore: Mapped[int] = mapped_column(default=0, server_default="0")
    min_nights: Mapped[int] = mapped_column(default=1, server_default="1")
    max_nights: Mapped[int] = mapped_column(default=30, server_default="30")
    advance_notice_days: Mapped[int] = mapped_column(default=1, server_default="1")
    booking_window_months: Mapped[int] = mapped_column(default=12, server_default="12")
    is_instant_book: Mapped[bool] = mapped_column(default=True, server_default=true())
    cancellation_policy: Mapped[str] = mapped_column(
        String(16), default=CancellationPolicy.MODERATE, server_default="moderate"
    )
    state: Mapped[str] = mapped_column(String(16), default=ListingState.DRAFT)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime | None] = mapped_column(UTCDateTime, onupdate=utcnow)
    published_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    host: Mapped[User] = relationship()
    area: Mapped[Area] = relationship()
    photos: Mapped[list[ListingPhoto]] = relationship(
        back_populates="listing",
        order_by="ListingPhoto.position",
        cascade="all, delete-orphan",
        passive_deletes=True,
    )

    @property
    def is_published(self) -> bool:
        return self.state == ListingState.PUBLISHED

    @property
    def is_archived(self) -> bool:
        return self.state == ListingState.ARCHIVED

    @property
    def property_type_label(self) -> str:
        return str(PROPERTY_TYPE_LABELS[PropertyType(self.property_type)])

    @property
    def state_label(self) -> str:
        return str(LISTING_STATE_LABELS[ListingState(self.state)])

    @property
    def cancellation_policy_label(self) -> str:
        return str(CANCELLATION_POLICY_LABELS[CancellationPolicy(self.cancellation_policy)])

    @property
    def cancellation_policy_text(self) -> str:
        return str(CANCELLATION_POLICY_TEXTS[CancellationPolicy(self.cancellation_policy)])

    @property
    def amenity_labels(self) -> list[str]:
        known = {a.value for a in Amenity}
        return [str(AMENITY_LABELS[Amenity(a)]) for a in self.amenities or [] if a in known]

    def can_become(self, state: ListingState) -> bool:
        return state in LISTING_TRANSITIONS[ListingState(self.state)]

    def __repr__(self) -> str:
        return f"<Listing {self.id}>"


class ListingPhoto(db.Model):
    """A photo, re-encoded on upload; its files are named by `token`, never by the uploader."""

    __tablename__ = "listing_photos"
    __table_args__ = (
        Index("ix_listing_photos_listing_position", "listing_id", "position"),
        CheckConstraint("position >= 0", name="position_not_negative"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    listing_id: Mapped[int] = mapped_column(ForeignKey("listings.id", ondelete="CASCADE"))
    position: Mapped[int] = mapped_column(default=0)
    token: Mapped[str] = mapped_column(String(32), unique=True)
    width: Mapped[int]
    height: Mapped[int]
    alt_text: Mapped[str] = mapped_column(String(200), default="")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    listing: Mapped[Listing] = relationship(back_populates="photos")


class BlockedNight(db.Model):
    """A night the host closed (DESIGN §3). Kept apart from bookings and imported feeds."""

    __tablename__ = "blocked_nights"

    listing_id: Mapped[int] = mapped_column(
        ForeignKey("listings.id", ondelete="CASCADE"), primary_key=True
    )
    night: Mapped[date] = mapped_column(Date, primary_key=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class NightPrice(db.Model):
    """A per-night price override; nights without one cost the listing's nightly price."""

    __tablename__ = "night_prices"
    __table_args__ = (CheckConstraint("price_ore > 0", name="price_positive"),)

    listing_id: Mapped[int] = mapped_column(
        ForeignKey("listings.id", ondelete="CASCADE"), primary_key=True
    )
    night: Mapped[date] = mapped_column(Date, primary_key=True)
    price_ore: Mapped[int]


class FeeScheduleVersion(db.Model):
    """The service fee and community share decided by the meeting, from a date on (DESIGN §5).

    Versions are never changed or backdated; a booking copies the rates in force when made.
    """

    __tablename__ = "fee_schedule_versions"
    __table_args__ = (
        UniqueConstraint("effective_from"),
        CheckConstraint("fee_bps BETWEEN 0 AND 10000", name="fee_bps_range"),
        CheckConstraint("community_bps BETWEEN 0 AND 10000", name="community_bps_range"),
        CheckConstraint("vat_bps BETWEEN 0 AND 10000", name="vat_bps_range"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    effective_from: Mapped[date] = mapped_column(Date)
    fee_bps: Mapped[int]
    community_bps: Mapped[int]
    vat_bps: Mapped[int]
    decided_by: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    # What migration 0002 stores as the founding version's decision.
    FOUNDING_DECISION = "Founding statutes"

    @property
    def is_founding(self) -> bool:
        """The version the statutes set (migration 0002 dates it 1 January 2000, meaning "from
        the start": no booking is older)."""
        return self.decided_by == self.FOUNDING_DECISION

    @property
    def decided_by_label(self) -> str:
        """Who decided this version, in the reader's language where the text is one of ours."""
        if self.decided_by == self.FOUNDING_DECISION:
            return str(_l("Founding statutes"))
        return self.decided_by or ""
