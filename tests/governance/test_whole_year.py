"""Two whole fiscal years through the real services (issue 14): bookings paid and completed,
guest cancellations at every policy and a host's, a stay across the year end that is still
running at the close, a host who leaves and rejoins, a loss year then a profit year, costs, two
annual meetings with proxies and a secret ballot, both closes approved, refunds and payouts
paid. It ends with the ledger's invariants checked and every öre of the cash explained."""

from __future__ import annotations

from collections import Counter
from datetime import UTC, date, datetime, time, timedelta

from sqlalchemy import func, select

from rentalcoop.bookings import services as bookings
from rentalcoop.bookings.models import Booking, BookingState
from rentalcoop.extensions import db
from rentalcoop.governance import close, costs, dac7, services
from rentalcoop.governance.models import MeetingKind, MotionKind
from rentalcoop.invariants import violations
from rentalcoop.ledger import services as ledger
from rentalcoop.ledger.models import Account, LedgerEntry, LedgerTransaction
from rentalcoop.listings.pricing import coop_date
from rentalcoop.membership import services as membership
from rentalcoop.payments import services as payments
from rentalcoop.payments.models import Payout, Refund
from tests import factories
from tests.governance.conftest import deliver_accounts


def _at(day: date, hour: int = 10) -> datetime:
    return datetime.combine(day, time(hour), tzinfo=UTC)


def _book(home, guest, check_in: date, nights: int, made: date, board) -> Booking:
    """A guest books and pays (the board marks the manual payment), all on `made`; each step
    commits, as each request does."""
    db.session.commit()
    booking = bookings.request_booking(
        home,
        guest,
        check_in,
        check_in + timedelta(days=nights),
        1,
        accepted_rules=True,
        at=_at(made),
    )
    db.session.commit()
    payments.start_checkout(booking)
    db.session.commit()
    assert payments.record_payment_succeeded(booking, by=board, at=_at(made) + timedelta(minutes=5))
    db.session.commit()
    return booking


def _complete_and_pay(until: date, board) -> None:
    bookings.complete_due(_at(until, 23))
    for payout in db.session.scalars(select(Payout)).all():
        if payout.state in ("scheduled", "owed"):
            payments.mark_payout_paid(payout, ref="bank", by=board, at=_at(until, 23))
    for refund in db.session.scalars(select(Refund)).all():
        payments.mark_refund_done(refund, ref="bank", by=board, at=_at(until, 23))
    db.session.commit()


def _annual_meeting(board, year: int, held_on: date, reserve_ore: int, voters, proxy):
    close.save_draft(year, reserve_ore)
    meeting, _ = services.create_meeting(
        kind=MeetingKind.ORDINARY,
        format="physical",
        title=f"Årsstämma {held_on.year}",
        starts_at=services.meeting_start(held_on, time(18)),
        venue="Bygdegården",
        by=board,
        fiscal_year=year,
        today=held_on - timedelta(weeks=7),
    )
    secret = services.add_motion(
        meeting,
        kind="other",
        title="Ny logotyp",
        proposer=board,
        by_board=True,
        ballot="secret",
        today=held_on - timedelta(weeks=7),
    )
    deliver_accounts(meeting, board, on=held_on - timedelta(weeks=6))
    services.send_notice(meeting, board, on=held_on - timedelta(weeks=5))
    secretary, adjuster = voters[0], voters[1]
    services.set_officers(meeting, chair=board, secretary=secretary, adjusters=[adjuster])
    principal, holder = proxy
    services.grant_proxy(
        meeting,
        principal,
        holder,
        min(held_on - timedelta(days=2), coop_date()),  # a paper proxy, dated when signed
        registered_by=board,
    )
    at = services.meeting_start(held_on, time(18, 30))
    services.take_register(meeting, [board, *voters], board, at=at)
    for motion in [*meeting.motions]:
        if motion.kind == MotionKind.ELECTION:
            services.add_candidate(motion, voters[-1] if motion.office == "auditor" else board)
        services.open_vote(motion, board, at=at)
        for voter in (board, *voters):
            if motion.subject_member_id == voter.id:
                continue
            choice = f"candidate:{motion.candidates[0].id}" if motion.is_election else "yes"
            services.cast_vote(motion, voter, choice, at=at)
        if motion.subject_member_id != principal.id:
            services.cast_vote(
                motion,
                holder,
                "abstain" if motion.is_election else "yes",
                on_behalf_of=principal,
                at=at,
            )
        if motion.id == secret.id:  # the principal came after all: their own vote counts
            services.cast_vote(motion, principal, "no", at=at)
        services.close_vote(motion, board, at=at + timedelta(minutes=5))
    assert secret.yes_count == len(voters) + 1
    assert secret.no_count == 1
    services.close_meeting(meeting, at=at + timedelta(hours=1))
    for officer in (board, secretary, adjuster):
        services.sign_minutes(meeting, officer, at=at + timedelta(days=3))
    db.session.commit()
    return close.year_close(year)


def test_two_whole_years_through_the_services(app, capsys):
    with app.test_request_context():  # the payment step builds the pay page's address
        board = factories.user(board=True)
        policies = ["flexible", "moderate", "firm", "strict"]
        hosts = [factories.host() for _ in policies]
        homes = [
            factories.listing(
                host=host,
                nightly_price_ore=100_000,
                cancellation_policy=policy,
                is_instant_book=True,
                max_nights=120,
            )
            for host, policy in zip(hosts, policies, strict=True)
        ]
        guests = [factories.user() for _ in range(6)]
        leaver = hosts[2]
        db.session.commit()

        # --- 2025: stays, cancellations at every policy, a loss year --------------------------
        for n, home in enumerate(homes):
            _book(home, guests[n], date(2025, 3, 3 + 7 * n), 3, date(2025, 1, 10), board)
            cancelled = _book(home, guests[4], date(2025, 5, 5), 4, date(2025, 2, 1), board)
            bookings.cancel_booking(cancelled, "guest", guests[4], at=_at(date(2025, 4, 20)))
        by_host = _book(homes[0], guests[5], date(2025, 8, 4), 2, date(2025, 6, 1), board)
        bookings.cancel_booking(
            by_host, "host", hosts[0], reason="Vattenskada", at=_at(date(2025, 7, 1))
        )
        db.session.commit()
        membership.leave(leaver.membership, on=date(2025, 6, 30))
        _book(homes[2], guests[0], date(2025, 7, 7), 5, date(2025, 6, 1), board)  # not a member
        membership.admit(leaver, board, joined_on=date(2025, 9, 1))
        _book(homes[2], guests[1], date(2025, 10, 6), 2, date(2025, 9, 2), board)
        long_stay = _book(homes[3], guests[2], date(2025, 12, 20), 90, date(2025, 11, 1), board)
        costs.enter_cost(date(2025, 6, 1), "it", 900_000, "Plattformen", board)
        db.session.commit()
        _complete_and_pay(date(2025, 12, 31), board)

        close_2025 = _annual_meeting(
            board, 2025, date(2026, 3, 10), 0, hosts[:2] + hosts[3:], (hosts[2], hosts[3])
        )
        assert close_2025.surplus_ore < 0
        assert close_2025.distributed_ore == 0
        assert ledger.is_year_closed(2025)
        nights_2025 = {s.member_id: s.nights for s in close_2025.shares}
        # Both membership periods count (3 nights in March, 2 in October); July's 5 do not.
        assert nights_2025[leaver.id] == 3 + 2
        assert nights_2025[hosts[3].id] == 3 + 12  # the long stay's nights in 2025 count

        # --- 2026: the long stay completes after the close; a profit year ---------------------
        for n, home in enumerate(homes):
            _book(home, guests[n], date(2026, 5, 4 + 7 * n), 20, date(2026, 4, 1), board)
        costs.enter_cost(date(2026, 6, 1), "it", 50_000, "Plattformen", board)
        db.session.commit()
        _complete_and_pay(date(2026, 12, 31), board)
        assert db.session.get(Booking, long_stay.id).state == BookingState.COMPLETED

        close_2026 = _annual_meeting(
            board, 2026, date(2027, 3, 10), 10_000, hosts[:2] + hosts[3:], (hosts[2], hosts[3])
        )
        b, s, r = close_2026.carried_ore, close_2026.surplus_ore, close_2026.reserve_ore
        assert b == close_2025.surplus_ore  # the carried loss
        assert close_2026.distributed_ore == max(0, min(s - r, b + s))
        assert sum(x.amount_ore for x in close_2026.shares) == close_2026.distributed_ore

        # --- the books --------------------------------------------------------------------------
        per_tx = db.session.execute(
            select(
                LedgerEntry.transaction_id, func.sum(LedgerEntry.amount_ore), func.count()
            ).group_by(LedgerEntry.transaction_id)
        ).all()
        assert per_tx
        assert all(total == 0 and legs >= 2 for _tx, total, legs in per_tx)
        assert db.session.scalar(select(func.count()).select_from(LedgerTransaction)) == len(per_tx)
        for trial in ledger.trial_balances():
            assert trial.is_balanced
        balance = {a: ledger.account_balance(a) for a in Account}
        assert sum(balance.values()) == 0
        assert balance[Account.UNEARNED_FEE] == 0  # every stay finished, every fee settled
        assert balance[Account.GUEST_REFUND_PAYABLE] == 0  # every refund paid
        assert balance[Account.HOST_PAYABLE] == 0  # every host paid
        assert -balance[Account.PATRONAGE_PAYABLE] == close_2026.distributed_ore
        for row in (close_2025, close_2026):
            figures = ledger.fee_figures(row.year)
            assert (figures.fees_ore, figures.community_ore, close.costs_of(row.year)) == (
                row.fees_ore,
                row.community_ore,
                row.costs_ore,
            )

        # Every öre of the cash: what guests paid, less refunds, payouts and costs.
        kinds = Counter()
        for kind, amount in db.session.execute(
            select(LedgerTransaction.kind, func.sum(LedgerEntry.amount_ore))
            .join(LedgerEntry.transaction)
            .where(LedgerEntry.account == Account.CASH)
            .group_by(LedgerTransaction.kind)
        ):
            kinds[kind] = int(amount)
        paid = sum(b.total_ore for b in db.session.scalars(select(Booking)))
        refunded = sum(r.amount_ore for r in db.session.scalars(select(Refund)))
        assert kinds["payment"] == paid
        assert -kinds["refund_paid"] == refunded
        assert sum(kinds.values()) == balance[Account.CASH]
        vat = -balance[Account.VAT_PAYABLE]
        fund = -balance[Account.COMMUNITY_FUND]
        result = -(
            balance[Account.SERVICE_FEE_REVENUE]
            + balance[Account.COMMUNITY_CONTRIBUTIONS]
            + balance[Account.OPERATING_COSTS]
        )
        retained = -balance[Account.RETAINED_RESULT]
        patronage = -balance[Account.PATRONAGE_PAYABLE]
        # Cash held = VAT owed + the fund's money + patronage owed + the equity kept.
        assert balance[Account.CASH] == vat + fund + patronage + result + retained
        # The seller reports of the two years credit the hosts exactly what they were paid.
        reported = sum(
            s.total("consideration_ore") for year in (2025, 2026) for s in dac7.seller_report(year)
        )
        assert reported == -kinds["payout"]
        assert all(
            s.total("fees_ore") == 0 for year in (2025, 2026) for s in dac7.seller_report(year)
        )
        # The auditor the first annual meeting elected got the second year's accounts.
        assert services.current_auditors(date(2027, 3, 10))
        # And everything `flask check invariants` checks holds after the two years.
        assert violations() == []
        print("statement (öre)")
        for name, amount in (
            ("guests paid", paid),
            ("refunds paid", -refunded),
            ("host payouts", kinds["payout"]),
            ("operating costs", kinds["operating_cost"]),
            ("cash held", balance[Account.CASH]),
            ("  VAT owed", vat),
            ("  community fund", fund),
            ("  patronage owed", patronage),
            ("  result of the years", result),
            ("  less distributed", retained),
        ):
            print(f"{name:<24}{amount:>14}")
    statement = capsys.readouterr().out
    assert "cash held" in statement
    with capsys.disabled():  # shown with `pytest -s`
        print("\n" + statement)
