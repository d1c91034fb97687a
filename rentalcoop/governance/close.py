"""The fiscal-year close and the patronage refund (DESIGN §10).

For year Y, from the ledger: F and C by `ledger.fee_figures(Y)`, O = the operating costs posted
in Y, S = F − C − O; the board proposes a reserve R ≥ 0 and D = max(0, min(S − R, B + S)) is
split over the host-members by the nights of their stays in Y that fell inside one of their
membership periods, with `allocate` (largest remainder). S ≤ 0 distributes nothing: the loss is
carried. B is the result brought forward (`carried_result`): a carried loss is covered before
anything is distributed, and a distribution never exceeds the free equity of the adopted
balance sheet (lag 2018:672 12:2-4). The disposition posts only after the meeting adopted the
accounts (fastställelse). With no member nights at all there is nothing to split by, and D
stays in the cooperative.

**A draft, then posted once.** `save_draft` stores the figures and each host's share; it can be
rerun while the figures change. When the annual meeting passes the disposition motion for Y, the
close is posted with the reserve the meeting approved (`post_close`, also reached by
`flask coop close-year`): the figures are computed once more and frozen, one transaction
`close:<Y>:patronage` is posted, and the fiscal year Y is closed, so nothing posts into it
again. A rerun finds the close posted and changes nothing.

**Stays across the year end** (the rule for long stays). The fee of a night is earned in the
year of the night. A stay still running when Y closes (2025-12-20 → 2026-02-20, Y = 2025 closed
on 2026-02-10) has stayed every one of its nights in Y, so before the figures are computed the
close earns that part (`accrue_stayed_nights`: `ledger.post_stayed_nights`, dated 31 December of
Y) and counts those nights for Y's patronage; the rest stays unearned until the stay completes in
the open year. This is the accrual an accountant expects (BFL 4:2, K2/K3 revenue as the service
is performed): Y's accounts show Y's nights, the annual meeting is not held back by a guest still
staying, and when the stay completes its Y part is already posted, so nothing is posted into
the closed year. Should a Y part still be missing when Y is closed (the booking was not paid or
confirmed at the close), it is earned in the year it is found, dated that day, never in Y (BFL
5:5). A cancellation later refunds against what was earned (`ledger.post_refund`).

**The postings.** The revenue and cost accounts are not zeroed into RETAINED_RESULT at the year
end: balances are derived per `fiscal_year`, and F, C and O are read from those accounts for as
long as the books exist (a closing entry inside Y would make `fee_figures(Y)` read zero, and one
dated in Y+1 would distort Y+1). RETAINED_RESULT therefore holds what the meetings decided about
accumulated results: the patronage transaction, dated the day the meeting decided (in Y+1, the
year the debt arises, ch. 13 §3), debits RETAINED_RESULT by D and credits each member's
PATRONAGE_PAYABLE line (party = the member's user id) with their share. The cooperative's equity
is −(RETAINED_RESULT + the result accounts of every year).
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from datetime import date, timedelta

from sqlalchemy import func, select, union_all

from rentalcoop.accounts.models import Membership, MembershipPeriod, User
from rentalcoop.bookings.models import Booking, BookingState
from rentalcoop.db import utcnow
from rentalcoop.extensions import db
from rentalcoop.governance.models import (
    CloseState,
    Motion,
    MotionKind,
    MotionState,
    PatronageShare,
    YearClose,
)
from rentalcoop.governance.services import GovernanceError
from rentalcoop.i18n import _l
from rentalcoop.ledger import services as ledger
from rentalcoop.ledger.allocation import allocate
from rentalcoop.ledger.models import (
    Account,
    FiscalYear,
    LedgerEntry,
    LedgerTransaction,
    TransactionKind,
)
from rentalcoop.listings.pricing import coop_date

PATRONAGE_KIND = "patronage"


class CloseError(GovernanceError):
    status_code = 409


@dataclass(frozen=True)
class CloseFigures:
    year: int
    fees_ore: int  # F
    community_ore: int  # C
    costs_ore: int  # O
    reserve_ore: int  # R
    nights: dict[int, int] = field(default_factory=dict)  # member user id → booked nights
    shares: dict[int, int] = field(default_factory=dict)  # member user id → öre
    carried_ore: int = 0  # B: the result brought forward from earlier years (a loss < 0)

    @property
    def surplus_ore(self) -> int:
        return self.fees_ore - self.community_ore - self.costs_ore

    @property
    def total_nights(self) -> int:
        return sum(self.nights.values())

    @property
    def free_equity_ore(self) -> int:
        """B + S: what the adopted balance sheet holds for a value transfer (12:3-4)."""
        return self.carried_ore + self.surplus_ore

    @property
    def distributed_ore(self) -> int:
        """D = max(0, min(S − R, B + S)): never more than the year's surplus less the reserve,
        and never more than the free equity, so a carried loss is covered first."""
        if self.total_nights == 0:
            return 0
        return max(0, min(self.surplus_ore - self.reserve_ore, self.free_equity_ore))


def costs_of(year: int) -> int:
    """O: operating costs posted in the fiscal year (debit balance)."""
    return int(
        db.session.scalar(
            select(func.coalesce(func.sum(LedgerEntry.amount_ore), 0))
            .join(LedgerEntry.transaction)
            .where(
                LedgerEntry.account == Account.OPERATING_COSTS,
                LedgerTransaction.fiscal_year == year,
            )
        )
    )


RESULT_ACCOUNTS = (
    Account.SERVICE_FEE_REVENUE,
    Account.COMMUNITY_CONTRIBUTIONS,
    Account.OPERATING_COSTS,
)


def carried_result(year: int) -> int:
    """B: the result brought forward into `year` (credit positive): every earlier year's result
    less what the meetings distributed (RETAINED_RESULT, debited by each patronage refund).
    A carried loss is negative; reserves kept earlier are in it too."""
    earlier = db.session.scalar(
        select(func.coalesce(func.sum(LedgerEntry.amount_ore), 0))
        .join(LedgerEntry.transaction)
        .where(
            LedgerEntry.account.in_([str(a) for a in RESULT_ACCOUNTS]),
            LedgerTransaction.fiscal_year < year,
        )
    )
    retained = db.session.scalar(
        select(func.coalesce(func.sum(LedgerEntry.amount_ore), 0))
        .join(LedgerEntry.transaction)
        .where(
            LedgerEntry.account == Account.RETAINED_RESULT,
            LedgerTransaction.key != f"close:{year}:patronage",
        )
    )
    return -int(earlier) - int(retained)


def member_nights(year: int, until: date | None = None) -> dict[int, int]:
    """Booked nights per host-member: nights in `year` (up to `until`, exclusive) of stays whose
    fee is earned (completed, or still running and earned at the close) that fell while the host
    was a member."""
    start, end = date(year, 1, 1), date(year + 1, 1, 1)
    if until is not None:
        end = min(end, until)
    earned = (
        select(LedgerTransaction.id)
        .where(
            LedgerTransaction.booking_id == Booking.id,
            LedgerTransaction.kind == TransactionKind.STAY_COMPLETED,
        )
        .exists()
    )
    # Every membership period of the host (a member who left and came back has several).
    periods = union_all(
        select(
            Membership.user_id.label("user_id"),
            Membership.joined_on.label("joined_on"),
            Membership.left_on.label("left_on"),
        ),
        select(Membership.user_id, MembershipPeriod.joined_on, MembershipPeriod.left_on).join(
            MembershipPeriod, MembershipPeriod.membership_id == Membership.id
        ),
    ).subquery()
    rows = db.session.execute(
        select(
            Booking.host_id,
            Booking.check_in,
            Booking.check_out,
            periods.c.joined_on,
            periods.c.left_on,
        )
        .join(periods, periods.c.user_id == Booking.host_id)
        .where(
            (Booking.state == BookingState.COMPLETED)
            | ((Booking.state == BookingState.CONFIRMED) & earned),
            Booking.check_in < end,
            Booking.check_out > start,
        )
    )
    nights: dict[int, int] = {}
    for host_id, check_in, check_out, joined_on, left_on in rows:
        first = max(check_in, start, joined_on)
        last = min(check_out, end, left_on or end)
        if last > first:
            nights[host_id] = nights.get(host_id, 0) + (last - first).days
    return nights


def compute(year: int, reserve_ore: int = 0) -> CloseFigures:
    """The close's figures from the ledger and the bookings, without changing anything."""
    if reserve_ore < 0:
        raise CloseError(_l("The reserve cannot be negative."))
    fees = ledger.fee_figures(year)
    nights = member_nights(year)
    draft = CloseFigures(
        year,
        fees.fees_ore,
        fees.community_ore,
        costs_of(year),
        reserve_ore,
        nights,
        carried_ore=carried_result(year),
    )
    return replace(draft, shares=allocate(draft.distributed_ore, nights) if nights else {})


def _store(figures: CloseFigures, row: YearClose | None) -> YearClose:
    if row is None:
        row = YearClose(year=figures.year)
        db.session.add(row)
    row.fees_ore = figures.fees_ore
    row.community_ore = figures.community_ore
    row.costs_ore = figures.costs_ore
    row.surplus_ore = figures.surplus_ore
    row.reserve_ore = figures.reserve_ore
    row.carried_ore = figures.carried_ore
    row.distributed_ore = figures.distributed_ore
    row.nights = figures.total_nights
    row.computed_at = utcnow()
    row.shares = [
        PatronageShare(
            year=figures.year,
            member_id=member_id,
            nights=figures.nights[member_id],
            amount_ore=figures.shares.get(member_id, 0),
        )
        for member_id in sorted(figures.nights)
    ]
    db.session.flush()
    return row


def year_close(year: int) -> YearClose | None:
    return db.session.get(YearClose, year)


def share_names(year: int) -> dict[int, str]:
    """The names of the members with a share in `year`'s close, by id (one query)."""
    return dict(
        db.session.execute(
            select(User.id, User.name)
            .join(PatronageShare, PatronageShare.member_id == User.id)
            .where(PatronageShare.year == year)
        ).all()
    )


def accrue_stayed_nights(year: int, today: date | None = None) -> int:
    """Earn in `year` the nights of stays still running (or not yet completed) when `year` has
    ended; see the module's rule for long stays. Returns how many stays it earned."""
    today = today or coop_date()
    if today <= date(year, 12, 31) or ledger.is_year_closed(year):
        return 0
    running = db.session.scalars(
        select(Booking)
        .where(
            Booking.state == BookingState.CONFIRMED,
            Booking.check_in < date(year + 1, 1, 1),
            Booking.check_out > date(year, 1, 1),
        )
        .order_by(Booking.id)
    ).all()
    return sum(1 for booking in running if ledger.post_stayed_nights(booking, year) is not None)


def save_draft(year: int, reserve_ore: int | None = None) -> YearClose:
    """Compute and store the draft the board proposes to the meeting (a posted close is kept)."""
    row = year_close(year)
    if row is not None and row.state == CloseState.POSTED:
        return row
    accrue_stayed_nights(year)
    if reserve_ore is None:
        reserve_ore = row.reserve_ore if row is not None else 0
    row = _store(compute(year, reserve_ore), row)
    propose_reserve(year, row.reserve_ore)
    return row


def propose_reserve(year: int, reserve_ore: int) -> list[Motion]:
    """The board's reserve reaches the disposition motions of `year` that are not yet voted on
    (13:3: the meeting decides on the board's proposal). Once a vote opens, the motion keeps
    the reserve it was opened with."""
    pending = list(
        db.session.scalars(
            select(Motion).where(
                Motion.kind == MotionKind.DISPOSITION,
                Motion.fiscal_year == year,
                Motion.state.in_((MotionState.SUBMITTED, MotionState.ON_AGENDA)),
            )
        )
    )
    for motion in pending:
        motion.reserve_ore = reserve_ore
    db.session.flush()
    return pending


def _passed_motion(kind: MotionKind, year: int) -> Motion | None:
    """The latest passed motion of this kind for the fiscal year."""
    return db.session.scalar(
        select(Motion)
        .where(
            Motion.kind == kind,
            Motion.fiscal_year == year,
            Motion.state == MotionState.DECIDED,
            Motion.passed.is_(True),
        )
        .order_by(Motion.closed_at.desc())
        .limit(1)
    )


def adopted_accounts(year: int) -> Motion | None:
    """The passed accounts motion for the year (fastställelse of the income statement and the
    balance sheet): the disposition is of the result in the adopted balance sheet (13:3)."""
    return _passed_motion(MotionKind.ACCOUNTS, year)


def approved_disposition(year: int) -> Motion | None:
    """The passed disposition motion for the year, if the meeting has approved one."""
    return _passed_motion(MotionKind.DISPOSITION, year)


def post_close(
    year: int, motion: Motion | None = None, *, by: User | None = None, on: date | None = None
) -> YearClose:
    """Post the approved close once: the patronage refunds, then the year is closed."""
    row = year_close(year)
    if row is not None and row.state == CloseState.POSTED:
        return row  # posted before: a rerun changes nothing
    motion = motion or approved_disposition(year)
    if motion is None or not motion.passed or motion.fiscal_year != year:
        raise CloseError(
            _l("The meeting has not approved the disposition of the result %(year)s yet."),
            year=year,
        )
    if adopted_accounts(year) is None:
        raise CloseError(
            _l(
                "The meeting has not adopted the accounts of %(year)s; the result cannot be "
                "disposed of."
            ),
            year=year,
        )
    on = on or coop_date()
    if on <= date(year, 12, 31):
        raise CloseError(_l("The year %(year)s has not ended yet."), year=year)
    reserve = motion.reserve_ore
    if reserve is None:
        reserve = row.reserve_ore if row is not None else 0
    accrue_stayed_nights(year, today=on)
    figures = compute(year, reserve)
    row = _store(figures, row)
    if figures.distributed_ore > 0:
        legs = [ledger.Leg(Account.RETAINED_RESULT, None, figures.distributed_ore)]
        legs += [
            ledger.Leg(Account.PATRONAGE_PAYABLE, member_id, -amount)
            for member_id, amount in sorted(figures.shares.items())
            if amount
        ]
        transaction = ledger.post_transaction(
            f"close:{year}:patronage",
            PATRONAGE_KIND,
            on,
            legs,
            memo=f"Patronage refund {year} (motion {motion.id})",
            posted_by=by,
        )
        row.transaction_id = transaction.id
    fiscal_year = _locked_year(year)
    fiscal_year.closed_at = utcnow()
    fiscal_year.closed_by_id = by.id if by is not None else None
    row.state = CloseState.POSTED
    row.posted_at = utcnow()
    row.disposition_motion_id = motion.id
    db.session.flush()
    return row


def _locked_year(year: int) -> FiscalYear:
    query = select(FiscalYear).where(FiscalYear.year == year)
    if db.session.get_bind().dialect.name == "postgresql":
        query = query.with_for_update()  # wait for postings that hold the year's share lock
    found = db.session.scalar(query)
    if found is None:
        found = FiscalYear(year=year)
        db.session.add(found)
        db.session.flush()
    return found


def statement(year: int, member_id: int) -> PatronageShare | None:
    return db.session.get(PatronageShare, (year, member_id))


def closes_for(member_id: int) -> list[tuple[YearClose, PatronageShare]]:
    """A member's statements, newest year first (posted closes only)."""
    rows = db.session.execute(
        select(YearClose, PatronageShare)
        .join(PatronageShare, PatronageShare.year == YearClose.year)
        .where(PatronageShare.member_id == member_id, YearClose.state == CloseState.POSTED)
        .order_by(YearClose.year.desc())
    ).all()
    return [(close, share) for close, share in rows]


def per_night_ore(row: YearClose) -> int | None:
    """D / N in öre, for display only (the shares come from `allocate`)."""
    if not row.nights:
        return None
    return (row.distributed_ore + row.nights // 2) // row.nights


@dataclass(frozen=True)
class Estimate:
    year: int
    my_nights: int
    all_nights: int
    surplus_so_far_ore: int
    estimate_ore: int


def estimate_for(member: User, today: date | None = None) -> Estimate:
    """An estimate, not a promise: this year's S so far × my nights / all nights so far (no
    reserve deducted, costs still to come)."""
    today = today or coop_date()
    year = today.year
    nights = member_nights(year, until=today + timedelta(days=1))
    fees = ledger.fee_figures(year)
    surplus = CloseFigures(year, fees.fees_ore, fees.community_ore, costs_of(year), 0).surplus_ore
    mine, total = nights.get(member.id, 0), sum(nights.values())
    estimate = max(0, surplus) * mine // total if total else 0
    return Estimate(year, mine, total, surplus, estimate)
