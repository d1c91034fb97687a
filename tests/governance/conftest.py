"""Helpers for governance tests: a convened meeting with officers, voting on a given day."""

from __future__ import annotations

from datetime import date, time, timedelta

import pytest

from rentalcoop.accounts.models import User
from rentalcoop.extensions import db
from rentalcoop.governance import services
from rentalcoop.governance.models import MeetingKind
from tests import factories

HELD_ON = date(2026, 5, 20)


def convened(
    *,
    kind: str = MeetingKind.EXTRA,
    held_on: date = HELD_ON,
    board=None,
    chair=None,
    changes_statutes: bool = False,
    fiscal_year: int | None = None,
):
    """A meeting convened five weeks ahead, with a chair, a secretary and one adjuster."""
    board = board or factories.user(board=True)
    meeting, _warnings = services.create_meeting(
        today=held_on - timedelta(weeks=7),
        kind=kind,
        format="physical",
        title="Föreningsstämma",
        starts_at=services.meeting_start(held_on, time(18, 0)),
        venue="Bygdegården",
        by=board,
        changes_statutes=changes_statutes,
        fiscal_year=fiscal_year,
    )
    if kind == MeetingKind.ORDINARY:
        deliver_accounts(meeting, board, on=held_on - timedelta(weeks=6))
    services.send_notice(meeting, board, on=held_on - timedelta(weeks=5))
    chair = chair or board
    services.set_officers(
        meeting,
        chair=chair,
        secretary=factories.host(),
        adjusters=[factories.host()],
    )
    return meeting, chair


def deliver_accounts(meeting, board, on: date):
    """The annual meeting's accounts handed to the auditor (one is recorded if none is in
    office), so that its notice may go out."""
    if not services.current_auditors(on):
        services.register_auditor(factories.host(), on - timedelta(days=400), board)
    return services.deliver_accounts_to_auditor(meeting, board, on=on)


def add_to_agenda(meeting, **fields):
    """A motion added to a convened meeting and named in a further notice (sent the day of the
    first one, inside the notice window), so the meeting may decide it."""
    motion = services.add_motion(meeting, **fields)
    if motion.state == "on_agenda" and motion.is_discussion_only:
        board = db.session.get(User, meeting.created_by_id)
        services.send_supplementary_notice(meeting, board, on=meeting.notice_sent_on)
    return motion


@pytest.fixture
def at_meeting():
    """An instant during the meeting day (votes open only on the day)."""
    return services.meeting_start(HELD_ON, time(19, 0))
