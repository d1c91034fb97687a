"""The auditor (elected, gets the accounts before the annual notice, may require an extra
meeting), statutes changes decided → valid → registered, majorities from the motion's kind,
and the statutes' permission for a meeting held only online."""

from __future__ import annotations

from datetime import date, time, timedelta

import pytest
from sqlalchemy import select

from rentalcoop.extensions import db
from rentalcoop.governance import services
from rentalcoop.governance.models import MeetingKind, MotionKind
from rentalcoop.governance.services import GovernanceError, NotAllowed
from tests import factories
from tests.governance.conftest import HELD_ON, add_to_agenda, convened, deliver_accounts


def _annual(board, held_on=HELD_ON):
    meeting, _ = services.create_meeting(
        kind=MeetingKind.ORDINARY,
        format="physical",
        title="Årsstämma",
        starts_at=services.meeting_start(held_on, time(18)),
        venue="Bygdegården",
        by=board,
        today=held_on - timedelta(weeks=8),
    )
    return meeting


def test_the_annual_notice_waits_for_the_accounts_to_reach_the_auditor(ctx):
    board = factories.user(board=True)
    meeting = _annual(board)
    notice_day = HELD_ON - timedelta(weeks=5)
    with pytest.raises(GovernanceError, match="auditor|revisorn"):
        services.send_notice(meeting, board, on=notice_day)
    with pytest.raises(GovernanceError):  # no auditor on record yet
        services.deliver_accounts_to_auditor(meeting, board, on=notice_day)
    auditor = factories.host()
    services.register_auditor(auditor, date(2025, 3, 1), board)
    with pytest.raises(NotAllowed):
        services.deliver_accounts_to_auditor(meeting, factories.host(), on=notice_day)
    # Delivered after the notice day does not count for that notice.
    services.deliver_accounts_to_auditor(meeting, board, on=notice_day + timedelta(days=1))
    with pytest.raises(GovernanceError):
        services.send_notice(meeting, board, on=notice_day)
    services.deliver_accounts_to_auditor(meeting, board, on=notice_day - timedelta(days=3))
    services.send_notice(meeting, board, on=notice_day)
    assert meeting.accounts_auditor_user_id == auditor.id


def test_an_extra_meeting_needs_no_delivery(ctx):
    meeting, _chair = convened()  # an extra meeting convenes without accounts
    assert meeting.state == "convened"


def test_the_annual_meeting_elects_the_auditor_for_a_period(ctx, at_meeting):
    board = factories.user(board=True)
    meeting = _annual(board)
    deliver_accounts(meeting, board, on=HELD_ON - timedelta(weeks=6))
    old = services.current_auditors(HELD_ON)[0]
    services.send_notice(meeting, board, on=HELD_ON - timedelta(weeks=5))
    services.set_officers(
        meeting, chair=board, secretary=factories.host(), adjusters=[factories.host()]
    )
    election = next(m for m in meeting.motions if m.office == "auditor")
    new, other = factories.host(), factories.host()
    services.add_candidate(election, new)
    services.add_candidate(election, other)
    services.open_vote(election, board, at=at_meeting)
    ids = {c.user_id: c.id for c in election.candidates}
    for _ in range(2):
        services.cast_vote(election, factories.host(), f"candidate:{ids[new.id]}")
    services.cast_vote(election, factories.host(), f"candidate:{ids[other.id]}")
    services.close_vote(election, board, at=at_meeting)
    assert [a.user_id for a in services.current_auditors(HELD_ON)] == [new.id]
    assert services.current_auditors(HELD_ON)[0].elected_by_motion_id == election.id
    assert old.ended_on == HELD_ON
    assert [a.user_id for a in services.current_auditors(HELD_ON - timedelta(days=1))] == [
        old.user_id
    ]


def test_the_auditor_requires_an_extra_meeting_directly(ctx):
    board = factories.user(board=True)
    for _ in range(19):
        factories.host()
    auditor = factories.user()  # the auditor need not be a member
    with pytest.raises(NotAllowed):
        services.request_extra_meeting(auditor, "Granskning", today=date(2026, 3, 2))
    services.register_auditor(auditor, date(2025, 5, 1), board)
    request = services.request_extra_meeting(auditor, "Granskning", today=date(2026, 3, 2))
    assert request.by_auditor
    assert request.received_on == date(2026, 3, 2)  # valid at once, no signatures
    assert services.convene_by(request) == date(2026, 3, 16)
    assert services.overdue_requests(date(2026, 3, 17)) == [request]


def test_the_majority_follows_from_the_kind(ctx):
    meeting, chair = convened(changes_statutes=True)
    other = add_to_agenda(meeting, kind="other", title="Cykelställ", proposer=chair, by_board=True)
    statutes = add_to_agenda(
        meeting, kind="statutes", title="Stadgar", proposer=chair, by_board=True
    )
    duties = add_to_agenda(
        meeting,
        kind="statutes",
        title="Högre insats",
        proposer=chair,
        by_board=True,
        raises_member_duties=True,
    )
    assert (other.majority, statutes.majority, duties.majority) == (
        "simple",
        "two_thirds",
        "three_quarters",
    )
    with pytest.raises(TypeError):  # no way to pick it
        services.add_motion(
            meeting, kind="other", title="x", proposer=chair, by_board=True, majority="simple"
        )


def _statutes_vote(meeting, chair, at, choices, **fields):
    motion = add_to_agenda(
        meeting,
        kind=MotionKind.STATUTES,
        title="Tillåt poströstning",
        proposer=chair,
        by_board=True,
        setting_key=services.POSTAL_VOTING,
        setting_value="yes",
        **fields,
    )
    services.open_vote(motion, chair, at=at)
    for choice in choices:
        services.cast_vote(motion, factories.host(), choice, at=at)
    services.close_vote(motion, chair, at=at)
    return motion


def test_a_statutes_change_needs_two_meetings_then_registration(ctx, at_meeting):
    meeting, chair = convened(changes_statutes=True)
    first = _statutes_vote(meeting, chair, at_meeting, ["yes", "yes", "no"])
    assert first.passed is True
    assert first.valid_on is None  # decided once: not yet a valid decision
    assert not services.setting_enabled(services.POSTAL_VOTING)
    assert services.statute_decisions_awaiting() == [first]
    with pytest.raises(GovernanceError):
        services.register_statute_change(first, HELD_ON, chair, today=HELD_ON)
    services.close_meeting(meeting, at=at_meeting + timedelta(hours=1))

    later = HELD_ON + timedelta(weeks=8)
    second_meeting, _ = convened(changes_statutes=True, held_on=later, board=chair)
    at_later = services.meeting_start(later, time(19))
    with pytest.raises(GovernanceError):  # it must be the same change
        add_to_agenda(
            second_meeting,
            kind="statutes",
            title="x",
            proposer=chair,
            by_board=True,
            setting_key=services.POSTAL_VOTING,
            setting_value="no",
            confirms_motion_id=first.id,
        )
    second = _statutes_vote(
        second_meeting, chair, at_later, ["yes", "yes", "no"], confirms_motion_id=first.id
    )
    assert second.valid_on == later
    assert first.valid_on == later
    assert not services.setting_enabled(services.POSTAL_VOTING)  # valid, not registered
    with pytest.raises(NotAllowed):
        services.register_statute_change(second, later, factories.host(), today=later)
    with pytest.raises(GovernanceError):  # not before the decision
        services.register_statute_change(
            second, later - timedelta(days=1), chair, today=later + timedelta(days=30)
        )
    with pytest.raises(GovernanceError):  # registered on the confirming decision
        services.register_statute_change(
            first, later + timedelta(days=21), chair, today=later + timedelta(days=30)
        )
    services.register_statute_change(
        second, later + timedelta(days=21), chair, today=later + timedelta(days=30)
    )
    assert second.registered_on == later + timedelta(days=21)
    assert first.registered_on == second.registered_on
    assert services.setting_enabled(services.POSTAL_VOTING)
    with pytest.raises(GovernanceError):
        services.register_statute_change(
            second, later + timedelta(days=22), chair, today=later + timedelta(days=30)
        )


def test_a_unanimous_decision_of_all_members_is_valid_at_once(ctx, at_meeting):
    meeting, chair = convened(changes_statutes=True)
    voters = [m for m in services.current_members() if m.id != chair.id]
    motion = add_to_agenda(
        meeting,
        kind="statutes",
        title="Tillåt poströstning",
        proposer=chair,
        by_board=True,
        setting_key=services.POSTAL_VOTING,
        setting_value="yes",
    )
    services.open_vote(motion, chair, at=at_meeting)
    for voter in [chair, *voters]:
        services.cast_vote(motion, voter, "yes", at=at_meeting)
    services.close_vote(motion, chair, at=at_meeting)
    assert motion.valid_on == HELD_ON


def test_a_meeting_only_online_needs_the_statutes(ctx):
    board = factories.user(board=True)
    fields = dict(
        kind="extra",
        format="digital",
        title="Digital stämma",
        starts_at=services.meeting_start(HELD_ON, time(18)),
        join_info="https://meet.example.org",
        by=board,
        today=HELD_ON - timedelta(weeks=8),
    )
    with pytest.raises(GovernanceError, match="online|digitalt"):
        services.create_meeting(**fields)
    services.create_meeting(**{**fields, "format": "hybrid", "venue": "Bygdegården"})
    services.set_setting(services.DIGITAL_MEETINGS, "yes")
    meeting, _ = services.create_meeting(**fields)
    assert meeting.format == "digital"


def test_a_board_member_cannot_be_the_auditor(ctx):
    board = factories.user(board=True)
    with pytest.raises(GovernanceError):
        services.register_auditor(board, date(2025, 5, 1), board)
    meeting = _annual(board)
    election = next(m for m in meeting.motions if m.office == "auditor")
    with pytest.raises(GovernanceError):
        services.add_candidate(election, board)
    services.add_candidate(election, factories.host())


def test_the_board_confirms_a_statutes_change_from_the_meeting_page(client, app):
    from rentalcoop.governance.models import Motion
    from rentalcoop.listings.pricing import coop_date
    from tests.helpers import login, post_form, text_of

    today = coop_date()
    with app.app_context():
        board = factories.user(board=True, email="board@example.org")
        earlier, _ = convened(changes_statutes=True, held_on=today, board=board)
        first = add_to_agenda(
            earlier,
            kind="statutes",
            title="Tillåt poströstning",
            proposer=board,
            by_board=True,
            setting_key=services.POSTAL_VOTING,
            setting_value="yes",
        )
        at = services.meeting_start(today, time(19))
        services.open_vote(first, board, at=at)
        for choice in ("yes", "yes", "no"):
            services.cast_vote(first, factories.host(), choice, at=at)
        services.close_vote(first, board, at=at)
        services.close_meeting(earlier, at=at + timedelta(hours=1))
        later, _ = services.create_meeting(
            kind="extra",
            format="physical",
            title="Andra stämman",
            starts_at=services.meeting_start(today + timedelta(weeks=7), time(18)),
            venue="Bygdegården",
            by=board,
            changes_statutes=True,
        )
        db.session.commit()
        first_id, later_id = first.id, later.id
    login(client, "board@example.org")
    page = f"/meetings/{later_id}"
    assert 'name="confirms_motion_id"' in text_of(client.get(page))
    response = post_form(
        client,
        f"/meetings/{later_id}/motions",
        {
            "kind": "statutes",
            "title": "Tillåt poströstning (andra beslutet)",
            "setting_key": services.POSTAL_VOTING,
            "setting_value": "yes",
            "confirms_motion_id": first_id,
        },
        form_url=page,
    )
    assert response.status_code == 303
    with app.app_context():
        second = db.session.scalars(select(Motion).where(Motion.meeting_id == later_id)).one()
        assert second.confirms_motion_id == first_id
        assert second.majority == "two_thirds"
