"""Reports: a party reports a review, an answer or a message; the board hides it (with the reason
logged) or dismisses the report; hidden content reads "removed by the cooperative"."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import select

from rentalcoop.db import utcnow
from rentalcoop.extensions import db
from rentalcoop.moderation import services
from rentalcoop.moderation.models import ContentReport
from rentalcoop.reviews import services as reviews
from rentalcoop.reviews.models import Review
from tests import factories
from tests.helpers import csrf_token, login, post_form, text_of


@pytest.fixture
def reviewed(app):
    """A stay both sides reviewed (published), and a board member."""
    with app.app_context():
        host = factories.host(name="Helga Värd", email="host@example.org")
        guest = factories.user(name="Gunnar Gäst", email="guest@example.org")
        home = factories.listing(host=host)
        stay = factories.completed_stay(listing=home, guest=guest, completed_at=utcnow())
        guest_review = factories.review(stay, side="guest", stars=1, text="The host is an idiot")
        factories.review(stay, side="host", stars=5, text="Fine guest")
        factories.user(board=True, name="Berit Styrelse", email="board@example.org")
        factories.user(email="stranger@example.org")
        db.session.commit()
        return {"booking": stay.id, "review": guest_review.id, "listing": home.id}


def _logout(client):
    client.post("/logout", data={"csrf_token": csrf_token(client, "/account")})


def test_only_parties_report_and_only_the_board_decides(app, client, reviewed):
    url = f"/report/review/{reviewed['review']}"
    login(client, "stranger@example.org")
    assert client.get(url).status_code == 403
    assert client.get("/board/reports").status_code == 403
    _logout(client)
    login(client, "host@example.org")
    assert post_form(client, url, {"reason": ""}).status_code == 422
    assert post_form(client, url, {"reason": "Insulting"}).status_code == 303
    # The same person reporting again adds nothing.
    assert post_form(client, url, {"reason": "Insulting!"}).status_code == 303
    assert client.get("/board/reports").status_code == 403
    with app.app_context():
        report_id = db.session.scalars(select(ContentReport.id)).one()
    assert client.get(f"/board/reports/{report_id}").status_code == 403
    token = csrf_token(client, "/account")
    hide = client.post(
        f"/board/reports/{report_id}/hide", data={"csrf_token": token, "reason": "x"}
    )
    assert hide.status_code == 403


def test_board_hides_a_review_with_the_reason_logged(app, client, reviewed):
    login(client, "host@example.org")
    post_form(client, f"/report/review/{reviewed['review']}", {"reason": "Insulting"})
    _logout(client)
    with app.app_context():
        report_id = db.session.scalars(select(ContentReport.id)).one()
        assert reviews.listing_summary(reviewed["listing"]).count == 1

    login(client, "board@example.org")
    desk = text_of(client.get("/board/reports?lang=en"))
    assert "Insulting" in desk
    detail_url = f"/board/reports/{report_id}"
    assert "The host is an idiot" in text_of(client.get(detail_url))
    no_reason = post_form(client, f"{detail_url}/hide", {"reason": ""}, form_url=detail_url)
    assert no_reason.status_code == 422
    done = post_form(
        client, f"{detail_url}/hide", {"reason": "Personal insult (rule 3)"}, form_url=detail_url
    )
    assert done.status_code == 303
    again = post_form(client, f"{detail_url}/dismiss", {"note": ""}, form_url="/board/reports")
    assert again.status_code == 409

    with app.app_context():
        report = db.session.get(ContentReport, report_id)
        assert report.state == "hidden"
        assert report.decided_by.email == "board@example.org"
        assert report.decided_at is not None
        assert report.decision_note == "Personal insult (rule 3)"
        assert db.session.get(Review, reviewed["review"]).hidden_at is not None
        # A hidden review no longer counts towards the home's average.
        assert reviews.listing_summary(reviewed["listing"]).count == 0
    log = text_of(client.get("/board/reports?lang=en"))
    assert "Personal insult (rule 3)" in log
    assert "Berit Styrelse" in log
    _logout(client)

    page = text_of(client.get(f"/listings/{reviewed['listing']}?lang=en"))
    assert "The host is an idiot" not in page
    assert "Removed by the cooperative." in page


def test_board_dismisses_a_report(app, client, reviewed):
    with app.app_context():
        from rentalcoop.accounts.models import User

        host = db.session.scalar(select(User).where(User.email == "host@example.org"))
        target, booking = services.load_target("review", reviewed["review"])
        report = services.report_content(host, "review", target, booking, "Unfair")
        db.session.commit()
        report_id = report.id
    login(client, "board@example.org")
    detail_url = f"/board/reports/{report_id}"
    done = post_form(
        client, f"{detail_url}/dismiss", {"note": "Harsh, not abusive"}, form_url=detail_url
    )
    assert done.status_code == 303
    with app.app_context():
        report = db.session.get(ContentReport, report_id)
        assert (report.state, report.decision_note) == ("dismissed", "Harsh, not abusive")
        assert db.session.get(Review, reviewed["review"]).hidden_at is None


def test_hidden_message_reads_removed(app, client):
    with app.app_context():
        host = factories.host(email="h@example.org")
        guest = factories.user(email="g@example.org")
        board = factories.user(board=True, email="b@example.org")
        stay = factories.booking(listing=factories.listing(host=host), guest=guest)
        message = factories.message(stay, body="Send me your bank password")
        report = services.report_content(host, "message", message, stay, "Phishing")
        services.hide_content(report, board, "Phishing attempt", at=utcnow() + timedelta(minutes=1))
        db.session.commit()
        booking_id = stay.id
    login(client, "h@example.org")
    page = text_of(client.get(f"/bookings/{booking_id}/messages?lang=en"))
    assert "bank password" not in page
    assert "Removed by the cooperative." in page


def test_a_review_not_yet_published_cannot_be_reported_by_its_subject(app):
    with app.app_context():
        host = factories.host()
        guest = factories.user()
        stay = factories.completed_stay(listing=factories.listing(host=host), guest=guest)
        review = factories.review(stay, side="guest", text="Hidden for now")
        assert not services.may_report(host, "review", review, stay)
        assert services.may_report(guest, "review", review, stay)
