"""Community projects (who approves them), the notice mail in each language, statements."""

from __future__ import annotations

from datetime import time

import pytest
from flask_babel import force_locale

from rentalcoop import mail
from rentalcoop.governance import fund, services
from rentalcoop.governance.models import ProjectState
from tests import factories
from tests.governance.conftest import HELD_ON, add_to_agenda, convened


def test_the_board_approves_projects_only_when_the_statutes_delegate_it(ctx):
    board, member = factories.user(board=True), factories.host()
    project = fund.propose_project(member, "Cykelverkstad")
    with pytest.raises(services.NotAllowed):
        fund.approve_project(project.id, board)
    services.set_setting(services.BOARD_APPROVES_PROJECTS, "yes")
    with pytest.raises(services.NotAllowed):
        fund.approve_project(project.id, member)  # a member is not the board
    fund.approve_project(project.id, board)
    assert project.state == ProjectState.APPROVED
    assert fund.approved_projects() == [project]


def test_the_meeting_approves_a_project(ctx, at_meeting):
    meeting, chair = convened()
    project = fund.propose_project(factories.host(), "Badbryggan")
    motion = add_to_agenda(
        meeting,
        kind="project",
        title="Godkänn Badbryggan",
        proposer=chair,
        by_board=True,
        project_id=project.id,
    )
    services.open_vote(motion, chair, at=at_meeting)
    services.cast_vote(motion, chair, "yes")
    services.close_vote(motion, chair, at=at_meeting)
    assert project.state == ProjectState.APPROVED


def test_only_members_propose_projects(ctx):
    with pytest.raises(services.NotAllowed):
        fund.propose_project(factories.user(), "Min idé")


@pytest.mark.parametrize("locale", ["sv", "en"])
def test_the_notice_mail_renders_in_the_members_language(app, locale):
    with app.app_context():
        meeting, _chair = convened()
        with app.test_request_context("/"), force_locale(locale):
            message = mail.compose("a@example.org", locale, "meeting_notice", meeting_id=meeting.id)
    body = message.get_content()
    assert "Bygdegården" in body
    assert f"/meetings/{meeting.id}" in body


def test_meeting_start_is_swedish_wall_clock():
    start = services.meeting_start(HELD_ON, time(18, 0))
    assert start.hour == 16  # 18:00 CEST in May is 16:00 UTC
