"""The cooperative's books: double-entry, append-only, integer öre (DESIGN §9)."""

from __future__ import annotations

import enum
from datetime import date, datetime

from sqlalchemy import CheckConstraint, Date, ForeignKey, Index, String, Text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from rentalcoop.db import UTCDateTime, utcnow
from rentalcoop.extensions import db
from rentalcoop.i18n import _l


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
    # Net service fees (VAT excluded) of stays not yet stayed or settled (liability): a fee is
    # earned night by night, so the close of DESIGN §10 can count the fees of nights stayed in Y.
    UNEARNED_FEE = "unearned_fee"
    # The community shares of earned fees, given to the fund (expense); C of DESIGN §10.
    COMMUNITY_CONTRIBUTIONS = "community_contributions"


ACCOUNT_LABELS = {
    Account.CASH: _l("Cash at the payment provider"),
    Account.HOST_PAYABLE: _l("Owed to hosts"),
    Account.GUEST_REFUND_PAYABLE: _l("Refunds owed to guests"),
    Account.SERVICE_FEE_REVENUE: _l("Service fee revenue"),
    Account.VAT_PAYABLE: _l("VAT payable"),
    Account.COMMUNITY_FUND: _l("Community fund"),
    Account.OPERATING_COSTS: _l("Operating costs"),
    Account.RETAINED_RESULT: _l("Retained result"),
    Account.PATRONAGE_PAYABLE: _l("Patronage refunds owed to members"),
    Account.UNEARNED_FEE: _l("Service fees not yet earned"),
    Account.COMMUNITY_CONTRIBUTIONS: _l("Contributions to the community fund"),
}

# Accounts whose party is a user (a host, a guest, a member); the fund's party is a project.
USER_PARTY_ACCOUNTS = frozenset(
    {Account.HOST_PAYABLE, Account.GUEST_REFUND_PAYABLE, Account.PATRONAGE_PAYABLE}
)


class TransactionKind(enum.StrEnum):
    """What a transaction records; other features may post kinds of their own."""

    PAYMENT = "payment"
    STAY_COMPLETED = "stay_completed"
    REFUND = "refund"
    REFUND_PAID = "refund_paid"
    PAYOUT = "payout"
    PAYOUT_REVERSED = "payout_reversed"
    OPERATING_COST = "operating_cost"
    REVERSAL = "reversal"
    DISPUTE_HELD_BACK = "dispute_held_back"  # a paid host's share taken back while disputed
    DISPUTE_RETURNED = "dispute_returned"  # … and sent back when the dispute was won
    DISPUTE_LOST = "dispute_lost"  # the chargeback and Stripe's dispute fee


TRANSACTION_KIND_LABELS = {
    TransactionKind.PAYMENT: _l("Guest payment"),
    TransactionKind.STAY_COMPLETED: _l("Stay completed, fee earned"),
    TransactionKind.REFUND: _l("Cancellation and refund"),
    TransactionKind.REFUND_PAID: _l("Refund paid"),
    TransactionKind.PAYOUT: _l("Host payout"),
    TransactionKind.PAYOUT_REVERSED: _l("Host payout reversed"),
    TransactionKind.OPERATING_COST: _l("Operating cost"),
    TransactionKind.REVERSAL: _l("Reversal"),
    TransactionKind.DISPUTE_HELD_BACK: _l("Host payout taken back during a dispute"),
    TransactionKind.DISPUTE_RETURNED: _l("Host payout returned after a dispute"),
    TransactionKind.DISPUTE_LOST: _l("Payment dispute closed"),
}


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
