"""A home a person saved. One row per person and home: the primary key is what keeps a double
click (or two tabs) from saving it twice."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, Index
from sqlalchemy.orm import Mapped, mapped_column, relationship

from rentalcoop.db import UTCDateTime, utcnow
from rentalcoop.extensions import db
from rentalcoop.listings.models import Listing


class SavedHome(db.Model):
    __tablename__ = "saved_homes"
    __table_args__ = (Index("ix_saved_homes_user_created", "user_id", "created_at"),)

    user_id: Mapped[int] = mapped_column(
        ForeignKey("users.id", ondelete="CASCADE"), primary_key=True
    )
    listing_id: Mapped[int] = mapped_column(
        ForeignKey("listings.id", ondelete="CASCADE"), primary_key=True, index=True
    )
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    listing: Mapped[Listing] = relationship()
