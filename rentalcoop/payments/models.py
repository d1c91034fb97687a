"""Money moving through a payment provider (DESIGN §7): charges, refunds, host payouts,
webhook events already applied, and hosts' connected accounts."""

from __future__ import annotations

import enum
from datetime import datetime

from sqlalchemy import CheckConstraint, ForeignKey, Index, String, Text
from sqlalchemy import false as sa_false
from sqlalchemy.orm import Mapped, mapped_column, relationship

from rentalcoop.db import UTCDateTime, utcnow
from rentalcoop.extensions import db


class PaymentState(enum.StrEnum):
    PENDING = "pending"  # checkout open
    # Checkout completed with a delayed method (a bank debit): the money is on its way and the
    # outcome follows as `checkout.session.async_payment_succeeded` or `_failed`.
    PROCESSING = "processing"
    SUCCEEDED = "succeeded"
    EXPIRED = "expired"
    FAILED = "failed"


class RefundState(enum.StrEnum):
    OWED = "owed"  # recorded; the provider has not confirmed it (manual: the board pays it)
    DONE = "done"
    FAILED = "failed"


class PayoutState(enum.StrEnum):
    SCHEDULED = "scheduled"  # waiting for 24 h after check-in
    OWED = "owed"  # due; manual provider: the board pays it by bank transfer
    # A transfer is being sent (claimed and committed before the Stripe call, so no lock is
    # held while Stripe answers); whoever finds it so leaves it to the sender to settle.
    SENDING = "sending"
    HELD = "held"  # a dispute on the guest's payment is open: nothing is paid until it closes
    PAID = "paid"
    CANCELLED = "cancelled"  # the booking was cancelled before the payout was due
    REVERSED = "reversed"  # paid, then taken back (refund after payout)


class Payment(db.Model):
    """A guest's payment for one booking (one Checkout Session with Stripe)."""

    __tablename__ = "payments"
    __table_args__ = (
        CheckConstraint("amount_ore > 0", name="amount_positive"),
        Index("ix_payments_booking", "booking_id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    booking_id: Mapped[int] = mapped_column(ForeignKey("bookings.id"))
    provider: Mapped[str] = mapped_column(String(16))
    amount_ore: Mapped[int]
    currency: Mapped[str] = mapped_column(String(3), default="sek")
    state: Mapped[str] = mapped_column(String(16), default=PaymentState.PENDING)
    # Stripe: the Checkout Session id; then the PaymentIntent and Charge it produced.
    checkout_ref: Mapped[str | None] = mapped_column(String(255), unique=True)
    checkout_url: Mapped[str | None] = mapped_column(Text)
    payment_ref: Mapped[str | None] = mapped_column(String(255))
    charge_ref: Mapped[str | None] = mapped_column(String(255))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    succeeded_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    marked_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))

    booking = relationship("Booking")


class Refund(db.Model):
    __tablename__ = "refunds"
    __table_args__ = (CheckConstraint("amount_ore > 0", name="amount_positive"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    booking_id: Mapped[int] = mapped_column(ForeignKey("bookings.id"), unique=True)
    amount_ore: Mapped[int]
    state: Mapped[str] = mapped_column(String(16), default=RefundState.OWED)
    provider_ref: Mapped[str | None] = mapped_column(String(255))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    done_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    marked_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    claimed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)  # a sender is calling Stripe

    booking = relationship("Booking")


class Payout(db.Model):
    """What a host receives for one stay: the accommodation (hosts pay no fee), 24 h after
    check-in (DESIGN §7)."""

    __tablename__ = "payouts"
    __table_args__ = (
        CheckConstraint("amount_ore >= 0", name="amount_not_negative"),
        Index("ix_payouts_state_due", "state", "due_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    booking_id: Mapped[int] = mapped_column(ForeignKey("bookings.id"), unique=True)
    host_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)
    amount_ore: Mapped[int]
    state: Mapped[str] = mapped_column(String(16), default=PayoutState.SCHEDULED)
    due_at: Mapped[datetime] = mapped_column(UTCDateTime)
    provider_ref: Mapped[str | None] = mapped_column(String(255))  # Stripe transfer id
    paid_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    reversal_ref: Mapped[str | None] = mapped_column(String(255))
    marked_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    # When a sender claimed it (SENDING, or a reversal in flight); a stale claim is retried.
    claimed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    booking = relationship("Booking")
    host = relationship("User", foreign_keys=[host_id])

    @property
    def reversal_ore(self) -> int:
        """What a reversed payout takes back: the paid payout was the whole accommodation (one
        refund per booking, so none came before it), and `amount_ore` is now what the host
        keeps."""
        if self.state != PayoutState.REVERSED:
            return 0
        return self.booking.host_payout_ore - self.amount_ore


class WebhookState(enum.StrEnum):
    APPLIED = "applied"
    # Its object is not known yet (Stripe does not promise order): kept, with its body, and
    # applied once the event it depends on has been (`webhooks.retry_pending`).
    PENDING = "pending"


class WebhookEvent(db.Model):
    """A provider event received. Inserted in the same transaction as its effect, so a retried
    delivery hits the primary key and changes nothing (DESIGN §7, §15); an event that cannot
    be applied yet is kept as pending instead of being consumed with no effect."""

    __tablename__ = "webhook_events"
    __table_args__ = (Index("ix_webhook_events_state", "state"),)

    event_id: Mapped[str] = mapped_column(String(255), primary_key=True)
    type: Mapped[str] = mapped_column(String(100))
    received_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    state: Mapped[str] = mapped_column(
        String(16), default=WebhookState.APPLIED, server_default=WebhookState.APPLIED.value
    )
    is_connect: Mapped[bool] = mapped_column(default=False, server_default=sa_false())
    # The event's body while it waits (cleared once applied: it may name the guest).
    payload: Mapped[str | None] = mapped_column(Text)
    attempts: Mapped[int] = mapped_column(default=0, server_default="0")
    applied_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class DisputeState(enum.StrEnum):
    OPEN = "open"
    WON = "won"  # closed in the coop's favour (or an inquiry closed): the hold is released
    LOST = "lost"  # the guest's bank took the money back: the loss is in the books


class Dispute(db.Model):
    """A guest disputing their payment with their bank (`charge.dispute.*`).

    While it is open the host's payout is held, or, if it was paid, the host's share at stake
    (`reversal_ore`) is taken back from their connected account; won, the hold is released or
    the share sent back (`returned_ref`); lost, the chargeback and Stripe's fee are posted to
    the ledger (the rule is in `rentalcoop.payments.disputes`)."""

    __tablename__ = "disputes"
    __table_args__ = (
        CheckConstraint("amount_ore > 0", name="amount_positive"),
        CheckConstraint("fee_ore >= 0 AND reversal_ore >= 0", name="money_not_negative"),
        Index("ix_disputes_booking", "booking_id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    provider_ref: Mapped[str] = mapped_column(String(255), unique=True)  # Stripe's dp_…
    booking_id: Mapped[int] = mapped_column(ForeignKey("bookings.id"))
    payment_id: Mapped[int] = mapped_column(ForeignKey("payments.id"))
    amount_ore: Mapped[int]
    fee_ore: Mapped[int] = mapped_column(default=0)
    reason: Mapped[str] = mapped_column(String(64), default="")
    provider_status: Mapped[str] = mapped_column(String(32), default="")
    state: Mapped[str] = mapped_column(String(16), default=DisputeState.OPEN)
    # Taken back from a host already paid (a transfer reversal), and sent back if won.
    reversal_ore: Mapped[int] = mapped_column(default=0)
    reversal_ref: Mapped[str | None] = mapped_column(String(255))
    returned_ref: Mapped[str | None] = mapped_column(String(255))
    claimed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    closed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    booking = relationship("Booking")
    payment = relationship("Payment")


class HostPaymentAccount(db.Model):
    """A host's Stripe connected account (Express), onboarded through AccountLinks."""

    __tablename__ = "host_payment_accounts"

    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"), primary_key=True)
    stripe_account_id: Mapped[str] = mapped_column(String(255), unique=True)
    details_submitted: Mapped[bool] = mapped_column(default=False)
    charges_enabled: Mapped[bool] = mapped_column(default=False)
    payouts_enabled: Mapped[bool] = mapped_column(default=False)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)

    user = relationship("User")
