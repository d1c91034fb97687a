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
    services.send_notice(meeting, board, on=held_on - timedelta(weeks=5))
    chair = chair or board
    services.set_officers(
        meeting,
        chair=chair,
        secretary=factories.host(),
        adjusters=[factories.host()],
    )
    return meeting, chair


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
