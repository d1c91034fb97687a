"""The coop's payment details (one row, like its profile) and the method a guest chose."""

from __future__ import annotations

import enum
from datetime import datetime

from sqlalchemy import CheckConstraint, ForeignKey, String
from sqlalchemy.orm import Mapped, mapped_column

from rentalcoop.db import UTCDateTime, in_values, utcnow
from rentalcoop.extensions import db
from rentalcoop.i18n import _l


class PaymentMethod(enum.StrEnum):
    SWISH = "swish"
    BANKGIRO = "bankgiro"


PAYMENT_METHOD_LABELS = {
    PaymentMethod.SWISH: _l("Swish"),
    PaymentMethod.BANKGIRO: _l("Bank giro"),
}


class PaymentSettings(db.Model):
    """Where guests pay the cooperative: payee, Swish number and bank giro (digits only), and
    how many bank days a bank giro booking is held (None: the configured default)."""

    __tablename__ = "payment_settings"
    __table_args__ = (
        CheckConstraint(
            "bankgiro_hold_days IS NULL OR (bankgiro_hold_days >= 1 AND bankgiro_hold_days <= 10)",
            name="hold_days_range",
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True, autoincrement=False)
    payee_name: Mapped[str] = mapped_column(String(200), default="")
    swish_number: Mapped[str] = mapped_column(String(10), default="")
    bankgiro_number: Mapped[str] = mapped_column(String(8), default="")
    bankgiro_hold_days: Mapped[int | None]
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))


class PaymentChoice(db.Model):
    """How the guest said they will pay a booking (manual provider). The hold it gave is the
    booking's `expires_at`; this row remembers the method for the page, the reminder and the
    board."""

    __tablename__ = "payment_choices"
    __table_args__ = (CheckConstraint(in_values("method", PaymentMethod), name="method_known"),)

    booking_id: Mapped[int] = mapped_column(
        ForeignKey("bookings.id", ondelete="CASCADE"), primary_key=True
    )
    method: Mapped[str] = mapped_column(String(16))
    chosen_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
