"""Messages between the guest and the host of one booking (its thread)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import CheckConstraint, ForeignKey, Index, Text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from rentalcoop.accounts.models import User
from rentalcoop.db import UTCDateTime, utcnow
from rentalcoop.extensions import db


class Message(db.Model):
    """One message of a booking's thread. A thread has two parties, so a message has exactly one
    recipient, whose `read_at` makes the unread count one indexed count."""

    __tablename__ = "booking_messages"
    __table_args__ = (
        CheckConstraint("sender_id <> recipient_id", name="two_parties"),
        Index("ix_booking_messages_booking_created", "booking_id", "created_at"),
        Index("ix_booking_messages_recipient_read", "recipient_id", "read_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    booking_id: Mapped[int] = mapped_column(ForeignKey("bookings.id"))
    sender_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)
    recipient_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    body: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    read_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # When a "new message" mail was queued for this one (the per-thread throttle reads it).
    notified_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # Set when the board hides it after a report (the report records who, when and why).
    hidden_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    sender: Mapped[User] = relationship(foreign_keys=[sender_id])
    recipient: Mapped[User] = relationship(foreign_keys=[recipient_id])

    @property
    def is_hidden(self) -> bool:
        return self.hidden_at is not None
