"""The year end (issue 14): the board's reserve reaches the meeting and the posted close; a stay
across the year end completes after the close; one failing stay never blocks the others."""

from __future__ import annotations

import logging
import re
from datetime import UTC, date, datetime, time, timedelta

import pytest
from sqlalchemy import select

from rentalcoop.bookings import services as bookings
from rentalcoop.bookings.models import Booking, BookingState
from rentalcoop.extensions import db
from rentalcoop.governance import close, costs, services
from rentalcoop.governance.models import CloseState, MeetingKind, Motion, MotionKind
from rentalcoop.ledger import services as ledger
from rentalcoop.ledger.models import Account, LedgerTransaction
from rentalcoop.listings.pricing import coop_date
from tests import factories
from tests.governance.conftest import convened, deliver_accounts
from tests.helpers import login, post_form, text_of

MEETING_DAY = date(2026, 5, 20)


def _year_with_surplus(board):
    """Two hosts, 2025 stays at 1 000 kr a night, one cost: S = 168 000 öre."""
    a, b = factories.host(), factories.host()
    for host, check_in, nights in ((a, date(2025, 3, 1), 20), (b, date(2025, 6, 1), 10)):
        home = factories.listing(host=host, nightly_price_ore=100_000)
        stay = factories.booking(
            listing=home,
            check_in=check_in,
            nights=nights,
            state="completed",
            created_at=datetime(2025, 1, 2, 9, tzinfo=UTC),
        )
        ledger.post_stay_completed(stay)
    costs.enter_cost(date(2025, 3, 15), "it", 12_000, "Server", board)
    figures = close.compute(2025)
    assert figures.surplus_ore == 168_000  # F 3 600 kr − C 1 800 kr − O 120 kr
    return a, b


def _pass(motion, chair, at):
    services.open_vote(motion, chair, at=at)
    services.cast_vote(motion, chair, "yes")
    services.close_vote(motion, chair, at=at)


def _motion(meeting, kind):
    return next(m for m in meeting.motions if m.kind == kind)


@pytest.mark.parametrize("draft_first", [True, False], ids=["draft-then-meeting", "meeting-first"])
def test_the_boards_reserve_reaches_the_motion_and_the_posted_close(ctx, draft_first):
    board = factories.user(board=True)
    _year_with_surplus(board)
    if draft_first:
        close.save_draft(2025, 84_000)
    meeting, chair = convened(
        kind=MeetingKind.ORDINARY, held_on=MEETING_DAY, board=board, fiscal_year=2025
    )
    if not draft_first:
        close.save_draft(2025, 84_000)
    disposition = _motion(meeting, MotionKind.DISPOSITION)
    assert disposition.reserve_ore == 84_000
    at = services.meeting_start(MEETING_DAY, time(19))
    _pass(_motion(meeting, MotionKind.ACCOUNTS), chair, at)
    _pass(disposition, chair, at)
    posted = close.year_close(2025)
    assert posted.state == CloseState.POSTED
    assert (posted.reserve_ore, posted.distributed_ore) == (84_000, 84_000)
    assert -ledger.account_balance(Account.PATRONAGE_PAYABLE) == 84_000


def test_the_reserve_is_frozen_once_the_vote_opens(ctx):
    board = factories.user(board=True)
    _year_with_surplus(board)
    close.save_draft(2025, 10_000)
    meeting, chair = convened(
        kind=MeetingKind.ORDINARY, held_on=MEETING_DAY, board=board, fiscal_year=2025
    )
    disposition = _motion(meeting, MotionKind.DISPOSITION)
    at = services.meeting_start(MEETING_DAY, time(19))
    _pass(_motion(meeting, MotionKind.ACCOUNTS), chair, at)
    services.open_vote(disposition, chair, at=at)
    close.save_draft(2025, 99_000)
    assert disposition.reserve_ore == 10_000


def test_the_reserve_through_the_pages(client, app):
    today = coop_date()
    with app.app_context():
        board = factories.user(board=True, email="board@example.org")
        _year_with_surplus(board)
        year = 2025
        meeting, _ = services.create_meeting(
            kind="ordinary",
            format="physical",
            title="Årsstämma",
            starts_at=services.meeting_start(today, time(0, 1)),
            venue="Bygdegården",
            by=board,
            fiscal_year=year,
            today=today - timedelta(weeks=6),
        )
        deliver_accounts(meeting, board, on=today - timedelta(weeks=6))
        services.send_notice(meeting, board, on=today - timedelta(weeks=5))
        secretary, adjuster = factories.host(), factories.host()
        services.set_officers(meeting, chair=board, secretary=secretary, adjusters=[adjuster])
        db.session.commit()
        meeting_id = meeting.id
        accounts_id = _motion(meeting, MotionKind.ACCOUNTS).id
        disposition_id = _motion(meeting, MotionKind.DISPOSITION).id
    login(client, "board@example.org")
    response = post_form(client, f"/board/close/{year}", {"reserve_ore": "840"})  # kronor
    assert response.status_code == 303
    page = text_of(client.get(f"/meetings/{meeting_id}"))
    assert re.search(r"Föreslagen reservering: 840,00\s+kr", page)
    meeting_url = f"/meetings/{meeting_id}"
    for motion_id in (accounts_id, disposition_id):
        assert post_form(client, f"/motions/{motion_id}/open", {}, form_url=meeting_url).status_code
        response = post_form(
            client,
            f"/motions/{motion_id}/vote",
            {f"m{motion_id}-choice": "yes"},
            form_url=meeting_url,
        )
        assert response.status_code in (302, 303)
        response = post_form(client, f"/motions/{motion_id}/close", {}, form_url=meeting_url)
        assert response.status_code in (302, 303)
    with app.app_context():
        posted = close.year_close(year)
        assert posted.state == CloseState.POSTED
        assert (posted.surplus_ore, posted.reserve_ore, posted.distributed_ore) == (
            168_000,
            84_000,
            84_000,
        )
        assert db.session.get(Motion, disposition_id).reserve_ore == 84_000


# --- long stays and the close ----------------------------------------------------------------


def _confirmed(host, check_in, check_out):
    home = factories.listing(host=host, nightly_price_ore=100_000)
    return factories.booking(
        listing=home,
        check_in=check_in,
        nights=(check_out - check_in).days,
        state="confirmed",
        created_at=datetime(2025, 11, 1, 9, tzinfo=UTC),
    )


def _approve_2025(board, on: date):
    meeting, chair = convened(kind=MeetingKind.ORDINARY, held_on=on, board=board, fiscal_year=2025)
    at = services.meeting_start(on, time(19))
    _pass(_motion(meeting, MotionKind.ACCOUNTS), chair, at)
    _pass(_motion(meeting, MotionKind.DISPOSITION), chair, at)


def test_a_stay_across_a_closed_year_end_completes_and_so_does_the_one_beside_it(app):
    with app.app_context():
        board = factories.user(board=True)
        host, other = factories.host(), factories.host()
        long_stay = _confirmed(host, date(2025, 12, 20), date(2026, 2, 20))
        beside = _confirmed(other, date(2026, 2, 1), date(2026, 2, 15))
        _approve_2025(board, date(2026, 2, 10))
        assert ledger.is_year_closed(2025)
        # The close earned the 12 nights in 2025 and counted them for the host's patronage.
        assert close.year_close(2025).shares[0].nights == 12
        earned_2025 = ledger.find_transaction(f"booking:{long_stay.id}:stay:2025")
        assert earned_2025.fiscal_year == 2025
        db.session.commit()
        ids = long_stay.id, beside.id
    with app.app_context():
        done = bookings.complete_due(datetime(2026, 2, 21, 12, tzinfo=UTC))
        assert done == 2
        rows = db.session.scalars(select(Booking).where(Booking.id.in_(ids))).all()
        assert {row.state for row in rows} == {BookingState.COMPLETED}
        long_stay = db.session.get(Booking, ids[0])
        parts = db.session.scalars(
            select(LedgerTransaction).where(LedgerTransaction.booking_id == long_stay.id)
        ).all()
        earned = sum(
            -e.amount_ore
            for t in parts
            for e in t.entries
            if e.account == Account.SERVICE_FEE_REVENUE
        )
        assert earned == long_stay.fee_net_ore  # every öre of the fee earned, once
        assert ledger.account_balance(Account.UNEARNED_FEE) == 0
        assert {t.fiscal_year for t in parts if t.kind == "stay_completed"} == {2025, 2026}


def test_one_failing_stay_never_blocks_the_others(app, monkeypatch, caplog):
    with app.app_context():
        first = _confirmed(factories.host(), date(2026, 2, 1), date(2026, 2, 5))
        second = _confirmed(factories.host(), date(2026, 2, 2), date(2026, 2, 6))
        db.session.commit()
        broken_id, fine_id = first.id, second.id
    real = ledger.post_stay_completed

    def failing(booking):
        if booking.id == broken_id:
            raise ledger.LedgerError("broken")
        return real(booking)

    monkeypatch.setattr(ledger, "post_stay_completed", failing)
    with app.app_context(), caplog.at_level(logging.ERROR):
        assert bookings.complete_due(datetime(2026, 2, 7, 12, tzinfo=UTC)) == 1
        assert db.session.get(Booking, broken_id).state == BookingState.CONFIRMED
        assert db.session.get(Booking, fine_id).state == BookingState.COMPLETED
        assert f"booking {broken_id} failed" in caplog.text


def test_a_long_stay_cancelled_after_the_close_refunds_against_what_was_earned(app):
    with app.app_context():
        board = factories.user(board=True)
        stay = _confirmed(factories.host(), date(2025, 12, 20), date(2026, 2, 20))
        other = _confirmed(factories.host(), date(2026, 3, 1), date(2026, 3, 4))
        _approve_2025(board, date(2026, 2, 10))
        earned_2025 = -sum(
            e.amount_ore
            for e in ledger.find_transaction(f"booking:{stay.id}:stay:2025").entries
            if e.account == Account.SERVICE_FEE_REVENUE
        )
        refund = bookings.cancel_booking(
            stay, "host", stay.host, reason="Vattenläcka", at=datetime(2026, 2, 11, 9, tzinfo=UTC)
        )
        assert refund.service_fee_ore > 0
        assert ledger.account_balance(Account.UNEARNED_FEE) == -other.fee_net_ore
        kept = stay.fee_net_ore - (refund.service_fee_ore - refund.fee_vat_ore)
        total_earned = -ledger.account_balance(Account.SERVICE_FEE_REVENUE)
        assert total_earned == kept
        assert ledger.fee_figures(2025).fees_ore == earned_2025  # the closed year untouched
        assert -ledger.account_balance(Account.COMMUNITY_CONTRIBUTIONS) == -(
            stay.community_ore - refund.community_ore
        )


# --- losses and equity -----------------------------------------------------------------------


def _year(board, year: int, nights: int, cost_ore: int, host):
    """`nights` nights at 1 000 kr for `host` in `year`: F − C = 6 000 öre a night."""
    home = factories.listing(host=host, nightly_price_ore=100_000)
    stay = factories.booking(
        listing=home,
        check_in=date(year, 3, 1),
        nights=nights,
        state="completed",
        created_at=datetime(year, 1, 2, 9, tzinfo=UTC),
    )
    ledger.post_stay_completed(stay)
    if cost_ore:
        costs.enter_cost(date(year, 3, 15), "it", cost_ore, "Server", board)


def _meeting_for(board, year: int, held_on: date, *, adopt: bool = True):
    meeting, chair = convened(
        kind=MeetingKind.ORDINARY, held_on=held_on, board=board, fiscal_year=year
    )
    at = services.meeting_start(held_on, time(19))
    accounts = _motion(meeting, MotionKind.ACCOUNTS)
    services.open_vote(accounts, chair, at=at)
    services.cast_vote(accounts, chair, "yes" if adopt else "no")
    services.close_vote(accounts, chair, at=at)
    return meeting, chair, at


def test_a_carried_loss_is_covered_before_anything_is_distributed(ctx):
    board = factories.user(board=True)
    host = factories.host()
    _year(board, 2025, 10, 500_000, host)  # S(2025) = 60 000 − 500 000 = −440 000
    meeting, chair, at = _meeting_for(board, 2025, date(2026, 5, 20))
    _pass(_motion(meeting, MotionKind.DISPOSITION), chair, at)
    assert close.year_close(2025).distributed_ore == 0
    _year(board, 2026, 30, 60_000, host)  # S(2026) = 180 000 − 60 000 = +120 000
    figures = close.compute(2026)
    assert (figures.surplus_ore, figures.carried_ore) == (120_000, -440_000)
    assert figures.distributed_ore == 0  # the cumulative result is −320 000
    _year(board, 2027, 100, 0, host)  # S(2027) = 600 000; B = −320 000
    assert close.compute(2027, reserve_ore=0).distributed_ore == 280_000  # only the free equity


def test_the_disposition_never_posts_when_the_accounts_were_rejected(ctx):
    board = factories.user(board=True)
    _year_with_surplus(board)
    meeting, chair, at = _meeting_for(board, 2025, MEETING_DAY, adopt=False)
    disposition = _motion(meeting, MotionKind.DISPOSITION)
    assert (disposition.state, disposition.passed) == ("decided", False)
    with pytest.raises(services.GovernanceError):
        services.open_vote(disposition, chair, at=at)
    with pytest.raises(close.CloseError):
        close.post_close(2025, disposition, on=MEETING_DAY)
    assert not ledger.is_year_closed(2025)
    assert ledger.find_transaction("close:2025:patronage") is None


def test_the_disposition_waits_for_the_accounts(ctx):
    board = factories.user(board=True)
    _year_with_surplus(board)
    meeting, chair = convened(
        kind=MeetingKind.ORDINARY, held_on=MEETING_DAY, board=board, fiscal_year=2025
    )
    at = services.meeting_start(MEETING_DAY, time(19))
    with pytest.raises(services.GovernanceError):
        services.open_vote(_motion(meeting, MotionKind.DISPOSITION), chair, at=at)
