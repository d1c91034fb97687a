"""The röstlängd page (chair or board), the members' extra-meeting requests page and the
auditor page, each tried by someone who may not."""

from __future__ import annotations

from datetime import time, timedelta

from sqlalchemy import select

from rentalcoop.extensions import db
from rentalcoop.governance import services
from rentalcoop.governance.models import Attendance, MeetingRequest, Proxy
from rentalcoop.listings.pricing import coop_date
from tests import factories
from tests.helpers import login, post_form, text_of


def _meeting_today(app):
    today = coop_date()
    with app.app_context():
        board = factories.user(board=True, email="board@example.org")
        chair = factories.host(email="chair@example.org")
        present = factories.host(email="present@example.org", name="Närvarande Nilsson")
        principal = factories.host(email="principal@example.org", name="Fullmakt Fredriksson")
        factories.host(email="other@example.org")
        meeting, _ = services.create_meeting(
            kind="extra",
            format="physical",
            title="Extrastämma",
            starts_at=services.meeting_start(today, time(0, 1)),
            venue="Bygdegården",
            by=board,
            today=today - timedelta(weeks=4),
        )
        services.send_notice(meeting, board, on=today - timedelta(weeks=3))
        services.set_officers(
            meeting, chair=chair, secretary=factories.host(), adjusters=[factories.host()]
        )
        services.grant_proxy(meeting, principal, present, today, registered_by=board)
        db.session.commit()
        return meeting.id, present.id, principal.id


def test_the_chair_takes_and_adjusts_the_register(client, app):
    meeting_id, present_id, principal_id = _meeting_today(app)
    page = f"/meetings/{meeting_id}/register"
    for email in ("other@example.org", "present@example.org"):
        other = app.test_client()
        login(other, email)
        assert other.get(page).status_code == 403
        assert (
            post_form(
                other, page, {"present": present_id}, form_url=f"/meetings/{meeting_id}"
            ).status_code
            == 403
        )
    login(client, "chair@example.org", lang="en")
    assert "Members present" in text_of(client.get(page + "?lang=en"))
    response = post_form(client, page, {"present": [present_id]})
    assert response.status_code == 303
    with app.app_context():
        rows = {
            r.member_id: (r.channel, r.represented_by_id)
            for r in db.session.scalars(select(Attendance))
        }
    # Present in person, and the principal represented by the proxy holder who is present.
    assert rows == {present_id: ("in_person", None), principal_id: ("proxy", present_id)}
    adjust = f"/meetings/{meeting_id}/register/adjust"
    response = post_form(
        client, adjust, {"member": principal_id, "channel": "in_person", "holder": 0}, form_url=page
    )
    assert response.status_code == 303
    response = post_form(
        client, adjust, {"member": present_id, "channel": "gone", "holder": 0}, form_url=page
    )
    assert response.status_code == 303
    with app.app_context():
        rows = {r.member_id: r.channel for r in db.session.scalars(select(Attendance))}
        assert rows == {principal_id: "in_person"}
        assert db.session.scalars(select(Proxy)).one().revoked_at is None
    sv = text_of(client.get(page + "?lang=sv"))
    assert "Röstlängd" in sv
    assert "Fullmakt Fredriksson" in sv
    other = app.test_client()
    login(other, "other@example.org")
    assert (
        post_form(
            other,
            adjust,
            {"member": principal_id, "channel": "gone", "holder": 0},
            form_url=f"/meetings/{meeting_id}",
        ).status_code
        == 403
    )


def test_members_request_an_extra_meeting_and_the_board_sees_the_count(client, app):
    with app.app_context():
        factories.user(board=True, email="board@example.org")
        factories.host(email="member@example.org")
        factories.host(email="second@example.org")
        for _ in range(17):
            factories.host()
        factories.user(email="guest@example.org")
        db.session.commit()
    page = "/member/extra-meeting"
    guest = app.test_client()
    login(guest, "guest@example.org")
    assert guest.get(page).status_code == 403
    login(client, "member@example.org")
    response = post_form(client, page, {"matter": "Byt styrelse: den har inte kallat i tid."})
    assert response.status_code == 303
    assert post_form(client, page, {"matter": ""}).status_code == 422
    with app.app_context():
        request = db.session.scalars(select(MeetingRequest)).one()
        assert request.received_on is None  # 1 of 2 signatures (20 members)
        request_id = request.id
    assert (
        post_form(guest, f"/member/extra-meeting/{request_id}/sign", {}, form_url="/").status_code
        == 403
    )
    second = app.test_client()
    login(second, "second@example.org")
    response = post_form(second, f"/member/extra-meeting/{request_id}/sign", {}, form_url=page)
    assert response.status_code == 303
    with app.app_context():
        request = db.session.get(MeetingRequest, request_id)
        assert request.received_on == coop_date()
        last_day = services.convene_by(request)
    board = app.test_client()
    login(board, "board@example.org", lang="en")
    body = text_of(board.get(page + "?lang=en"))
    assert "2 of 2 signatures" in body
    assert "the notice must go out by" in body
    assert str(last_day.day) in body


def test_only_the_board_records_the_auditor(client, app):
    with app.app_context():
        factories.user(board=True, email="board@example.org")
        auditor = factories.host(email="auditor@example.org", name="Revisor Rut")
        db.session.commit()
        auditor_id = auditor.id
    member = app.test_client()
    login(member, "auditor@example.org")
    assert member.get("/board/auditor").status_code == 403
    login(client, "board@example.org")
    response = post_form(
        client,
        "/board/auditor",
        {"auditor": auditor_id, "elected_on": (coop_date() - timedelta(days=30)).isoformat()},
    )
    assert response.status_code == 303
    assert "Revisor Rut" in text_of(client.get("/board/auditor"))


def test_the_board_convenes_the_meeting_a_request_asks_for(client, app):
    with app.app_context():
        board = factories.user(board=True, email="board@example.org")
        auditor = factories.user(email="auditor@example.org")
        services.register_auditor(auditor, coop_date() - timedelta(days=90), board)
        request = services.request_extra_meeting(auditor, "Granska bokföringen")
        db.session.commit()
        request_id = request.id
    login(client, "board@example.org")
    held = coop_date() + timedelta(weeks=3)
    response = post_form(
        client,
        "/board/meetings/new",
        {
            "kind": "extra",
            "format": "physical",
            "title": "Extrastämma på revisorns begäran",
            "held_on": held.isoformat(),
            "starts": "18:00",
            "venue": "Bygdegården",
            "answers_request": request_id,
        },
    )
    assert response.status_code == 303
    with app.app_context():
        from rentalcoop.governance.models import Meeting

        meeting = db.session.scalars(select(Meeting)).one()
        assert meeting.requested_by_id == request_id
        assert services.open_requests() == []  # answered
