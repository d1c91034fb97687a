"""Two-way reviews of a completed stay and the reviewed party's one public answer."""

from __future__ import annotations

import enum
from datetime import datetime

from sqlalchemy import CheckConstraint, ForeignKey, Index, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from rentalcoop.accounts.models import User
from rentalcoop.db import UTCDateTime, utcnow
from rentalcoop.extensions import db
from rentalcoop.i18n import _l


class ReviewSide(enum.StrEnum):
    """Who wrote the review: the guest (about the home and its host) or the host (about the guest)."""

    GUEST = "guest"
    HOST = "host"


# The six things a guest rates a home on, as Airbnb asks them (mission anchors [A5]).
CATEGORIES = ("cleanliness", "accuracy", "communication", "location", "check_in", "value")
CATEGORY_LABELS = {
    "cleanliness": _l("Cleanliness"),
    "accuracy": _l("Accuracy"),
    "communication": _l("Communication"),
    "location": _l("Location"),
    "check_in": _l("Check-in"),
    "value": _l("Value"),
}

_GUEST_STARS = " AND ".join(f"{c} BETWEEN 1 AND 5" for c in CATEGORIES)
_NO_CATEGORY_STARS = " AND ".join(f"{c} IS NULL" for c in CATEGORIES)


class Review(db.Model):
    """One side's review of one stay. `published_at` is when both sides may read it: the end of
    the window when written, moved to the moment the second review arrives (simultaneous reveal)."""

    __tablename__ = "reviews"
    __table_args__ = (
        # One review per side per stay.
        UniqueConstraint("booking_id", "side"),
        CheckConstraint("side IN ('guest', 'host')", name="side_known"),
        CheckConstraint(
            f"(side = 'guest' AND {_GUEST_STARS} AND rating IS NULL) OR "
            f"(side = 'host' AND rating BETWEEN 1 AND 5 AND {_NO_CATEGORY_STARS})",
            name="stars_fit_side",
        ),
        CheckConstraint("author_id <> subject_id", name="not_self"),
        Index("ix_reviews_listing_side_published", "listing_id", "side", "published_at"),
        Index("ix_reviews_subject_side_published", "subject_id", "side", "published_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    booking_id: Mapped[int] = mapped_column(ForeignKey("bookings.id"))
    side: Mapped[str] = mapped_column(String(8))
    author_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)
    subject_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    listing_id: Mapped[int] = mapped_column(ForeignKey("listings.id"))
    cleanliness: Mapped[int | None]
    accuracy: Mapped[int | None]
    communication: Mapped[int | None]
    location: Mapped[int | None]
    check_in: Mapped[int | None]
    value: Mapped[int | None]
    # The host's one rating of the guest.
    rating: Mapped[int | None]
    text: Mapped[str] = mapped_column(Text, default="")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    published_at: Mapped[datetime] = mapped_column(UTCDateTime)
    # Set when the board hides it after a report (the report records who, when and why).
    hidden_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    author: Mapped[User] = relationship(foreign_keys=[author_id])
    subject: Mapped[User] = relationship(foreign_keys=[subject_id])
    response: Mapped[ReviewResponse | None] = relationship(back_populates="review", uselist=False)

    @property
    def overall(self) -> float | None:
        """The mean of the six categories (guest reviews) or the one rating (host reviews)."""
        if self.side == ReviewSide.HOST:
            return self.rating
        stars = [getattr(self, c) for c in CATEGORIES]
        return sum(stars) / len(stars) if None not in stars else None

    def is_published(self, at: datetime | None = None) -> bool:
        return self.published_at <= (at or utcnow())

    @property
    def is_hidden(self) -> bool:
        return self.hidden_at is not None


class ReviewResponse(db.Model):
    """The reviewed party's answer, shown under the review. One per review, by the database."""

    __tablename__ = "review_responses"

    id: Mapped[int] = mapped_column(primary_key=True)
    review_id: Mapped[int] = mapped_column(ForeignKey("reviews.id"), unique=True)
    author_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)
    text: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    hidden_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    review: Mapped[Review] = relationship(back_populates="response")
    author: Mapped[User] = relationship()

    @property
    def is_hidden(self) -> bool:
        return self.hidden_at is not None
