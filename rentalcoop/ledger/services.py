"""Posting to the cooperative's books and reading them back (DESIGN §9, §10).

Every money event posts one balanced transaction under a deterministic key
(`booking:<id>:payment` …), so a retried webhook or a second click posts nothing new. Posting
only flushes: the booking and payment services call these functions inside their own
transaction, and the request (or job) commits once. The database refuses UPDATE and DELETE of
posted rows (triggers, migration 0003); a correction is a reversal pointing back.

Signs: debit positive, credit negative; every transaction sums to zero.

**When the service fee is earned.** The guest pays the whole price up front, often months
before the stay, and the stay may be cancelled. DESIGN §10 asks, per fiscal year Y, for
F = net service fees *of nights stayed in Y* (minus fee refunds posted in Y) and C = the
community shares of those nights. So the fee is not revenue when it is paid:

- At payment the net fee (VAT excluded, community share included) goes to `UNEARNED_FEE`;
  VAT is payable at once (Swedish VAT falls due on an advance payment).
- When the stay completes, the net fee and the community share are each split over the stay's
  nights by year with `allocate` (largest remainder, weights = nights in the year), and one
  transaction per night-year, dated the stay's last night in that year, moves the year's part
  from `UNEARNED_FEE` to `SERVICE_FEE_REVENUE` and gives the year's community share to the fund
  (`COMMUNITY_CONTRIBUTIONS` debit, `COMMUNITY_FUND` of the chosen project credit).
- A cancellation refunds the refunded parts (exactly as `refund_for` gave them) and settles the
  rest of the fee at once: the part the coop keeps is earned on the cancellation date, its
  community share goes to the fund that day (the governance note: "retained cancellation fee
  stays in F"). A refund after the fee was earned (a dispute after the stay) reverses revenue
  and the fund's share in the year the refund is posted.

Then, for the close, straight from the ledger by `fiscal_year`:
F(Y) = −Σ SERVICE_FEE_REVENUE and C(Y) = Σ COMMUNITY_CONTRIBUTIONS (see `fee_figures`).
The community fund receives money only once the coop has earned it, so the public fund page
(DESIGN §12) never shows money that a cancellation later takes back.
"""

from __future__ import annotations

import math
import re
from collections import Counter
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import TYPE_CHECKING, NamedTuple

from sqlalchemy import case, func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import selectinload

from rentalcoop.db import utcnow
from rentalcoop.errors import DomainError
from rentalcoop.extensions import db
from rentalcoop.i18n import _, _l
from rentalcoop.ledger.allocation import allocate
from rentalcoop.ledger.models import (
    USER_PARTY_ACCOUNTS,
    Account,
    FiscalYear,
    LedgerEntry,
    LedgerTransaction,
    TransactionKind,
)

if TYPE_CHECKING:
    from rentalcoop.accounts.models import User
    from rentalcoop.bookings.cancellation import Refund
    from rentalcoop.bookings.models import Booking


class LedgerError(DomainError):
    """A posting that the rules of the books refuse (DESIGN §9)."""

    status_code = 409


class Leg(NamedTuple):
    """One line of a transaction: debit positive, credit negative."""

    account: Account
    party_id: int | None
    amount_ore: int


class _AnyParty:
    def __repr__(self) -> str:
        return "ANY_PARTY"


# `account_balance(account)` sums every party; pass `party_id=None` for the party-less line only
# (e.g. the community fund's general fund).
ANY_PARTY = _AnyParty()


# --- posting ---------------------------------------------------------------------------------


def post_transaction(
    key: str,
    kind: str,
    booked_on: date,
    legs: Sequence[Sequence],
    *,
    booking: Booking | int | None = None,
    memo: str = "",
    reverses: LedgerTransaction | None = None,
    posted_by: User | int | None = None,
) -> LedgerTransaction:
    """Post one balanced transaction once: a second call with the same key returns the first.

    Zero legs are left out; at least two must remain and they must sum to zero. Nothing posts
    into a closed fiscal year. Flushes, never commits.
    """
    if not key or len(key) > 200:
        raise ValueError(f"a ledger key must be 1–200 characters, got {key!r}")
    if not isinstance(booked_on, date) or isinstance(booked_on, datetime):
        raise TypeError("booked_on must be a date")
    lines = _clean_legs(legs)

    existing = find_transaction(key)
    if existing is not None:
        return existing
    _check_year_open(booked_on.year)

    transaction = LedgerTransaction(
        key=key,
        kind=str(kind),
        booking_id=_id_of(booking),
        booked_on=booked_on,
        fiscal_year=booked_on.year,
        memo=memo,
        reverses_id=reverses.id if reverses is not None else None,
        posted_by_id=_id_of(posted_by),
        entries=[
            LedgerEntry(account=str(leg.account), party_id=leg.party_id, amount_ore=leg.amount_ore)
            for leg in lines
        ],
    )
    if db.session.get_bind().dialect.name != "postgresql":
        # SQLite serialises writers: a second one waits for the first (BEGIN IMMEDIATE) and
        # then finds its row above, or fails with "database is locked" — it never posts twice.
        db.session.add(transaction)
        db.session.flush()
        return transaction
    # PostgreSQL: another transaction may post the same key between our check and our insert.
    # The unique key then refuses ours; the savepoint keeps the caller's transaction usable.
    try:
        with db.session.begin_nested():
            db.session.add(transaction)
    except IntegrityError:
        existing = find_transaction(key)
        if existing is None:
            raise
        return existing
    return transaction


def reverse_transaction(
    transaction: LedgerTransaction,
    key: str,
    booked_on: date,
    memo: str = "",
    posted_by: User | int | None = None,
) -> LedgerTransaction:
    """Correct a posted transaction by posting its opposite, linked to it (the original stays).

    The reversal is dated `booked_on`, so a transaction of a closed year is corrected in an open
    one (BFL 5:5: a correction is a traceable entry in the period it is found)."""
    earlier = db.session.scalar(
        select(LedgerTransaction).where(LedgerTransaction.reverses_id == transaction.id)
    )
    if earlier is not None and earlier.key != key:
        raise LedgerError(
            _l("Transaction %(id)s has already been reversed by transaction %(by)s."),
            id=transaction.id,
            by=earlier.id,
        )
    legs = [
        Leg(Account(entry.account), entry.party_id, -entry.amount_ore)
        for entry in transaction.entries
    ]
    return post_transaction(
        key,
        TransactionKind.REVERSAL,
        booked_on,
        legs,
        booking=transaction.booking_id,
        memo=memo,
        reverses=transaction,
        posted_by=posted_by,
    )


def find_transaction(key: str) -> LedgerTransaction | None:
    """The transaction posted under `key`, if any."""
    return db.session.scalar(select(LedgerTransaction).where(LedgerTransaction.key == key))


def is_year_closed(year: int) -> bool:
    """Whether the fiscal year has been closed (DESIGN §10): it then takes no postings."""
    return (
        db.session.scalar(select(FiscalYear.closed_at).where(FiscalYear.year == year)) is not None
    )


def _check_year_open(year: int) -> None:
    query = select(FiscalYear.closed_at).where(FiscalYear.year == year)
    if db.session.get_bind().dialect.name == "postgresql":
        # A share lock on the year's row: a close that is committing makes us wait and then see
        # it closed, instead of slipping a posting in behind it.
        query = query.with_for_update(read=True)
    if db.session.scalar(query) is not None:
        raise LedgerError(
            _l("The fiscal year %(year)s is closed: nothing more can be posted into it."),
            year=year,
        )


def _clean_legs(legs: Iterable[Sequence]) -> list[Leg]:
    lines = []
    for raw in legs:
        account, party_id, amount = raw
        if isinstance(amount, bool) or not isinstance(amount, int):
            raise TypeError(f"ledger amounts are integer öre, not {type(amount).__name__}")
        if party_id is not None and (isinstance(party_id, bool) or not isinstance(party_id, int)):
            raise TypeError(f"a party is an id, not {party_id!r}")
        try:
            account = Account(account)
        except ValueError as err:
            raise LedgerError(_l("There is no account %(account)s."), account=account) from err
        if amount != 0:
            lines.append(Leg(account, party_id, amount))
    if len(lines) < 2:
        raise LedgerError(_l("A transaction needs at least two lines that are not zero."))
    total = sum(leg.amount_ore for leg in lines)
    if total != 0:
        raise LedgerError(
            _l("The lines of a transaction must sum to zero, not %(total)s öre."), total=total
        )
    return lines


def _id_of(thing) -> int | None:
    if thing is None or isinstance(thing, int):
        return thing
    return thing.id


# --- the money events of a booking ------------------------------------------------------------


def booking_key(booking: Booking, event: str) -> str:
    """The key a booking's event posts under, e.g. `booking:12:payment`."""
    return f"booking:{booking.id}:{event}"


def post_payment_received(
    booking: Booking, *, on: date | None = None, posted_by: User | int | None = None
) -> LedgerTransaction:
    """The guest paid `total_ore`: the host is owed the accommodation, VAT is due, and the net
    fee waits in `UNEARNED_FEE` until the nights are stayed."""
    legs = [
        Leg(Account.CASH, None, booking.total_ore),
        Leg(Account.HOST_PAYABLE, booking.host_id, -booking.host_payout_ore),
        Leg(Account.VAT_PAYABLE, None, -booking.fee_vat_ore),
        Leg(Account.UNEARNED_FEE, None, -booking.fee_net_ore),
    ]
    return post_transaction(
        booking_key(booking, "payment"),
        TransactionKind.PAYMENT,
        on or _coop_date(booking.paid_at),
        legs,
        booking=booking,
        memo=f"Booking {booking.code}",
        posted_by=posted_by,
    )


def post_stay_completed(booking: Booking) -> list[LedgerTransaction]:
    """The stay is over: earn its net fee and give its community share to the fund, split over
    its nights by fiscal year (DESIGN §5, §10), one transaction per year.

    A year whose part was earned before (at its close, `post_stayed_nights`) is not posted
    again. Nothing is posted for a booking whose cancellation already settled the fee."""
    if not _payment_posted(booking):
        raise LedgerError(_l("No payment has been posted for booking %(code)s."), code=booking.code)
    if find_transaction(booking_key(booking, "refund")) is not None:
        return []
    posted = []
    for year in sorted(_nights_per_year(booking)):
        transaction = _post_stay_year(booking, year)
        if transaction is not None:
            posted.append(transaction)
    return posted


def post_stayed_nights(booking: Booking, year: int) -> LedgerTransaction | None:
    """Earn the part of a stay that falls in `year` before the stay is over: at the close of
    `year` every night of it has been stayed, so its fee is that year's revenue (accrual, BFL
    4:2 and K2/K3: a service is revenue as it is performed), and its nights count for that
    year's patronage. The rest stays unearned until the stay completes (or is cancelled)."""
    if not _payment_posted(booking):
        return None
    if find_transaction(booking_key(booking, "refund")) is not None:
        return None
    if year not in _nights_per_year(booking):
        return None
    return _post_stay_year(booking, year)


def _nights_per_year(booking: Booking) -> Counter:
    return Counter((booking.check_in + timedelta(days=n)).year for n in range(booking.nights))


def _post_stay_year(booking: Booking, year: int) -> LedgerTransaction | None:
    """One year's part of a stay's fee and community share (largest remainder over the nights
    per year, so the parts always sum to the booking's amounts, whenever each is posted).

    Dated the stay's last night in `year`. When `year` was closed without it (a stay that was
    not yet paid or confirmed at the close), the part is earned in the year it is found, dated
    today: the closed year stays untouched and the correction is traceable in the period it is
    made (BFL 5:5, BFNAR 2013:2 p. 2.17-18)."""
    key = booking_key(booking, f"stay:{year}")
    existing = find_transaction(key)
    if existing is not None:
        return existing
    nights_per_year = _nights_per_year(booking)
    fee = allocate(booking.fee_net_ore, nights_per_year)[year]
    community = allocate(booking.community_ore, nights_per_year)[year]
    legs = [
        Leg(Account.UNEARNED_FEE, None, fee),
        Leg(Account.SERVICE_FEE_REVENUE, None, -fee),
        Leg(Account.COMMUNITY_CONTRIBUTIONS, None, community),
        Leg(Account.COMMUNITY_FUND, booking.community_project_id, -community),
    ]
    booked_on = min(booking.check_out - timedelta(days=1), date(year, 12, 31))
    memo = f"Booking {booking.code}, nights in {year}"
    if is_year_closed(year):
        booked_on = _coop_date()
        memo += f" (the year {year} was closed: earned {booked_on.isoformat()})"
    return _post_unless_empty(
        key, TransactionKind.STAY_COMPLETED, booked_on, legs, booking=booking, memo=memo
    )


def post_refund(
    booking: Booking,
    refund: Refund,
    *,
    on: date | None = None,
    posted_by: User | int | None = None,
) -> LedgerTransaction | None:
    """A cancellation: the refunded parts go back (host payable, VAT, fee and its community
    share, exactly as `refund_for` split them) into a refund owed to the guest, and the part of
    the fee the coop keeps is earned now. Call it for every cancelled paid booking, even when
    nothing is refunded, so the kept fee is earned. Returns None when nothing was paid."""
    key = booking_key(booking, "refund")
    existing = find_transaction(key)
    if existing is not None:
        return existing
    if not _payment_posted(booking):
        if refund.total_ore == 0:
            return None
        raise LedgerError(
            _l("Nothing was received for booking %(code)s, so nothing can be refunded."),
            code=booking.code,
        )
    refunded_fee_net = refund.service_fee_ore - refund.fee_vat_ore
    _check_refund_fits(booking, refund, refunded_fee_net)
    legs = [
        Leg(Account.HOST_PAYABLE, booking.host_id, refund.nights_ore + refund.cleaning_ore),
        Leg(Account.VAT_PAYABLE, None, refund.fee_vat_ore),
        Leg(Account.GUEST_REFUND_PAYABLE, booking.guest_id, -refund.total_ore),
    ]
    # What is still unearned leaves UNEARNED_FEE; of the fee the coop keeps, what was not yet
    # earned is earned now (a kept cancellation fee stays in F). When more was earned than is
    # kept (a refund after the stay, or after the close earned a long stay's nights), the
    # difference takes back revenue and the fund's share in the year the refund is posted.
    earned_fee, given_community = _earned_so_far(booking)
    kept_fee_net = booking.fee_net_ore - refunded_fee_net
    kept_community = booking.community_ore - refund.community_ore
    legs += [
        Leg(Account.UNEARNED_FEE, None, booking.fee_net_ore - earned_fee),
        Leg(Account.SERVICE_FEE_REVENUE, None, earned_fee - kept_fee_net),
        Leg(Account.COMMUNITY_CONTRIBUTIONS, None, kept_community - given_community),
        Leg(Account.COMMUNITY_FUND, booking.community_project_id, given_community - kept_community),
    ]
    when = booking.cancelled_at or booking.paid_at
    return _post_unless_empty(
        key,
        TransactionKind.REFUND,
        on or _coop_date(when),
        legs,
        booking=booking,
        memo=f"Booking {booking.code}",
        posted_by=posted_by,
    )


def post_refund_paid(
    booking: Booking, *, on: date | None = None, posted_by: User | int | None = None
) -> LedgerTransaction | None:
    """The refund owed to the guest left the coop's money. None when no refund is owed."""
    key = booking_key(booking, "refund-paid")
    existing = find_transaction(key)
    if existing is not None:
        return existing
    owed = -_booking_balance(booking, Account.GUEST_REFUND_PAYABLE, booking.guest_id)
    if owed <= 0:
        return None
    legs = [
        Leg(Account.GUEST_REFUND_PAYABLE, booking.guest_id, owed),
        Leg(Account.CASH, None, -owed),
    ]
    return post_transaction(
        key,
        TransactionKind.REFUND_PAID,
        on or _coop_date(),
        legs,
        booking=booking,
        memo=f"Booking {booking.code}",
        posted_by=posted_by,
    )


def post_payout(
    booking: Booking,
    *,
    amount_ore: int | None = None,
    on: date | None = None,
    posted_by: User | int | None = None,
    is_sent: bool = False,
) -> LedgerTransaction | None:
    """The host was paid for this booking: by default all the coop still owes them for it
    (the accommodation less any refund). None when nothing is owed.

    `is_sent`: the transfer has already been made (Stripe answered it), so it is recorded even
    when a refund meanwhile left the host owing part of it back (the reversal that follows
    settles that, as for a refund after a payout)."""
    key = booking_key(booking, "payout")
    existing = find_transaction(key)
    if existing is not None:
        return existing
    _payment_posted(booking)
    owed = -_booking_balance(booking, Account.HOST_PAYABLE, booking.host_id)
    amount = owed if amount_ore is None else amount_ore
    if (amount > owed and not is_sent) or amount < 0:
        raise LedgerError(
            _l(
                "A payout of %(amount)s öre for booking %(code)s is more than the "
                "%(owed)s öre the host is owed."
            ),
            amount=amount,
            code=booking.code,
            owed=max(owed, 0),
        )
    if amount == 0:
        return None
    legs = [
        Leg(Account.HOST_PAYABLE, booking.host_id, amount),
        Leg(Account.CASH, None, -amount),
    ]
    return post_transaction(
        key,
        TransactionKind.PAYOUT,
        on or _coop_date(),
        legs,
        booking=booking,
        memo=f"Booking {booking.code}",
        posted_by=posted_by,
    )


def post_payout_reversed(
    booking: Booking,
    amount_ore: int,
    *,
    on: date | None = None,
    posted_by: User | int | None = None,
) -> LedgerTransaction:
    """Money paid out to the host came back (a transfer reversal after a refund): the host's
    payable is credited again with what the refund had debited."""
    key = booking_key(booking, "payout-reversed")
    existing = find_transaction(key)
    if existing is not None:
        return existing
    payout = find_transaction(booking_key(booking, "payout"))
    paid = 0
    if payout is not None:
        paid = sum(e.amount_ore for e in payout.entries if e.account == Account.HOST_PAYABLE)
    if not 0 < amount_ore <= paid:
        raise LedgerError(
            _l(
                "Only money paid out can come back: %(amount)s öre asked, %(paid)s öre paid "
                "out for booking %(code)s."
            ),
            amount=amount_ore,
            paid=paid,
            code=booking.code,
        )
    legs = [
        Leg(Account.CASH, None, amount_ore),
        Leg(Account.HOST_PAYABLE, booking.host_id, -amount_ore),
    ]
    return post_transaction(
        key,
        TransactionKind.PAYOUT_REVERSED,
        on or _coop_date(),
        legs,
        booking=booking,
        memo=f"Booking {booking.code}",
        posted_by=posted_by,
    )


def post_dispute_held_back(
    booking: Booking, dispute_ref: str, amount_ore: int, *, on: date | None = None
) -> LedgerTransaction:
    """A paid host's share of a disputed payment came back from their connected account (a
    transfer reversal): the coop owes it to the host again until the dispute closes."""
    legs = [
        Leg(Account.CASH, None, amount_ore),
        Leg(Account.HOST_PAYABLE, booking.host_id, -amount_ore),
    ]
    return post_transaction(
        booking_key(booking, f"dispute:{dispute_ref}:held-back"),
        TransactionKind.DISPUTE_HELD_BACK,
        on or _coop_date(),
        legs,
        booking=booking,
        memo=f"Booking {booking.code}",
    )


def post_dispute_returned(
    booking: Booking, dispute_ref: str, amount_ore: int, *, on: date | None = None
) -> LedgerTransaction:
    """The dispute was won: what was taken back from the host was transferred to them again."""
    legs = [
        Leg(Account.HOST_PAYABLE, booking.host_id, amount_ore),
        Leg(Account.CASH, None, -amount_ore),
    ]
    return post_transaction(
        booking_key(booking, f"dispute:{dispute_ref}:returned"),
        TransactionKind.DISPUTE_RETURNED,
        on or _coop_date(),
        legs,
        booking=booking,
        memo=f"Booking {booking.code}",
    )


def post_dispute_closed(
    booking: Booking,
    dispute_ref: str,
    *,
    chargeback_ore: int,
    fee_ore: int,
    host_share_ore: int,
    on: date | None = None,
) -> LedgerTransaction | None:
    """A dispute closed: the guest's bank took `chargeback_ore` (0 when the coop won) and
    Stripe kept `fee_ore`, both out of the coop's money. The host bears `host_share_ore` of
    the chargeback (they are owed that much less, or owe it back); the rest and the fee are a
    cost of the coop's year (`OPERATING_COSTS`, so O of DESIGN §10 carries them). The rule
    that decides the host's share is in `rentalcoop.payments.disputes`. None when nothing
    moved (won, fee refunded)."""
    if not 0 <= host_share_ore <= chargeback_ore or fee_ore < 0:
        raise LedgerError(_l("The dispute of booking %(code)s does not add up."), code=booking.code)
    legs = [
        Leg(Account.HOST_PAYABLE, booking.host_id, host_share_ore),
        Leg(Account.OPERATING_COSTS, None, chargeback_ore - host_share_ore + fee_ore),
        Leg(Account.CASH, None, -(chargeback_ore + fee_ore)),
    ]
    return _post_unless_empty(
        booking_key(booking, f"dispute:{dispute_ref}:closed"),
        TransactionKind.DISPUTE_LOST,
        on or _coop_date(),
        legs,
        booking=booking,
        memo=f"Booking {booking.code}",
    )


def post_operating_cost(
    key: str,
    amount_ore: int,
    on: date,
    memo: str = "",
    posted_by: User | int | None = None,
) -> LedgerTransaction:
    """A cost the board enters (issue 6), paid from the coop's money: O of DESIGN §10."""
    if amount_ore <= 0:
        raise LedgerError(_l("A cost must be more than zero."))
    legs = [Leg(Account.OPERATING_COSTS, None, amount_ore), Leg(Account.CASH, None, -amount_ore)]
    return post_transaction(
        key, TransactionKind.OPERATING_COST, on, legs, memo=memo, posted_by=posted_by
    )


def _payment_posted(booking: Booking) -> bool:
    """Whether the guest's payment is in the books. A booking marked paid (`paid_at`) whose
    payment was never posted (made straight in the database: demo data, tests) gets it posted
    now, dated the day it was paid, so the books always follow the booking."""
    if find_transaction(booking_key(booking, "payment")) is not None:
        return True
    if booking.paid_at is None:
        return False
    post_payment_received(booking)
    return True


def _post_unless_empty(key, kind, booked_on, legs, **kwargs) -> LedgerTransaction | None:
    """Post, or do nothing when every amount is zero (a free stay, a zero refund of no fee)."""
    existing = find_transaction(key)
    if existing is not None:
        return existing
    if all(leg.amount_ore == 0 for leg in legs):
        return None
    return post_transaction(key, kind, booked_on, legs, **kwargs)


def _check_refund_fits(booking: Booking, refund: Refund, refunded_fee_net: int) -> None:
    fits = (
        refund.nights_ore + refund.cleaning_ore <= booking.host_payout_ore
        and refund.fee_vat_ore <= booking.fee_vat_ore
        and 0 <= refunded_fee_net <= booking.fee_net_ore
        and refund.community_ore <= booking.community_ore
        and refund.total_ore <= booking.total_ore
    )
    if not fits:
        raise LedgerError(
            _l("The refund is more than was paid for booking %(code)s."), code=booking.code
        )


def _fee_and_community(*where) -> tuple[int, int]:
    """The fee earned and the community share given to the fund, over the ledger rows whose
    transactions match `where` (one booking, one fiscal year)."""
    revenue = func.sum(
        case((LedgerEntry.account == Account.SERVICE_FEE_REVENUE, -LedgerEntry.amount_ore), else_=0)
    )
    community = func.sum(
        case(
            (LedgerEntry.account == Account.COMMUNITY_CONTRIBUTIONS, LedgerEntry.amount_ore),
            else_=0,
        )
    )
    row = db.session.execute(
        select(func.coalesce(revenue, 0), func.coalesce(community, 0))
        .join(LedgerEntry.transaction)
        .where(*where)
    ).one()
    return int(row[0]), int(row[1])


def _earned_so_far(booking: Booking) -> tuple[int, int]:
    """The fee earned and the community share given to the fund for this booking so far."""
    return _fee_and_community(LedgerTransaction.booking_id == booking.id)


def _booking_balance(booking: Booking, account: Account, party_id: int | None) -> int:
    """The balance of one account line moved by this booking's transactions."""
    query = (
        select(func.coalesce(func.sum(LedgerEntry.amount_ore), 0))
        .join(LedgerEntry.transaction)
        .where(LedgerTransaction.booking_id == booking.id, LedgerEntry.account == account)
    )
    query = query.where(_party_is(party_id))
    return int(db.session.scalar(query))


def _party_is(party_id: int | None):
    if party_id is None:
        return LedgerEntry.party_id.is_(None)
    return LedgerEntry.party_id == party_id


def _coop_date(at=None) -> date:
    from rentalcoop.listings.pricing import coop_date

    return coop_date(at or utcnow())


# --- reading the books ------------------------------------------------------------------------


class Balance(NamedTuple):
    account: Account
    party_id: int | None
    balance_ore: int


def _account_order(account: str) -> int:
    return list(Account).index(Account(account))


def balances(as_of: date | None = None) -> list[Balance]:
    """Every account line's balance (per host, guest, project), debit positive, in one query.

    Balances are derived from the entries, never stored (DESIGN §9)."""
    query = (
        select(LedgerEntry.account, LedgerEntry.party_id, func.sum(LedgerEntry.amount_ore))
        .join(LedgerEntry.transaction)
        .group_by(LedgerEntry.account, LedgerEntry.party_id)
    )
    if as_of is not None:
        query = query.where(LedgerTransaction.booked_on <= as_of)
    rows = [
        Balance(Account(account), party_id, int(total))
        for account, party_id, total in db.session.execute(query)
        if total
    ]
    return sorted(rows, key=lambda row: (_account_order(row.account), row.party_id or 0))


def account_balance(
    account: Account,
    party_id: int | None | _AnyParty = ANY_PARTY,
    *,
    as_of: date | None = None,
) -> int:
    """One account's balance, debit positive: all its parties, or one (None = no party)."""
    query = (
        select(func.coalesce(func.sum(LedgerEntry.amount_ore), 0))
        .join(LedgerEntry.transaction)
        .where(LedgerEntry.account == Account(account))
    )
    if not isinstance(party_id, _AnyParty):
        query = query.where(_party_is(party_id))
    if as_of is not None:
        query = query.where(LedgerTransaction.booked_on <= as_of)
    return int(db.session.scalar(query))


@dataclass(frozen=True)
class TrialBalanceRow:
    account: Account
    debit_ore: int
    credit_ore: int

    @property
    def balance_ore(self) -> int:
        return self.debit_ore - self.credit_ore


@dataclass(frozen=True)
class TrialBalance:
    """One fiscal year's debits and credits per account; they total the same (DESIGN §9)."""

    year: int
    rows: list[TrialBalanceRow]
    is_closed: bool

    @property
    def total_debit_ore(self) -> int:
        return sum(row.debit_ore for row in self.rows)

    @property
    def total_credit_ore(self) -> int:
        return sum(row.credit_ore for row in self.rows)

    @property
    def is_balanced(self) -> bool:
        return self.total_debit_ore == self.total_credit_ore


def trial_balance(year: int) -> TrialBalance:
    """The trial balance of one fiscal year."""
    found = trial_balances(years=[year])
    return found[0] if found else TrialBalance(year, [], is_year_closed(year))


def trial_balances(years: Iterable[int] | None = None) -> list[TrialBalance]:
    """Trial balances of the given (default: every) fiscal year, newest first, in two queries."""
    debit = func.sum(case((LedgerEntry.amount_ore > 0, LedgerEntry.amount_ore), else_=0))
    credit = func.sum(case((LedgerEntry.amount_ore < 0, -LedgerEntry.amount_ore), else_=0))
    query = (
        select(LedgerTransaction.fiscal_year, LedgerEntry.account, debit, credit)
        .join(LedgerEntry.transaction)
        .group_by(LedgerTransaction.fiscal_year, LedgerEntry.account)
    )
    if years is not None:
        query = query.where(LedgerTransaction.fiscal_year.in_(list(years)))
    per_year: dict[int, list[TrialBalanceRow]] = {}
    for year, account, debits, credits in db.session.execute(query):
        per_year.setdefault(year, []).append(
            TrialBalanceRow(Account(account), int(debits), int(credits))
        )
    closed = set(
        db.session.scalars(select(FiscalYear.year).where(FiscalYear.closed_at.is_not(None)))
    )
    return [
        TrialBalance(
            year,
            sorted(rows, key=lambda row: _account_order(row.account)),
            year in closed,
        )
        for year, rows in sorted(per_year.items(), reverse=True)
    ]


@dataclass(frozen=True)
class FeeFigures:
    """F and C of DESIGN §10 for one fiscal year, from the ledger."""

    year: int
    fees_ore: int  # F: net fees earned in Y (nights stayed, kept on cancellation) less refunds
    community_ore: int  # C: the community shares of those fees


def fee_figures(year: int) -> FeeFigures:
    """F and C of a fiscal year: what the close subtracts O and the reserve from."""
    return FeeFigures(year, *_fee_and_community(LedgerTransaction.fiscal_year == year))


@dataclass(frozen=True)
class JournalPage:
    items: list[LedgerTransaction]
    page: int
    per_page: int
    total: int

    @property
    def pages(self) -> int:
        return max(1, math.ceil(self.total / self.per_page))

    @property
    def has_previous(self) -> bool:
        return self.page > 1

    @property
    def has_next(self) -> bool:
        return self.page < self.pages


def journal(page: int = 1, per_page: int = 50) -> JournalPage:
    """Transactions newest first with their entries, in three queries whatever the page size."""
    page = max(1, page)
    per_page = max(1, min(per_page, 500))
    total = db.session.scalar(select(func.count()).select_from(LedgerTransaction))
    items = list(
        db.session.scalars(
            select(LedgerTransaction)
            .options(selectinload(LedgerTransaction.entries))
            .order_by(LedgerTransaction.id.desc())
            .limit(per_page)
            .offset((page - 1) * per_page)
        )
    )
    return JournalPage(items, page, per_page, int(total))


def party_labels(lines: Iterable[tuple[str, int | None]]) -> dict[tuple[str, int | None], str]:
    """Names for (account, party) lines: a user's name, a project, or '' — in one query."""
    lines = set(lines)
    user_ids = {
        party for account, party in lines if party is not None and account in USER_PARTY_ACCOUNTS
    }
    names: dict[int, str] = {}
    if user_ids:
        from rentalcoop.accounts.models import User

        rows = db.session.execute(select(User.id, User.name).where(User.id.in_(user_ids)))
        names = {user_id: name for user_id, name in rows}
    labels = {}
    for account, party in lines:
        if account == Account.COMMUNITY_FUND:
            labels[account, party] = (
                _("General fund") if party is None else _("Project %(id)s", id=party)
            )
        elif party is None:
            labels[account, party] = ""
        else:
            labels[account, party] = names.get(party) or _("User %(id)s", id=party)
    return labels


class JournalLine(NamedTuple):
    booked_on: date
    fiscal_year: int
    transaction_id: int
    key: str
    kind: str
    account: str
    party_id: int | None
    party: str
    amount_ore: int
    memo: str


def journal_lines(year: int | None = None, *, batch: int = 2000) -> Iterator[JournalLine]:
    """Every entry in posting order (one per line, for the CSV export), read in batches so a
    large ledger never sits in memory at once."""
    last_id = 0
    while True:
        query = (
            select(LedgerEntry, LedgerTransaction)
            .join(LedgerEntry.transaction)
            .where(LedgerEntry.id > last_id)
            .order_by(LedgerEntry.id)
            .limit(batch)
        )
        if year is not None:
            query = query.where(LedgerTransaction.fiscal_year == year)
        rows = db.session.execute(query).all()
        if not rows:
            return
        labels = party_labels((entry.account, entry.party_id) for entry, _tx in rows)
        for entry, tx in rows:
            yield JournalLine(
                tx.booked_on,
                tx.fiscal_year,
                tx.id,
                tx.key,
                tx.kind,
                entry.account,
                entry.party_id,
                labels[entry.account, entry.party_id],
                entry.amount_ore,
                tx.memo,
            )
        last_id = rows[-1][0].id


_BOOKING_MEMO = re.compile(r"^Booking (?P<code>[A-Z0-9]+)(?:, nights in (?P<year>\d{4}))?$")
_PATRONAGE_MEMO = re.compile(r"^Patronage refund (?P<year>\d{4}) \(motion (?P<motion>\d+)\)$")


def memo_text(memo: str) -> str:
    """A posted memo in the reader's language. Memos are written once, in English, and never
    changed (the ledger is append-only), so the page translates the ones the app writes."""
    if match := _BOOKING_MEMO.match(memo or ""):
        if match["year"]:
            return _("Booking %(code)s, nights in %(year)s", code=match["code"], year=match["year"])
        return _("Booking %(code)s", code=match["code"])
    if match := _PATRONAGE_MEMO.match(memo or ""):
        return _(
            "Patronage refund %(year)s (motion %(motion)s)",
            year=match["year"],
            motion=match["motion"],
        )
    category, sep, note = (memo or "").partition(": ")
    if sep:
        from rentalcoop.governance.models import COST_CATEGORY_LABELS, CostCategory

        try:
            return f"{COST_CATEGORY_LABELS[CostCategory(category)]}: {note}"
        except ValueError:
            pass
    return memo or ""
