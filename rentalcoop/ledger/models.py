"""The cooperative's books: double-entry, append-only, integer öre (DESIGN §9)."""

from __future__ import annotations

import enum
from datetime import date, datetime

from sqlalchemy import CheckConstraint, Date, ForeignKey, Index, String, Text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from rentalcoop.db import UTCDateTime, utcnow
from rentalcoop.extensions import db


class Account(enum.StrEnum):
    """The chart of accounts. Signs: debit positive, credit negative."""

    CASH = "cash"  # guest payments held at the provider (asset)
    HOST_PAYABLE = "host_payable"  # owed to a host, per host (liability)
    GUEST_REFUND_PAYABLE = "guest_refund_payable"  # refunds owed, not yet paid (liability)
    SERVICE_FEE_REVENUE = "service_fee_revenue"  # net service fees (income)
    VAT_PAYABLE = "vat_payable"  # VAT on the service fee (liability)
    COMMUNITY_FUND = "community_fund"  # per project; project 0 / null = general fund (liability)
    OPERATING_COSTS = "operating_costs"  # (expense)
    RETAINED_RESULT = "retained_result"  # (equity)
    PATRONAGE_PAYABLE = "patronage_payable"  # refund of surplus owed to a member (liability)


class LedgerTransaction(db.Model):
    """One money event, posted once. Its entries sum to zero; nothing here is ever updated or
    deleted (database triggers refuse it): a correction is a reversal pointing back."""

    __tablename__ = "ledger_transactions"
    __table_args__ = (Index("ix_ledger_transactions_year", "fiscal_year"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    # Each event posts once: e.g. "booking:12:payment", "booking:12:refund".
    key: Mapped[str] = mapped_column(String(200), unique=True)
    kind: Mapped[str] = mapped_column(String(40))
    booking_id: Mapped[int | None] = mapped_column(ForeignKey("bookings.id"), index=True)
    # The business date the event belongs to (a stay's night, a cost's date), in Sweden.
    booked_on: Mapped[date] = mapped_column(Date)
    fiscal_year: Mapped[int]
    memo: Mapped[str] = mapped_column(Text, default="")
    reverses_id: Mapped[int | None] = mapped_column(ForeignKey("ledger_transactions.id"))
    posted_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    posted_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    entries: Mapped[list[LedgerEntry]] = relationship(
        back_populates="transaction", order_by="LedgerEntry.id"
    )


class LedgerEntry(db.Model):
    __tablename__ = "ledger_entries"
    __table_args__ = (
        CheckConstraint("amount_ore <> 0", name="amount_not_zero"),
        Index("ix_ledger_entries_account_party", "account", "party_id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    transaction_id: Mapped[int] = mapped_column(ForeignKey("ledger_transactions.id"), index=True)
    account: Mapped[str] = mapped_column(String(40))
    # Whose sub-account: a host's user id (host payable, patronage), a project id (fund).
    party_id: Mapped[int | None]
    amount_ore: Mapped[int]

    transaction: Mapped[LedgerTransaction] = relationship(back_populates="entries")


class FiscalYear(db.Model):
    """A closed year takes no more postings (DESIGN §9, §10)."""

    __tablename__ = "fiscal_years"

    year: Mapped[int] = mapped_column(primary_key=True, autoincrement=False)
    closed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    closed_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
