"""Posting (DESIGN §9): balanced, once per key, never into a closed year; each money event of a
booking with hand-checked numbers."""

from __future__ import annotations

from datetime import UTC, date, datetime

import pytest
from sqlalchemy import func, select

from rentalcoop.bookings.cancellation import CancelledBy, refund_for
from rentalcoop.extensions import db
from rentalcoop.ledger import services
from rentalcoop.ledger.models import Account, FiscalYear, LedgerEntry, LedgerTransaction
from rentalcoop.ledger.services import LedgerError, Leg
from tests import factories

pytestmark = pytest.mark.usefixtures("ctx")

A = Account


def lines(transaction) -> list[tuple[str, int | None, int]]:
    return [(entry.account, entry.party_id, entry.amount_ore) for entry in transaction.entries]


def count(model=LedgerTransaction) -> int:
    return db.session.scalar(select(func.count()).select_from(model))


def a_booking(**kwargs):
    """3 nights at 800 kr and a 300 kr cleaning fee under the founding rates (DESIGN §5):
    accommodation 2 700 kr, service fee 405 kr of which VAT 81 kr, net 324 kr, community
    162 kr; the guest pays 3 105 kr."""
    home = factories.listing(
        nightly_price_ore=80_000,
        cleaning_fee_ore=30_000,
        cancellation_policy=kwargs.pop("policy", "moderate"),
    )
    kwargs.setdefault("check_in", date(2026, 7, 10))
    kwargs.setdefault("created_at", datetime(2026, 5, 1, 10, tzinfo=UTC))
    booking = factories.booking(listing=home, **kwargs)
    assert (booking.total_ore, booking.accommodation_ore) == (310_500, 270_000)
    assert (booking.service_fee_ore, booking.fee_vat_ore) == (40_500, 8_100)
    assert (booking.fee_net_ore, booking.community_ore) == (32_400, 16_200)
    return booking


# --- post_transaction ---------------------------------------------------------------------


def test_a_balanced_transaction_is_posted_and_flushed():
    tx = services.post_transaction(
        "test:1",
        "test",
        date(2026, 3, 1),
        [(A.CASH, None, 500), (A.OPERATING_COSTS, None, -200), Leg(A.RETAINED_RESULT, None, -300)],
        memo="three legs",
    )
    assert tx.id is not None
    assert tx.fiscal_year == 2026
    assert lines(tx) == [
        ("cash", None, 500),
        ("operating_costs", None, -200),
        ("retained_result", None, -300),
    ]


@pytest.mark.parametrize(
    "legs",
    [
        [(A.CASH, None, 100), (A.OPERATING_COSTS, None, -99)],  # does not sum to zero
        [(A.CASH, None, 100)],  # one leg
        [(A.CASH, None, 0), (A.OPERATING_COSTS, None, 0)],  # nothing but zeros
        [(A.CASH, None, 100), (A.OPERATING_COSTS, None, 0)],  # one non-zero leg
        [],
        [("no_such_account", None, 100), (A.CASH, None, -100)],
    ],
)
def test_an_unbalanced_or_empty_transaction_is_refused(legs):
    with pytest.raises(LedgerError):
        services.post_transaction("test:bad", "test", date(2026, 3, 1), legs)
    assert count() == 0


def test_zero_legs_are_left_out():
    tx = services.post_transaction(
        "test:z",
        "test",
        date(2026, 3, 1),
        [(A.CASH, None, 100), (A.VAT_PAYABLE, None, 0), (A.OPERATING_COSTS, None, -100)],
    )
    assert len(tx.entries) == 2


def test_amounts_must_be_integer_ore():
    with pytest.raises(TypeError):
        services.post_transaction(
            "test:f",
            "test",
            date(2026, 3, 1),
            [(A.CASH, None, 1.5), (A.OPERATING_COSTS, None, -1.5)],
        )


def test_the_same_key_posts_once():
    legs = [(A.CASH, None, 100), (A.OPERATING_COSTS, None, -100)]
    first = services.post_transaction("test:once", "test", date(2026, 3, 1), legs)
    again = services.post_transaction("test:once", "test", date(2026, 3, 2), legs)
    assert again is first
    assert count() == 1
    assert count(LedgerEntry) == 2


def test_a_closed_year_takes_no_postings_and_a_correction_goes_into_an_open_one():
    legs = [(A.OPERATING_COSTS, None, 10_000), (A.CASH, None, -10_000)]
    original = services.post_transaction("cost:1", "operating_cost", date(2026, 11, 2), legs)
    db.session.add(FiscalYear(year=2026, closed_at=datetime(2027, 5, 20, tzinfo=UTC)))
    db.session.flush()

    with pytest.raises(LedgerError, match="2026"):
        services.post_transaction("cost:2", "operating_cost", date(2026, 12, 31), legs)
    with pytest.raises(LedgerError):
        services.reverse_transaction(original, "cost:1:reversal", date(2026, 12, 31))
    assert services.is_year_closed(2026)
    assert not services.is_year_closed(2027)

    reversal = services.reverse_transaction(
        original, "cost:1:reversal", date(2027, 1, 15), memo="entered twice"
    )
    assert reversal.reverses_id == original.id
    assert reversal.fiscal_year == 2027
    assert lines(reversal) == [("operating_costs", None, -10_000), ("cash", None, 10_000)]
    assert services.account_balance(A.OPERATING_COSTS) == 0
    # One reversal per transaction; asking again under its key returns it.
    assert services.reverse_transaction(original, "cost:1:reversal", date(2027, 1, 16)) is reversal
    with pytest.raises(LedgerError):
        services.reverse_transaction(original, "cost:1:another", date(2027, 1, 16))


def test_an_open_fiscal_year_row_does_not_block_postings():
    db.session.add(FiscalYear(year=2026))
    db.session.flush()
    services.post_operating_cost("cost:open", 5_000, date(2026, 4, 1))
    assert services.account_balance(A.OPERATING_COSTS) == 5_000


# --- the events of a booking --------------------------------------------------------------


def test_payment_received():
    booking = a_booking()
    tx = services.post_payment_received(booking)
    assert tx.key == f"booking:{booking.id}:payment"
    assert tx.booking_id == booking.id
    assert tx.booked_on == date(2026, 5, 1)  # the Swedish date of paid_at
    assert lines(tx) == [
        ("cash", None, 310_500),
        ("host_payable", booking.host_id, -270_000),
        ("vat_payable", None, -8_100),
        ("unearned_fee", None, -32_400),
    ]
    assert services.post_payment_received(booking) is tx
    assert count() == 1


def test_a_stay_is_earned_when_completed():
    booking = a_booking()
    booking.community_project_id = factories.community_project(id=7).id  # the guest's choice
    services.post_payment_received(booking)
    [tx] = services.post_stay_completed(booking)
    assert tx.key == f"booking:{booking.id}:stay:2026"
    assert tx.booked_on == date(2026, 7, 12)  # the last night
    assert lines(tx) == [
        ("unearned_fee", None, 32_400),
        ("service_fee_revenue", None, -32_400),
        ("community_contributions", None, 16_200),
        ("community_fund", 7, -16_200),
    ]
    assert services.post_stay_completed(booking) == [tx]
    assert services.fee_figures(2026) == services.FeeFigures(2026, 32_400, 16_200)
    assert services.account_balance(A.UNEARNED_FEE) == 0


def test_a_stay_over_new_year_is_earned_in_both_years_by_nights():
    # Nights 30 and 31 December and 1 January: two thirds of the fee in 2026, one in 2027.
    booking = a_booking(check_in=date(2026, 12, 30))
    services.post_payment_received(booking)
    first, second = services.post_stay_completed(booking)
    assert (first.key, first.booked_on) == (f"booking:{booking.id}:stay:2026", date(2026, 12, 31))
    assert (second.key, second.booked_on) == (f"booking:{booking.id}:stay:2027", date(2027, 1, 1))
    assert services.fee_figures(2026) == services.FeeFigures(2026, 21_600, 10_800)
    assert services.fee_figures(2027) == services.FeeFigures(2027, 10_800, 5_400)
    assert services.account_balance(A.COMMUNITY_FUND, None) == -16_200  # the general fund


def test_an_uneven_split_over_years_is_exact():
    # 4 nights, 1 in 2026 and 3 in 2027: net fee 42 000 öre → 10 500 / 31 500 exactly;
    # community 21 000 → 5 250 / 15 750.
    home = factories.listing(nightly_price_ore=80_000, cleaning_fee_ore=30_000)
    booking = factories.booking(listing=home, check_in=date(2026, 12, 31), nights=4)
    assert (booking.fee_net_ore, booking.community_ore) == (42_000, 21_000)
    services.post_payment_received(booking)
    services.post_stay_completed(booking)
    assert services.fee_figures(2026) == services.FeeFigures(2026, 10_500, 5_250)
    assert services.fee_figures(2027) == services.FeeFigures(2027, 31_500, 15_750)


def test_stay_completed_needs_a_payment():
    booking = a_booking(paid=False, state="pending_payment")
    with pytest.raises(LedgerError):
        services.post_stay_completed(booking)


def test_a_full_refund_before_the_stay():
    booking = a_booking()
    services.post_payment_received(booking)
    booking.cancelled_at = datetime(2026, 6, 1, 12, tzinfo=UTC)
    refund = refund_for(booking, booking.cancelled_at, CancelledBy.GUEST)  # 39 days before
    assert refund.total_ore == 310_500

    tx = services.post_refund(booking, refund)
    assert tx.key == f"booking:{booking.id}:refund"
    assert tx.booked_on == date(2026, 6, 1)
    assert lines(tx) == [
        ("host_payable", booking.host_id, 270_000),
        ("vat_payable", None, 8_100),
        ("guest_refund_payable", booking.guest_id, -310_500),
        ("unearned_fee", None, 32_400),
    ]
    assert services.post_refund(booking, refund) is tx
    # Nothing is left to earn, and the payout owes nothing.
    assert services.post_stay_completed(booking) == []
    assert services.post_payout(booking) is None

    paid = services.post_refund_paid(booking, on=date(2026, 6, 3))
    assert lines(paid) == [
        ("guest_refund_payable", booking.guest_id, 310_500),
        ("cash", None, -310_500),
    ]
    assert services.post_refund_paid(booking) is paid
    assert services.balances() == []  # every account back to zero


def test_a_partial_refund_keeps_and_earns_the_rest_of_the_fee():
    booking = a_booking(policy="moderate")
    services.post_payment_received(booking)
    # Moderate, two days before check-in (15:00 on 10 July): 50 % of the nights after the next
    # one (2 × 800 kr) = 800 kr, the cleaning fee, and the fee in proportion 800/2 400 = 135 kr
    # (VAT 27 kr, community 54 kr).
    booking.cancelled_at = datetime(2026, 7, 8, 10, tzinfo=UTC)
    refund = refund_for(booking, booking.cancelled_at, CancelledBy.GUEST)
    assert (refund.nights_ore, refund.cleaning_ore, refund.service_fee_ore) == (
        80_000,
        30_000,
        13_500,
    )
    assert (refund.fee_vat_ore, refund.community_ore, refund.total_ore) == (2_700, 5_400, 123_500)

    tx = services.post_refund(booking, refund)
    assert lines(tx) == [
        ("host_payable", booking.host_id, 110_000),
        ("vat_payable", None, 2_700),
        ("guest_refund_payable", booking.guest_id, -123_500),
        ("unearned_fee", None, 32_400),
        ("service_fee_revenue", None, -21_600),  # 324 kr net − 108 kr refunded net
        ("community_contributions", None, 10_800),
        ("community_fund", None, -10_800),
    ]
    assert services.fee_figures(2026) == services.FeeFigures(2026, 21_600, 10_800)

    payout = services.post_payout(booking, on=date(2026, 7, 11))
    assert lines(payout) == [("host_payable", booking.host_id, 160_000), ("cash", None, -160_000)]
    assert services.account_balance(A.HOST_PAYABLE, booking.host_id) == 0


def test_a_cancellation_with_nothing_refunded_earns_the_whole_fee():
    booking = a_booking(policy="strict")
    services.post_payment_received(booking)
    # Strict, an hour after check-in (15:00 local): no nights back, and no cleaning fee.
    booking.cancelled_at = datetime(2026, 7, 10, 14, tzinfo=UTC)
    refund = refund_for(booking, booking.cancelled_at, CancelledBy.GUEST)
    assert refund.total_ore == 0
    tx = services.post_refund(booking, refund)
    assert lines(tx) == [
        ("unearned_fee", None, 32_400),
        ("service_fee_revenue", None, -32_400),
        ("community_contributions", None, 16_200),
        ("community_fund", None, -16_200),
    ]
    assert services.post_refund_paid(booking) is None


def test_an_unpaid_booking_has_nothing_to_refund():
    from rentalcoop.bookings.cancellation import Refund

    booking = a_booking(paid=False, state="pending_payment")
    assert services.post_refund(booking, Refund(0, 0, 0, 0, 0)) is None
    with pytest.raises(LedgerError):
        services.post_refund(booking, refund_for(booking, booking.created_at, CancelledBy.HOST))
    assert count() == 0


def test_a_refund_cannot_exceed_what_was_paid():
    from rentalcoop.bookings.cancellation import Refund

    booking = a_booking()
    services.post_payment_received(booking)
    with pytest.raises(LedgerError):
        services.post_refund(booking, Refund(240_001, 30_000, 0, 0, 0))
    with pytest.raises(LedgerError):
        services.post_refund(booking, Refund(0, 0, 40_500, 8_101, 0))


def test_a_refund_after_the_payout_takes_the_money_back_from_the_host():
    booking = a_booking()
    services.post_payment_received(booking)
    payout = services.post_payout(booking, on=date(2026, 7, 11))
    assert lines(payout)[0] == ("host_payable", booking.host_id, 270_000)
    booking.cancelled_at = datetime(2026, 7, 11, 9, tzinfo=UTC)
    refund = refund_for(booking, booking.cancelled_at, CancelledBy.HOST)  # everything back
    services.post_refund(booking, refund)
    assert services.account_balance(A.HOST_PAYABLE, booking.host_id) == 270_000  # host owes it

    reversed_ = services.post_payout_reversed(booking, 270_000)
    assert lines(reversed_) == [
        ("cash", None, 270_000),
        ("host_payable", booking.host_id, -270_000),
    ]
    assert services.post_payout_reversed(booking, 270_000) is reversed_
    services.post_refund_paid(booking)
    assert services.balances() == []


def test_a_payout_reversal_cannot_exceed_the_payout():
    booking = a_booking()
    services.post_payment_received(booking)
    with pytest.raises(LedgerError):
        services.post_payout_reversed(booking, 1)  # nothing paid out yet
    services.post_payout(booking, amount_ore=100_000)
    with pytest.raises(LedgerError):
        services.post_payout_reversed(booking, 100_001)


def test_a_payout_cannot_exceed_what_the_host_is_owed():
    booking = a_booking()
    services.post_payment_received(booking)
    with pytest.raises(LedgerError):
        services.post_payout(booking, amount_ore=270_001)


def test_a_refund_after_the_fee_was_earned_reduces_that_year():
    booking = a_booking()
    services.post_payment_received(booking)
    services.post_stay_completed(booking)
    booking.cancelled_at = datetime(2027, 1, 20, 9, tzinfo=UTC)  # a dispute, months later
    refund = refund_for(booking, datetime(2026, 5, 2, tzinfo=UTC), CancelledBy.BOARD)
    tx = services.post_refund(booking, refund)
    assert tx.fiscal_year == 2027
    assert ("service_fee_revenue", None, 32_400) in lines(tx)
    assert services.fee_figures(2026) == services.FeeFigures(2026, 32_400, 16_200)
    assert services.fee_figures(2027) == services.FeeFigures(2027, -32_400, -16_200)


def test_queries_balances_and_trial_balance():
    booking = a_booking(check_in=date(2026, 12, 30))
    services.post_payment_received(booking)
    services.post_stay_completed(booking)
    services.post_payout(booking, on=date(2027, 1, 2))

    assert services.account_balance(A.CASH) == 310_500 - 270_000
    assert services.account_balance(A.CASH, as_of=date(2026, 12, 31)) == 310_500
    by_line = {(row.account, row.party_id): row.balance_ore for row in services.balances()}
    assert by_line == {
        (A.CASH, None): 40_500,
        (A.SERVICE_FEE_REVENUE, None): -32_400,
        (A.VAT_PAYABLE, None): -8_100,
        (A.COMMUNITY_FUND, None): -16_200,
        (A.COMMUNITY_CONTRIBUTIONS, None): 16_200,
    }
    as_of = services.balances(as_of=date(2026, 12, 31))
    assert (A.HOST_PAYABLE, booking.host_id, -270_000) in as_of

    tb_2026 = services.trial_balance(2026)
    assert tb_2026.is_balanced
    assert not tb_2026.is_closed
    assert tb_2026.total_debit_ore == 310_500 + 21_600 + 10_800
    tb_2027 = services.trial_balance(2027)
    assert tb_2027.total_debit_ore == tb_2027.total_credit_ore == 10_800 + 5_400 + 270_000
    assert services.trial_balance(2030).rows == []
    assert [tb.year for tb in services.trial_balances()] == [2027, 2026]


def test_journal_pages_newest_first():
    for n in range(7):
        services.post_operating_cost(f"cost:{n}", 100 + n, date(2026, 2, 1))
    page = services.journal(page=1, per_page=3)
    assert [tx.key for tx in page.items] == ["cost:6", "cost:5", "cost:4"]
    assert (page.total, page.pages, page.has_next, page.has_previous) == (7, 3, True, False)
    last = services.journal(page=3, per_page=3)
    assert [tx.key for tx in last.items] == ["cost:0"]
    assert not last.has_next
    assert last.has_previous


def test_party_labels_name_hosts_and_projects():
    host = factories.host(name="Hanna Värd")
    labels = services.party_labels(
        [(A.HOST_PAYABLE, host.id), (A.COMMUNITY_FUND, None), (A.COMMUNITY_FUND, 3), (A.CASH, None)]
    )
    assert labels[A.HOST_PAYABLE, host.id] == "Hanna Värd"
    assert labels[A.CASH, None] == ""
    assert labels[A.COMMUNITY_FUND, 3] != labels[A.COMMUNITY_FUND, None]


def test_a_paid_booking_whose_payment_was_never_posted_gets_it_first():
    booking = a_booking()  # made straight in the database, paid_at set (demo data, tests)
    stays = services.post_stay_completed(booking)
    payment = services.find_transaction(f"booking:{booking.id}:payment")
    assert payment.booked_on == date(2026, 5, 1)
    assert payment.id < stays[0].id
    assert services.account_balance(A.UNEARNED_FEE) == 0
