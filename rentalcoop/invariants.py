"""What must always hold between bookings, nights, refunds, payouts and the books, checked on
the database as it is (`flask check invariants`, and tests that race two people).

Each check is one query over the whole database, so it runs on a production copy as well as
on a test database. A violation names its kind and the rows concerned; `violations()` returns
them all (an empty list when everything agrees). Run it after an incident, after a restore,
or from a test that just made two requests race.
"""

from __future__ import annotations

from dataclasses import dataclass

import click
from flask import Flask
from sqlalchemy import String, and_, cast, func, literal, or_, select
from sqlalchemy.exc import DBAPIError
from sqlalchemy.orm import aliased

from rentalcoop.bookings.models import (
    CANCELLED_STATES,
    HOLDING_STATES,
    BookedNight,
    Booking,
    BookingEvent,
    BookingState,
)
from rentalcoop.extensions import db
from rentalcoop.ledger.models import Account, LedgerEntry, LedgerTransaction
from rentalcoop.payments.models import Dispute, DisputeState, Payout, PayoutState, Refund

# A booking that ended without a stay: its payment, if one came, goes back under the rules.
ENDED_STATES = CANCELLED_STATES | {BookingState.EXPIRED, BookingState.DECLINED}
# A payout the host has, or is about to, receive.
LIVE_PAYOUT_STATES = (
    PayoutState.SCHEDULED,
    PayoutState.OWED,
    PayoutState.SENDING,
    PayoutState.HELD,
    PayoutState.PAID,
)

UNBALANCED = "ledger transaction does not balance"
REFUND_MISSING = "paid booking ended without its refund"
REFUND_DISAGREES = "refund disagrees with the booking"
NIGHTS_MISSING = "holding booking without its nights"
ORPHAN_NIGHTS = "nights without a holding booking"
DOUBLE_TRANSITION = "two transitions out of one state"
HISTORY_DISAGREES = "booking state differs from its last transition"
PAYOUT_FOR_REFUNDED = "payout owed for a fully refunded stay"
VOTE_WITHOUT_PROXY = "vote cast through a proxy that was not live"
PAYOUT_DURING_DISPUTE = "payout released while its payment is disputed"
HELD_WITHOUT_DISPUTE = "payout held without an open dispute"
DISPUTE_NOT_BOOKED = "closed dispute missing from the ledger"

KINDS = (
    UNBALANCED,
    REFUND_MISSING,
    REFUND_DISAGREES,
    NIGHTS_MISSING,
    ORPHAN_NIGHTS,
    DOUBLE_TRANSITION,
    HISTORY_DISAGREES,
    PAYOUT_FOR_REFUNDED,
    VOTE_WITHOUT_PROXY,
    PAYOUT_DURING_DISPUTE,
    HELD_WITHOUT_DISPUTE,
    DISPUTE_NOT_BOOKED,
)


@dataclass(frozen=True)
class Violation:
    kind: str
    subject: str  # e.g. "booking 12", "ledger transaction 40"
    detail: str = ""

    def __str__(self) -> str:
        return f"{self.kind}: {self.subject}" + (f" ({self.detail})" if self.detail else "")


def violations() -> list[Violation]:
    """Every invariant broken in the database, by kind (empty when all hold)."""
    found: list[Violation] = []
    for check in CHECKS:
        found.extend(check())
    return found


def _refund_key():
    return literal("booking:").concat(cast(Booking.id, String)).concat(":refund")


def unbalanced_transactions() -> list[Violation]:
    """A transaction's legs sum to zero, and there are at least two of them (DESIGN §9)."""
    rows = db.session.execute(
        select(
            LedgerTransaction.id,
            LedgerTransaction.key,
            func.coalesce(func.sum(LedgerEntry.amount_ore), 0),
            func.count(LedgerEntry.id),
        )
        .outerjoin(LedgerEntry, LedgerEntry.transaction_id == LedgerTransaction.id)
        .group_by(LedgerTransaction.id, LedgerTransaction.key)
        .having(or_(func.coalesce(func.sum(LedgerEntry.amount_ore), 0) != 0, func.count() < 2))
        .order_by(LedgerTransaction.id)
    )
    return [
        Violation(UNBALANCED, f"ledger transaction {tid}", f"{key}: sum {total} öre, {n} legs")
        for tid, key, total, n in rows
    ]


def missing_refunds() -> list[Violation]:
    """A paid booking that ended without a stay has its refund in the books, and a refund row
    when anything goes back (DESIGN §6, §9)."""
    refund_posted = (
        select(LedgerTransaction.id).where(LedgerTransaction.key == _refund_key()).exists()
    )
    refund_row = select(Refund.id).where(Refund.booking_id == Booking.id).exists()
    rows = db.session.execute(
        select(Booking.id, Booking.state, Booking.refund_total_ore, refund_posted, refund_row)
        .where(
            Booking.state.in_([str(s) for s in ENDED_STATES]),
            Booking.paid_at.is_not(None),
            or_(~refund_posted, and_(Booking.refund_total_ore > 0, ~refund_row)),
        )
        .order_by(Booking.id)
    )
    return [
        Violation(
            REFUND_MISSING,
            f"booking {bid}",
            f"{state}, refund {total} öre, "
            + ("no refund in the ledger" if not posted else "no refund row"),
        )
        for bid, state, total, posted, row in rows
    ]


def disagreeing_refunds() -> list[Violation]:
    """The refund row and the ledger's refund say what the booking says it gave back."""
    found = []
    rows = db.session.execute(
        select(Refund.id, Booking.id, Booking.state, Booking.refund_total_ore, Refund.amount_ore)
        .join(Booking, Booking.id == Refund.booking_id)
        .where(
            or_(
                Refund.amount_ore != Booking.refund_total_ore,
                Booking.state.not_in([str(s) for s in ENDED_STATES]),
            )
        )
        .order_by(Refund.id)
    )
    for refund_id, booking_id, state, total, amount in rows:
        found.append(
            Violation(
                REFUND_DISAGREES,
                f"booking {booking_id}",
                f"refund {refund_id} of {amount} öre; the booking ({state}) says {total} öre",
            )
        )
    guest_leg = (
        select(func.coalesce(func.sum(LedgerEntry.amount_ore), 0))
        .join(LedgerTransaction, LedgerTransaction.id == LedgerEntry.transaction_id)
        .where(
            LedgerTransaction.key == _refund_key(),
            LedgerEntry.account == str(Account.GUEST_REFUND_PAYABLE),
        )
        .scalar_subquery()
    )
    refund_posted = (
        select(LedgerTransaction.id).where(LedgerTransaction.key == _refund_key()).exists()
    )
    rows = db.session.execute(
        select(Booking.id, Booking.refund_total_ore, guest_leg)
        .where(refund_posted, guest_leg != -Booking.refund_total_ore)
        .order_by(Booking.id)
    )
    for booking_id, total, leg in rows:
        found.append(
            Violation(
                REFUND_DISAGREES,
                f"booking {booking_id}",
                f"the ledger refunds {-leg} öre; the booking says {total} öre",
            )
        )
    return found


def holding_without_nights() -> list[Violation]:
    """A requested, unpaid or confirmed booking holds each of its nights (DESIGN §3, §4)."""
    held = (
        select(func.count())
        .select_from(BookedNight)
        .where(BookedNight.booking_id == Booking.id)
        .scalar_subquery()
    )
    nights = Booking.check_out - Booking.check_in
    if db.session.get_bind().dialect.name == "sqlite":
        nights = func.julianday(Booking.check_out) - func.julianday(Booking.check_in)
    rows = db.session.execute(
        select(Booking.id, Booking.state, held, Booking.check_in, Booking.check_out)
        .where(Booking.state.in_([str(s) for s in HOLDING_STATES]), held != nights)
        .order_by(Booking.id)
    )
    return [
        Violation(NIGHTS_MISSING, f"booking {bid}", f"{state} holds {n} of [{a}, {b})")
        for bid, state, n, a, b in rows
    ]


def orphan_nights() -> list[Violation]:
    """Every held night belongs to a booking that holds (released nights are deleted)."""
    rows = db.session.execute(
        select(BookedNight.booking_id, Booking.state, func.count())
        .join(Booking, Booking.id == BookedNight.booking_id)
        .where(Booking.state.not_in([str(s) for s in HOLDING_STATES]))
        .group_by(BookedNight.booking_id, Booking.state)
        .order_by(BookedNight.booking_id)
    )
    return [
        Violation(ORPHAN_NIGHTS, f"booking {bid}", f"{state} still holds {n} nights")
        for bid, state, n in rows
    ]


def double_transitions() -> list[Violation]:
    """The lifecycle has no cycles, so a booking leaves each state at most once (DESIGN §4)."""
    leaving = or_(
        BookingEvent.from_state.is_(None), BookingEvent.from_state != BookingEvent.to_state
    )
    rows = db.session.execute(
        select(BookingEvent.booking_id, BookingEvent.from_state, func.count())
        .where(leaving)
        .group_by(BookingEvent.booking_id, BookingEvent.from_state)
        .having(func.count() > 1)
        .order_by(BookingEvent.booking_id)
    )
    found = [
        Violation(
            DOUBLE_TRANSITION, f"booking {bid}", f"{n} transitions out of {state or 'nothing'}"
        )
        for bid, state, n in rows
    ]
    inner = aliased(BookingEvent)
    last = (
        select(func.max(inner.id))
        .where(
            inner.booking_id == Booking.id,
            or_(inner.from_state.is_(None), inner.from_state != inner.to_state),
        )
        .scalar_subquery()
    )
    rows = db.session.execute(
        select(Booking.id, Booking.state, BookingEvent.to_state)
        .join(BookingEvent, BookingEvent.id == last)
        .where(BookingEvent.to_state != Booking.state)
        .order_by(Booking.id)
    )
    found += [
        Violation(HISTORY_DISAGREES, f"booking {bid}", f"is {state}, last moved to {to}")
        for bid, state, to in rows
    ]
    return found


def payouts_for_refunded_stays() -> list[Violation]:
    """A guest who got everything back leaves the host nothing to be paid (DESIGN §6, §7)."""
    rows = db.session.execute(
        select(Payout.id, Booking.id, Payout.state, Payout.amount_ore)
        .join(Booking, Booking.id == Payout.booking_id)
        .where(
            Payout.state.in_([str(s) for s in LIVE_PAYOUT_STATES]),
            Payout.amount_ore > 0,
            Booking.refund_total_ore >= Booking.total_ore,
        )
        .order_by(Payout.id)
    )
    return [
        Violation(
            PAYOUT_FOR_REFUNDED,
            f"booking {bid}",
            f"payout {pid} {state} for {amount} öre after a full refund",
        )
        for pid, bid, state, amount in rows
    ]


def votes_without_a_live_proxy() -> list[Violation]:
    """An open ballot cast for someone else was cast by the holder of their proxy before it was
    revoked (DESIGN §11: a revoked proxy votes no more; what it cast before stands). When it was
    registered is not compared: the board registers paper proxies after the fact."""
    from rentalcoop.governance.models import Channel, Motion, Proxy, Vote

    live = (
        select(Proxy.id)
        .join(Motion, Motion.meeting_id == Proxy.meeting_id)
        .where(
            Motion.id == Vote.motion_id,
            Proxy.principal_id == Vote.member_id,
            Proxy.holder_id == Vote.cast_by_id,
            or_(Proxy.revoked_at.is_(None), Proxy.revoked_at >= Vote.cast_at),
        )
        .exists()
    )
    rows = db.session.execute(
        select(Vote.id, Vote.motion_id, Vote.member_id, Vote.cast_by_id)
        .where(Vote.channel == str(Channel.PROXY), ~live)
        .order_by(Vote.id)
    )
    return [
        Violation(
            VOTE_WITHOUT_PROXY,
            f"vote {vid}",
            f"motion {motion}: cast by user {by} for user {member}",
        )
        for vid, motion, member, by in rows
    ]


def payouts_during_disputes() -> list[Violation]:
    """While a dispute is open the host is not paid for the stay: the payout is held, being
    sent (its sender then holds it), or — paid before the dispute — the host's share at stake
    is being taken back. A held payout has an open dispute (rentalcoop.payments.disputes)."""
    open_dispute = (
        select(Dispute.id)
        .where(Dispute.booking_id == Payout.booking_id, Dispute.state == str(DisputeState.OPEN))
        .exists()
    )
    not_taken_back = (
        select(Dispute.id)
        .where(
            Dispute.booking_id == Payout.booking_id,
            Dispute.state == str(DisputeState.OPEN),
            Dispute.reversal_ore == 0,
        )
        .exists()
    )
    released = or_(
        Payout.state.in_([str(PayoutState.SCHEDULED), str(PayoutState.OWED)]),
        and_(
            Payout.state.in_([str(PayoutState.PAID), str(PayoutState.REVERSED)]),
            Payout.amount_ore > 0,
            not_taken_back,
        ),
    )
    rows = db.session.execute(
        select(Payout.id, Payout.booking_id, Payout.state)
        .where(open_dispute, released, Payout.amount_ore > 0)
        .order_by(Payout.id)
    )
    found = [
        Violation(PAYOUT_DURING_DISPUTE, f"booking {bid}", f"payout {pid} is {state}")
        for pid, bid, state in rows
    ]
    rows = db.session.execute(
        select(Payout.id, Payout.booking_id)
        .where(Payout.state == str(PayoutState.HELD), ~open_dispute)
        .order_by(Payout.id)
    )
    found += [
        Violation(HELD_WITHOUT_DISPUTE, f"booking {bid}", f"payout {pid}") for pid, bid in rows
    ]
    return found


def disputes_missing_from_the_books() -> list[Violation]:
    """A lost dispute (or a dispute fee Stripe kept) is posted to the ledger (DESIGN §9)."""
    key = (
        literal("booking:")
        .concat(cast(Dispute.booking_id, String))
        .concat(":dispute:")
        .concat(Dispute.provider_ref)
        .concat(":closed")
    )
    posted = select(LedgerTransaction.id).where(LedgerTransaction.key == key).exists()
    rows = db.session.execute(
        select(Dispute.id, Dispute.booking_id, Dispute.state)
        .where(
            or_(
                Dispute.state == str(DisputeState.LOST),
                and_(Dispute.state == str(DisputeState.WON), Dispute.fee_ore > 0),
            ),
            ~posted,
        )
        .order_by(Dispute.id)
    )
    return [
        Violation(DISPUTE_NOT_BOOKED, f"booking {bid}", f"dispute {did} {state}")
        for did, bid, state in rows
    ]


CHECKS = (
    unbalanced_transactions,
    missing_refunds,
    disagreeing_refunds,
    holding_without_nights,
    orphan_nights,
    double_transitions,
    payouts_for_refunded_stays,
    votes_without_a_live_proxy,
    payouts_during_disputes,
    disputes_missing_from_the_books,
)


def init_app(app: Flask) -> None:
    @app.cli.group()
    def check():
        """Consistency checks on the database."""

    @check.command("invariants")
    def invariants():
        """Report every broken invariant; exit code 1 when there is any (2: no schema)."""
        try:
            found = violations()
        except DBAPIError as err:  # e.g. a database that was never migrated
            click.echo(
                f"The database could not be checked ({err.orig}). Has `flask db upgrade` run?",
                err=True,
            )
            raise SystemExit(2) from err
        for violation in found:
            click.echo(str(violation))
        if found:
            click.echo(f"{len(found)} violation(s)", err=True)
            raise SystemExit(1)
        click.echo("All invariants hold.")
