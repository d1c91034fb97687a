"""Bookings, the nights they hold and their history (DESIGN §3, §4, §5)."""

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
    case,
    literal,
    select,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from rentalcoop.accounts.models import User
from rentalcoop.db import UTCDateTime, in_values, utcnow
from rentalcoop.extensions import db
from rentalcoop.i18n import _l
from rentalcoop.listings.models import Listing


class BookingState(enum.StrEnum):
    REQUESTED = "requested"
    PENDING_PAYMENT = "pending_payment"
    CONFIRMED = "confirmed"
    COMPLETED = "completed"
    DECLINED = "declined"
    EXPIRED = "expired"
    CANCELLED_BY_GUEST = "cancelled_by_guest"
    CANCELLED_BY_HOST = "cancelled_by_host"
    CANCELLED_BY_BOARD = "cancelled_by_board"


BOOKING_STATE_LABELS = {
    BookingState.REQUESTED: _l("Waiting for the host"),
    BookingState.PENDING_PAYMENT: _l("Waiting for payment"),
    BookingState.CONFIRMED: _l("Confirmed"),
    BookingState.COMPLETED: _l("Completed"),
    BookingState.DECLINED: _l("Declined by the host"),
    BookingState.EXPIRED: _l("Expired"),
    BookingState.CANCELLED_BY_GUEST: _l("Cancelled by the guest"),
    BookingState.CANCELLED_BY_HOST: _l("Cancelled by the host"),
    BookingState.CANCELLED_BY_BOARD: _l("Cancelled by the cooperative"),
}

# States whose booking holds its nights in `booked_nights` (DESIGN §4).
HOLDING_STATES = frozenset(
    {BookingState.REQUESTED, BookingState.PENDING_PAYMENT, BookingState.CONFIRMED}
)
# States of a stay that takes place: confirmed (paid), or done.
STAY_STATES = frozenset({BookingState.CONFIRMED, BookingState.COMPLETED})
CANCELLED_STATES = frozenset(
    {
        BookingState.CANCELLED_BY_GUEST,
        BookingState.CANCELLED_BY_HOST,
        BookingState.CANCELLED_BY_BOARD,
    }
)

# The lifecycle of DESIGN §4. Anything not listed is illegal and raises a BookingError.
TRANSITIONS: dict[BookingState, frozenset[BookingState]] = {
    BookingState.REQUESTED: frozenset(
        {
            BookingState.PENDING_PAYMENT,
            BookingState.DECLINED,
            BookingState.EXPIRED,
            BookingState.CANCELLED_BY_GUEST,
            BookingState.CANCELLED_BY_BOARD,
        }
    ),
    BookingState.PENDING_PAYMENT: frozenset(
        {
            BookingState.CONFIRMED,
            BookingState.EXPIRED,
            BookingState.CANCELLED_BY_GUEST,
            BookingState.CANCELLED_BY_HOST,
            BookingState.CANCELLED_BY_BOARD,
        }
    ),
    BookingState.CONFIRMED: frozenset(
        {
            BookingState.COMPLETED,
            BookingState.CANCELLED_BY_GUEST,
            BookingState.CANCELLED_BY_HOST,
            BookingState.CANCELLED_BY_BOARD,
        }
    ),
    BookingState.COMPLETED: frozenset(),
    BookingState.DECLINED: frozenset(),
    BookingState.EXPIRED: frozenset(),
    BookingState.CANCELLED_BY_GUEST: frozenset(),
    BookingState.CANCELLED_BY_HOST: frozenset(),
    BookingState.CANCELLED_BY_BOARD: frozenset(),
}


class Booking(db.Model):
    """A stay, priced once when it was made (DESIGN §5): later fee decisions never change it."""

    __tablename__ = "bookings"
    __table_args__ = (
        CheckConstraint("check_out > check_in", name="stay_has_nights"),
        CheckConstraint("guests > 0", name="guests_positive"),
        CheckConstraint(in_values("state", BookingState), name="state_known"),
        CheckConstraint(
            "nights_ore >= 0 AND cleaning_fee_ore >= 0 AND service_fee_ore >= 0 "
            "AND fee_vat_ore >= 0 AND community_ore >= 0 AND total_ore > 0 "
            "AND host_payout_ore >= 0",
            name="money_not_negative",
        ),
        CheckConstraint("total_ore = accommodation_ore + service_fee_ore", name="total_adds_up"),
        CheckConstraint(
            "accommodation_ore = nights_ore + cleaning_fee_ore", name="accommodation_adds_up"
        ),
        CheckConstraint(
            "refund_total_ore >= 0 AND refund_total_ore <= total_ore", name="refund_range"
        ),
        Index("ix_bookings_listing_check_in", "listing_id", "check_in"),
        Index("ix_bookings_guest_check_in", "guest_id", "check_in"),
        Index("ix_bookings_host_check_in", "host_id", "check_in"),
        Index("ix_bookings_state_expires", "state", "expires_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    # A short reference guests and hosts can quote to each other (never in iCal feeds).
    code: Mapped[str] = mapped_column(String(12), unique=True)
    listing_id: Mapped[int] = mapped_column(ForeignKey("listings.id"))
    guest_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    host_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    check_in: Mapped[date] = mapped_column(Date)
    check_out: Mapped[date] = mapped_column(Date)
    guests: Mapped[int]
    state: Mapped[str] = mapped_column(String(24))
    is_instant: Mapped[bool]
    message: Mapped[str] = mapped_column(Text, default="")

    # Copied from the listing when booked: the rules the guest accepted.
    cancellation_policy: Mapped[str] = mapped_column(String(16))
    timezone: Mapped[str] = mapped_column(String(64))
    check_in_time: Mapped[time] = mapped_column(Time)
    house_rules_accepted: Mapped[bool] = mapped_column(default=False)

    # DESIGN §5, computed once by `quote` and stored.
    night_prices: Mapped[list[int]] = mapped_column(JSON)
    nights_ore: Mapped[int]
    cleaning_fee_ore: Mapped[int]
    accommodation_ore: Mapped[int]
    service_fee_ore: Mapped[int]
    fee_vat_ore: Mapped[int]
    fee_net_ore: Mapped[int]
    community_ore: Mapped[int]
    total_ore: Mapped[int]
    host_payout_ore: Mapped[int]
    fee_bps: Mapped[int]
    community_bps: Mapped[int]
    vat_bps: Mapped[int]
    fee_schedule_version_id: Mapped[int | None] = mapped_column(
        ForeignKey("fee_schedule_versions.id")
    )
    # The community-fund project the guest chose (the governance feature adds the projects).
    community_project_id: Mapped[int | None] = mapped_column(ForeignKey("community_projects.id"))

    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime | None] = mapped_column(UTCDateTime, onupdate=utcnow)
    # When an unanswered request or an unpaid hold lapses (DESIGN §4: 24 h / 30 min).
    expires_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    paid_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    cancelled_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    completed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    cancel_reason: Mapped[str] = mapped_column(Text, default="")

    # What a cancellation gave back (DESIGN §6), per component.
    refund_nights_ore: Mapped[int] = mapped_column(default=0)
    refund_cleaning_ore: Mapped[int] = mapped_column(default=0)
    refund_service_fee_ore: Mapped[int] = mapped_column(default=0)
    refund_fee_vat_ore: Mapped[int] = mapped_column(default=0)
    refund_community_ore: Mapped[int] = mapped_column(default=0)
    refund_total_ore: Mapped[int] = mapped_column(default=0)

    listing: Mapped[Listing] = relationship()
    guest: Mapped[User] = relationship(foreign_keys=[guest_id])
    host: Mapped[User] = relationship(foreign_keys=[host_id])
    events: Mapped[list[BookingEvent]] = relationship(
        back_populates="booking", order_by="BookingEvent.id"
    )

    # --- what refund_for reads (rentalcoop.bookings.cancellation.RefundableBooking) ---
    @property
    def night_prices_ore(self) -> list[int]:
        return list(self.night_prices)

    @property
    def nights(self) -> int:
        return (self.check_out - self.check_in).days

    @property
    def state_label(self) -> str:
        return str(BOOKING_STATE_LABELS[BookingState(self.state)])

    @property
    def is_holding(self) -> bool:
        return self.state in HOLDING_STATES

    @property
    def is_stay(self) -> bool:
        """Confirmed or completed: the stay takes place (the guest sees the address)."""
        return self.state in STAY_STATES

    @property
    def is_cancelled(self) -> bool:
        return self.state in CANCELLED_STATES

    @property
    def host_receives_ore(self) -> int:
        """What the host gets for this booking: the accommodation less what a cancellation
        refunded of the nights and the cleaning (the host bears those, DESIGN §5–§6); nothing
        for a booking that never became a paid stay."""
        if self.state in (BookingState.DECLINED, BookingState.EXPIRED):
            return 0
        if self.is_cancelled and self.paid_at is None:
            return 0
        kept = self.host_payout_ore - self.refund_nights_ore - self.refund_cleaning_ore
        return max(kept, 0)

    def can_become(self, state: BookingState) -> bool:
        return BookingState(state) in TRANSITIONS[BookingState(self.state)]

    def __repr__(self) -> str:
        return f"<Booking {self.id} {self.state}>"


class BookedNight(db.Model):
    """One night held by one booking. The primary key is what makes double booking impossible:
    two bookings cannot hold the same night of the same listing, on SQLite and PostgreSQL alike
    (DESIGN §3, §15). Rows live exactly as long as the booking holds its nights."""

    __tablename__ = "booked_nights"

    listing_id: Mapped[int] = mapped_column(ForeignKey("listings.id"), primary_key=True)
    night: Mapped[date] = mapped_column(Date, primary_key=True)
    booking_id: Mapped[int] = mapped_column(
        ForeignKey("bookings.id", ondelete="CASCADE"), index=True
    )


class BookingEvent(db.Model):
    """One transition of a booking: who, when, from what to what (DESIGN §4)."""

    __tablename__ = "booking_events"

    id: Mapped[int] = mapped_column(primary_key=True)
    booking_id: Mapped[int] = mapped_column(ForeignKey("bookings.id"), index=True)
    from_state: Mapped[str | None] = mapped_column(String(24))
    to_state: Mapped[str] = mapped_column(String(24))
    actor_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    # guest, host, board, system (jobs) or provider (payment webhooks)
    actor_kind: Mapped[str] = mapped_column(String(16))
    note: Mapped[str] = mapped_column(Text, default="")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    booking: Mapped[Booking] = relationship(back_populates="events")


# Held nights make a listing unavailable everywhere availability is asked (search, calendars,
# booking checks).
def _register_booked_nights() -> None:
    from rentalcoop.listings import availability

    # The host's calendar tells nights of a booking still waiting for payment (a bank giro
    # transfer takes days) from paid ones.
    waiting = (
        select(Booking.id)
        .where(
            Booking.id == BookedNight.booking_id,
            Booking.state == BookingState.PENDING_PAYMENT,
        )
        .exists()
    )
    availability.register_night_source(
        "booked",
        BookedNight.listing_id,
        BookedNight.night,
        label=case((waiting, literal("awaiting")), else_=literal("booked")),
    )


_register_booked_nights()
