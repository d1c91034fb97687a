"""The meeting as the law runs it (issue 14): personal vote beats a proxy in a secret ballot,
distinct officers, the register at the opening, the notice freezes the agenda, timely members'
motions, extra meetings on request, meetings that can never be held, approved projects only."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta

import pytest
from sqlalchemy import func, select

from rentalcoop.bookings import services as bookings
from rentalcoop.bookings.services import BookingError
from rentalcoop.extensions import db
from rentalcoop.governance import fund, services
from rentalcoop.governance.models import (
    BallotReceipt,
    MeetingState,
    MotionState,
    SecretVote,
)
from rentalcoop.governance.services import GovernanceError
from rentalcoop.ledger import services as ledger
from rentalcoop.ledger.models import FiscalYear
from rentalcoop.listings.pricing import coop_date
from tests import factories
from tests.governance.conftest import HELD_ON, add_to_agenda, convened
from tests.helpers import login, text_of

AT = services.meeting_start(HELD_ON, time(19))


def _secret(meeting, chair):
    motion = add_to_agenda(
        meeting, kind="other", title="Ny logga", proposer=chair, by_board=True, ballot="secret"
    )
    services.open_vote(motion, chair, at=AT)
    return motion


def test_a_members_own_secret_vote_overrides_the_proxy_vote_cast_for_them(ctx):
    meeting, chair = convened()
    principal, holder = factories.host(), factories.host()
    services.grant_proxy(
        meeting, principal, holder, HELD_ON - timedelta(days=3), registered_by=chair
    )
    motion = _secret(meeting, chair)
    services.cast_vote(motion, holder, "yes", on_behalf_of=principal)
    services.cast_vote(motion, principal, "no")  # the member came to the meeting after all
    assert services.tally(motion) == {"no": 1}
    receipt = db.session.scalar(
        select(BallotReceipt).where(BallotReceipt.member_id == principal.id)
    )
    assert (receipt.channel, receipt.cast_by_id) == ("in_person", principal.id)
    with pytest.raises(GovernanceError):  # and the holder cannot take it back
        services.cast_vote(motion, holder, "yes", on_behalf_of=principal)
    with pytest.raises(GovernanceError):  # a personal secret vote stays final
        services.cast_vote(motion, principal, "yes")
    # While open only counts are stored: no row per ballot whose order could name a voter.
    assert db.session.scalar(select(func.count()).select_from(SecretVote)) == 0
    services.close_vote(motion, chair, at=AT)
    assert db.session.scalars(select(SecretVote.choice)).all() == ["no"]


def test_the_chair_secretary_and_adjusters_are_different_people(ctx):
    board = factories.user(board=True)
    meeting, _ = services.create_meeting(
        kind="extra",
        format="physical",
        title="Extrastämma",
        starts_at=services.meeting_start(HELD_ON, time(18)),
        venue="Bygdegården",
        by=board,
        today=HELD_ON - timedelta(weeks=5),
    )
    other = factories.host()
    for chair, secretary, adjusters in (
        (board, board, [other]),
        (board, other, [other]),
        (board, other, [board]),
    ):
        with pytest.raises(GovernanceError):
            services.set_officers(meeting, chair=chair, secretary=secretary, adjusters=adjusters)
    services.set_officers(meeting, chair=board, secretary=other, adjusters=[factories.host()])
    assert len({o.user_id for o in meeting.officers}) == 3


def test_one_signature_does_not_publish_the_minutes(ctx):
    meeting, chair = convened()
    services.close_meeting(meeting, at=AT)
    assert not services.sign_minutes(meeting, chair, at=AT)
    assert meeting.state == MeetingState.CLOSED


def test_the_register_is_taken_at_the_opening_and_adjusted(ctx):
    meeting, chair = convened()
    present, principal, holder, late = (factories.host() for _ in range(4))
    services.grant_proxy(
        meeting, principal, holder, HELD_ON - timedelta(days=1), registered_by=chair
    )
    register = services.take_register(meeting, [present, holder, chair], chair, at=AT)
    rows = {row.member_id: (row.channel, row.represented_by_id) for row in register}
    assert rows[present.id] == ("in_person", None)
    assert rows[principal.id] == ("proxy", holder.id)
    assert present.id in rows  # present without voting, recorded
    assert late.id not in rows
    services.adjust_register(meeting, late, "in_person", chair)
    services.adjust_register(meeting, present, None, chair)  # left the meeting
    rows = {row.member_id: row.channel for row in services.voting_register(meeting)}
    assert rows.get(late.id) == "in_person"
    assert present.id not in rows
    assert meeting.register_taken_at == AT


def test_a_matter_added_after_the_notice_is_discussed_not_decided(ctx):
    meeting, chair = convened()
    late = services.add_motion(
        meeting, kind="other", title="Sent ärende", proposer=chair, by_board=True
    )
    assert late.is_discussion_only
    with pytest.raises(GovernanceError):
        services.open_vote(late, chair, at=AT)
    services.close_meeting(meeting, at=AT)  # it needs no decision
    assert late.state == MotionState.ON_AGENDA


def test_a_further_notice_in_the_window_lets_the_meeting_decide_it(ctx):
    meeting, chair = convened()
    late = services.add_motion(meeting, kind="other", title="Ärende", proposer=chair, by_board=True)
    with pytest.raises(GovernanceError):  # outside the window the further notice is refused
        services.send_supplementary_notice(meeting, chair, on=HELD_ON - timedelta(weeks=1))
    services.send_supplementary_notice(meeting, chair, on=HELD_ON - timedelta(weeks=4))
    services.open_vote(late, chair, at=AT)


def test_a_members_motion_in_time_cannot_be_dropped(ctx):
    board = factories.user(board=True)
    meeting, _ = services.create_meeting(
        kind="extra",
        format="physical",
        title="Extrastämma",
        starts_at=services.meeting_start(HELD_ON, time(18)),
        venue="Bygdegården",
        by=board,
        motion_deadline=HELD_ON - timedelta(weeks=6),
        today=HELD_ON - timedelta(weeks=8),
    )
    member = factories.host()
    motion = services.add_motion(
        meeting,
        kind="other",
        title="Medlemsmotion",
        proposer=member,
        by_board=False,
        today=HELD_ON - timedelta(weeks=7),
    )
    motion.created_at = datetime.combine(HELD_ON - timedelta(weeks=7), time(9), tzinfo=UTC)
    with pytest.raises(GovernanceError):
        services.place_on_agenda(motion, accept=False)
    with pytest.raises(GovernanceError):  # the notice must list it
        services.send_notice(meeting, board, on=HELD_ON - timedelta(weeks=5))
    services.place_on_agenda(motion)
    services.send_notice(meeting, board, on=HELD_ON - timedelta(weeks=5))
    assert not motion.is_discussion_only


def test_one_tenth_of_the_members_require_an_extra_meeting(ctx):
    board = factories.user(board=True)
    members = [board] + [factories.host() for _ in range(19)]  # 20 members: 2 signatures
    today = date(2026, 3, 2)
    request = services.request_extra_meeting(members[1], "Byt styrelse", today=today)
    assert request.received_on is None
    assert services.sign_request(request, members[2], today=date(2026, 3, 3))
    assert services.convene_by(request) == date(2026, 3, 17)
    assert services.overdue_requests(date(2026, 3, 17)) == []
    assert services.overdue_requests(date(2026, 3, 18)) == [request]
    meeting, _ = services.create_meeting(
        kind="extra",
        format="physical",
        title="Extrastämma på begäran",
        starts_at=services.meeting_start(date(2026, 4, 10), time(18)),
        venue="Bygdegården",
        by=board,
        request=request,
        today=date(2026, 3, 10),
    )
    services.send_notice(meeting, board, on=date(2026, 3, 12))
    assert services.overdue_requests(date(2026, 3, 18)) == []


def test_the_auditors_request_is_valid_at_once(ctx):
    board = factories.user(board=True)
    request = services.register_auditor_request(board, "Granskning", received_on=date(2026, 3, 2))
    assert request.by_auditor
    assert services.convene_by(request) == date(2026, 3, 16)
    with pytest.raises(services.NotAllowed):
        services.register_auditor_request(factories.host(), "x")


def test_a_meeting_that_can_never_be_held_is_refused(ctx):
    board = factories.user(board=True)
    today = coop_date()
    with pytest.raises(GovernanceError):  # the notice window has passed
        services.create_meeting(
            kind="ordinary",
            format="physical",
            title="Årsstämma",
            starts_at=services.meeting_start(today + timedelta(weeks=2), time(18)),
            venue="Bygdegården",
            by=board,
        )
    db.session.add(FiscalYear(year=2024, closed_at=datetime(2025, 5, 1, tzinfo=UTC)))
    db.session.flush()
    assert ledger.is_year_closed(2024)
    with pytest.raises(GovernanceError):  # the year is already closed
        services.create_meeting(
            kind="ordinary",
            format="physical",
            title="Årsstämma",
            starts_at=services.meeting_start(today + timedelta(weeks=5), time(18)),
            venue="Bygdegården",
            by=board,
            fiscal_year=2024,
        )


def test_the_board_edits_or_cancels_a_meeting_before_it_is_held(ctx):
    meeting, chair = convened()
    with pytest.raises(GovernanceError):  # after the notice a change needs a new notice
        services.edit_meeting(
            meeting, title="Ny titel", starts_at=AT, venue="Annan lokal", today=HELD_ON
        )
    services.cancel_meeting(meeting)
    assert meeting.state == MeetingState.CANCELLED
    board = factories.user(board=True)
    draft, _ = services.create_meeting(
        kind="extra",
        format="physical",
        title="Utkast",
        starts_at=services.meeting_start(HELD_ON, time(18)),
        venue="Bygdegården",
        by=board,
        today=HELD_ON - timedelta(weeks=5),
    )
    later = services.meeting_start(HELD_ON + timedelta(days=7), time(18))
    services.edit_meeting(
        draft, title="Flyttad", starts_at=later, venue="Skolan", today=HELD_ON - timedelta(weeks=5)
    )
    assert (draft.held_on, draft.venue) == (HELD_ON + timedelta(days=7), "Skolan")


def test_a_meeting_that_has_begun_voting_cannot_be_cancelled(ctx):
    meeting, chair = convened()
    motion = add_to_agenda(meeting, kind="other", title="x", proposer=chair, by_board=True)
    services.open_vote(motion, chair, at=AT)
    with pytest.raises(GovernanceError):
        services.cancel_meeting(meeting)


def test_request_booking_refuses_a_project_that_is_only_proposed(ctx):
    member = factories.host()
    proposed = fund.propose_project(member, "Ny lekplats")
    home = factories.listing(nightly_price_ore=100_000)
    home.is_instant_book = True
    day = coop_date() + timedelta(days=20)
    with pytest.raises(BookingError):
        bookings.request_booking(
            home,
            factories.user(),
            day,
            day + timedelta(days=2),
            1,
            accepted_rules=True,
            community_project_id=proposed.id,
        )
    proposed.state = "approved"  # as a meeting's decision would (tests/governance/test_fund…)
    booking = bookings.request_booking(
        home,
        factories.user(),
        day,
        day + timedelta(days=2),
        1,
        accepted_rules=True,
        community_project_id=proposed.id,
    )
    assert booking.community_project_id == proposed.id


def test_the_meeting_page_says_a_late_matter_is_for_discussion(client, app):
    today = coop_date()
    with app.app_context():
        board = factories.user(board=True, email="board@example.org")
        meeting, _ = services.create_meeting(
            kind="extra",
            format="physical",
            title="Extrastämma",
            starts_at=services.meeting_start(today + timedelta(weeks=3), time(18)),
            venue="Bygdegården",
            by=board,
        )
        services.send_notice(meeting, board, on=today)
        late = services.add_motion(
            meeting, kind="other", title="Sent ärende", proposer=board, by_board=True
        )
        db.session.commit()
        meeting_id, late_id = meeting.id, late.id
    login(client, "board@example.org")
    page = text_of(client.get(f"/meetings/{meeting_id}"))
    assert f'id="motion-{late_id}-discussion"' in page
