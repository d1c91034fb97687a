"""Reports of reviews, answers and messages, and the board's decision on each."""

from __future__ import annotations

import enum
from datetime import datetime

from sqlalchemy import CheckConstraint, ForeignKey, Index, String, Text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from rentalcoop.accounts.models import User
from rentalcoop.db import UTCDateTime, utcnow
from rentalcoop.extensions import db
from rentalcoop.i18n import _l


class ReportState(enum.StrEnum):
    OPEN = "open"
    HIDDEN = "hidden"  # the board hid the content
    DISMISSED = "dismissed"  # the board kept it


REPORT_STATE_LABELS = {
    ReportState.OPEN: _l("Open"),
    ReportState.HIDDEN: _l("Content hidden"),
    ReportState.DISMISSED: _l("Dismissed"),
}


class ContentReport(db.Model):
    """A party's report of one review, answer or message. The decision — who, when, why — is
    the moderation log; a reported message also opens its thread to the board."""

    __tablename__ = "content_reports"
    __table_args__ = (
        CheckConstraint(
            "(CASE WHEN review_id IS NULL THEN 0 ELSE 1 END)"
            " + (CASE WHEN response_id IS NULL THEN 0 ELSE 1 END)"
            " + (CASE WHEN message_id IS NULL THEN 0 ELSE 1 END) = 1",
            name="one_target",
        ),
        CheckConstraint("state IN ('open', 'hidden', 'dismissed')", name="state_known"),
        CheckConstraint("state = 'open' OR decided_at IS NOT NULL", name="decided_when_closed"),
        Index("ix_content_reports_state_created", "state", "created_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    # The stay the content belongs to (its thread, for messages).
    booking_id: Mapped[int] = mapped_column(ForeignKey("bookings.id"), index=True)
    reporter_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)
    review_id: Mapped[int | None] = mapped_column(ForeignKey("reviews.id"), index=True)
    response_id: Mapped[int | None] = mapped_column(ForeignKey("review_responses.id"), index=True)
    message_id: Mapped[int | None] = mapped_column(ForeignKey("booking_messages.id"), index=True)
    reason: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    state: Mapped[str] = mapped_column(String(12), default=ReportState.OPEN)
    decided_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    decided_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    decision_note: Mapped[str] = mapped_column(Text, default="")

    reporter: Mapped[User] = relationship(foreign_keys=[reporter_id])
    decided_by: Mapped[User | None] = relationship(foreign_keys=[decided_by_id])

    @property
    def kind(self) -> str:
        if self.review_id is not None:
            return "review"
        if self.response_id is not None:
            return "response"
        return "message"

    @property
    def state_label(self) -> str:
        return str(REPORT_STATE_LABELS[ReportState(self.state)])
