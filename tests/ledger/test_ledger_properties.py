"""The acceptance property of issue 4 (DESIGN §9): after any sequence of bookings, payments,
cancellations under any policy, refunds and payouts, every transaction sums to zero and the money
received is fully accounted for:

    Σ guest payments received (CASH debits of kind `payment`)
      = host payouts (paid out − reversed)  + HOST_PAYABLE          (hosts: paid and owed)
      + refunds paid                         + GUEST_REFUND_PAYABLE  (guests: paid and owed)
      + VAT_PAYABLE
      + UNEARNED_FEE + SERVICE_FEE_REVENUE − COMMUNITY_CONTRIBUTIONS (the coop's fees)
      + COMMUNITY_FUND                                               (community shares)

(credit balances taken positive). Each term is also checked against an independent model of
what it should be, and F and C per fiscal year (DESIGN §10) against the nights stayed.
Each example runs in one database transaction that is rolled back, so examples start empty.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st
from sqlalchemy import func, select

from rentalcoop.bookings.cancellation import CancelledBy, Refund, refund_for
from rentalcoop.bookings.models import Booking, BookingState
from rentalcoop.extensions import db
from rentalcoop.ledger import services
from rentalcoop.ledger.allocation import allocate
from rentalcoop.ledger.models import Account, LedgerEntry, LedgerTransaction
from rentalcoop.listings.pricing import coop_date
from tests import factories

A = Account
POLICIES = ("flexible", "moderate", "firm", "strict")

booking_specs = st.fixed_dictionaries(
    {
        "policy": st.sampled_from(POLICIES),
        # Stays around the new year, so some are split over two fiscal years.
        "check_in": st.dates(date(2026, 12, 20), date(2027, 1, 5)),
        "prices": st.lists(st.integers(1, 400_000), min_size=1, max_size=6),
        "cleaning": st.sampled_from([0, 1, 33_333, 50_000]),
        "booked_days_before": st.integers(0, 60),
        "project": st.sampled_from([None, 1, 2]),
    }
)


@st.composite
def scenarios(draw):
    """Bookings, and for each a script of events in lifecycle order (usually paid first, then
    some of cancel / payout / refund paid / completion in any order), interleaved at random."""
    specs = draw(st.lists(booking_specs, min_size=1, max_size=4))
    scripts = []
    for index in range(len(specs)):
        script = ["pay"] if draw(st.integers(0, 9)) else []
        later = draw(st.permutations(["cancel", "payout", "refund_paid", "complete"]))
        script += later[: draw(st.sampled_from([4, 3, 2, 1, 0]))]
        cancel = (draw(st.sampled_from(list(CancelledBy))), draw(st.integers(0, 1000)))
        scripts.append([(index, action, *cancel) for action in script])
    steps = [step for script in scripts for step in script]
    # Shuffle the positions, then hand them out so each booking keeps its own order.
    order = draw(st.permutations(range(len(steps))))
    slots = {
        index: sorted(p for p, step in zip(order, steps, strict=True) if step[0] == index)
        for index in range(len(specs))
    }
    interleaved = [None] * len(steps)
    for index, script in enumerate(scripts):
        for position, step in zip(slots[index], script, strict=True):
            interleaved[position] = step
    return specs, interleaved


_HOST, _GUEST = CancelledBy.HOST, CancelledBy.GUEST
_SPEC = {
    "policy": "firm",
    "check_in": date(2026, 12, 30),
    "prices": [90_000, 120_000, 95_000],
    "cleaning": 50_000,
    "booked_days_before": 20,
    "project": 1,
}


@dataclass
class Expected:
    """What one booking should have put in the books, worked out without the ledger."""

    booking: Booking
    paid: bool = False
    cancelled: bool = False
    completed: bool = False
    refund: Refund | None = None
    cancelled_on: date | None = None
    refund_paid: bool = False
    payout: int = 0
    reversed: int = 0
    calls: list = field(default_factory=list)

    @property
    def refund_total(self) -> int:
        return self.refund.total_ore if self.refund else 0

    @property
    def host_refund(self) -> int:
        return self.refund.nights_ore + self.refund.cleaning_ore if self.refund else 0


def make_booking(spec, guest, area) -> Booking:
    prices = spec["prices"]
    if sum(prices) + spec["cleaning"] < 300:  # below the smallest charge (DESIGN §5)
        prices = [price + 300 for price in prices]
    home = factories.listing(
        area=area,
        nightly_price_ore=prices[0],
        cleaning_fee_ore=spec["cleaning"],
        cancellation_policy=spec["policy"],
    )
    check_in = spec["check_in"]
    for n, price in enumerate(prices):
        if price != prices[0]:
            factories.night_price(home, check_in + timedelta(days=n), price)
    created = datetime.combine(check_in, datetime.min.time(), UTC) - timedelta(
        days=spec["booked_days_before"], hours=7
    )
    booking = factories.booking(
        listing=home,
        guest=guest,
        check_in=check_in,
        nights=len(prices),
        state=BookingState.PENDING_PAYMENT,
        paid=False,
        created_at=created,
    )
    booking.community_project_id = spec["project"]
    assert booking.night_prices == prices
    return booking


def apply(expected: Expected, action: str, by: CancelledBy, permille: int) -> None:
    """Do what the booking and payment services would do, if the lifecycle allows it now."""
    booking = expected.booking
    if action == "pay" and not (expected.paid or expected.cancelled):
        booking.paid_at = booking.created_at + timedelta(minutes=5)
        booking.state = BookingState.CONFIRMED
        expected.paid = True
        call(expected, services.post_payment_received, booking)
    elif action == "cancel" and not (expected.cancelled or expected.completed):
        # Any moment between booking and check-out (cancelling after it is not possible).
        check_out = datetime.combine(booking.check_out, time(11), ZoneInfo(booking.timezone))
        at = booking.created_at + (check_out - booking.created_at) * permille // 1001
        booking.cancelled_at = at
        expected.cancelled = True
        if not expected.paid:
            return
        expected.refund = refund_for(booking, at, by)
        expected.cancelled_on = coop_date(at)
        call(expected, services.post_refund, booking, expected.refund)
        if expected.payout and expected.host_refund:
            # A refund after the payout: the transfer to the host is reversed (DESIGN §7).
            expected.reversed = min(expected.payout, expected.host_refund)
            call(expected, services.post_payout_reversed, booking, expected.reversed)
    elif action == "payout" and expected.paid and not expected.payout:
        owed = booking.host_payout_ore - expected.host_refund
        expected.payout = owed
        call(expected, services.post_payout, booking)
    elif action == "refund_paid" and expected.refund and not expected.refund_paid:
        expected.refund_paid = True
        call(expected, services.post_refund_paid, booking)
    elif action == "complete" and expected.paid and not (expected.cancelled or expected.completed):
        expected.completed = True
        call(expected, services.post_stay_completed, booking)


def call(expected: Expected, function, *args) -> None:
    function(*args)
    expected.calls.append((function, args))


def credit(account: Account) -> int:
    return -services.account_balance(account)


def kind_total(kind: str, account: Account) -> int:
    return db.session.scalar(
        select(func.coalesce(func.sum(LedgerEntry.amount_ore), 0))
        .join(LedgerEntry.transaction)
        .where(LedgerTransaction.kind == kind, LedgerEntry.account == account)
    )


@settings(
    max_examples=50,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@example(  # a refund after the payout: the transfer is reversed
    scenario=(
        [_SPEC],
        [(0, "pay", _HOST, 0), (0, "payout", _HOST, 0), (0, "cancel", _HOST, 500)]
        + [(0, "refund_paid", _HOST, 0)],
    )
)
@example(  # a stay over the new year completed; a guest's early cancellation, then the payout
    scenario=(
        [_SPEC, {**_SPEC, "policy": "moderate", "booked_days_before": 40}],
        [(0, "pay", _HOST, 0), (1, "pay", _GUEST, 0), (1, "cancel", _GUEST, 990)]
        + [(0, "complete", _HOST, 0), (1, "payout", _GUEST, 0), (0, "payout", _HOST, 0)],
    )
)
@given(scenario=scenarios())
def test_every_ore_received_is_accounted_for(app, scenario):
    with app.app_context():
        try:
            check_sequence(*scenario)
        finally:
            db.session.rollback()


def check_sequence(specs, ops):
    for project_id in (1, 2):  # the projects the specs choose among
        factories.community_project(id=project_id)
    area = factories.area()
    guest = factories.user()
    books = [Expected(make_booking(spec, guest, area)) for spec in specs]
    for index, action, by, permille in ops:
        apply(books[index], action, by, permille)

    # Every transaction has two or more lines and sums to zero.
    sums = db.session.execute(
        select(LedgerEntry.transaction_id, func.sum(LedgerEntry.amount_ore), func.count()).group_by(
            LedgerEntry.transaction_id
        )
    ).all()
    assert all(total == 0 and lines >= 2 for _tx, total, lines in sums), sums
    for trial in services.trial_balances():
        assert trial.is_balanced

    paid = [b for b in books if b.paid]
    received = sum(b.booking.total_ore for b in paid)
    host_paid_out = kind_total("payout", A.CASH) * -1 - kind_total("payout_reversed", A.CASH)
    refunds_paid = -kind_total("refund_paid", A.CASH)
    fees = (
        credit(A.UNEARNED_FEE) + credit(A.SERVICE_FEE_REVENUE) + credit(A.COMMUNITY_CONTRIBUTIONS)
    )
    # The acceptance invariant, from the ledger alone.
    assert kind_total("payment", A.CASH) == received
    assert received == (
        host_paid_out
        + credit(A.HOST_PAYABLE)
        + refunds_paid
        + credit(A.GUEST_REFUND_PAYABLE)
        + credit(A.VAT_PAYABLE)
        + fees
        + credit(A.COMMUNITY_FUND)
    )

    # Each term against the model.
    assert host_paid_out == sum(b.payout - b.reversed for b in books)
    assert credit(A.HOST_PAYABLE) == sum(
        b.booking.host_payout_ore - b.host_refund - b.payout + b.reversed for b in paid
    )
    assert refunds_paid == sum(b.refund_total for b in books if b.refund_paid)
    assert credit(A.GUEST_REFUND_PAYABLE) == sum(b.refund_total for b in books if not b.refund_paid)
    assert credit(A.VAT_PAYABLE) == sum(
        b.booking.fee_vat_ore - (b.refund.fee_vat_ore if b.refund else 0) for b in paid
    )
    assert credit(A.UNEARNED_FEE) == sum(
        b.booking.fee_net_ore for b in paid if not (b.completed or b.cancelled)
    )
    assert services.account_balance(A.CASH) == received - refunds_paid - host_paid_out

    # F and C per fiscal year (DESIGN §10): nights stayed in Y, and fees kept on cancellation.
    fees_by_year: Counter[int] = Counter()
    community_by_year: Counter[int] = Counter()
    for b in paid:
        booking = b.booking
        if b.completed:
            nights = Counter(
                (booking.check_in + timedelta(days=n)).year for n in range(booking.nights)
            )
            fees_by_year.update(allocate(booking.fee_net_ore, nights))
            community_by_year.update(allocate(booking.community_ore, nights))
        elif b.cancelled:
            refund = b.refund
            kept = booking.fee_net_ore - (refund.service_fee_ore - refund.fee_vat_ore)
            fees_by_year[b.cancelled_on.year] += kept
            community_by_year[b.cancelled_on.year] += booking.community_ore - refund.community_ore
    for year in range(2026, 2029):
        figures = services.fee_figures(year)
        assert (figures.fees_ore, figures.community_ore) == (
            fees_by_year[year],
            community_by_year[year],
        )
    assert credit(A.COMMUNITY_FUND) == sum(community_by_year.values())
    projects = Counter()
    for b in paid:
        if b.completed or b.cancelled:
            share = b.booking.community_ore - (b.refund.community_ore if b.refund else 0)
            projects[b.booking.community_project_id] += share
    for project, amount in projects.items():
        assert -services.account_balance(A.COMMUNITY_FUND, project) == amount

    # Every posting repeated (a webhook retried, a second click) posts nothing more.
    before = db.session.scalar(select(func.count()).select_from(LedgerTransaction))
    for b in books:
        for function, args in b.calls:
            function(*args)
    assert db.session.scalar(select(func.count()).select_from(LedgerTransaction)) == before
