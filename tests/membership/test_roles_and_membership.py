"""Roles (DESIGN §1), the membership path and the one access helper's 403s."""

import pytest
from sqlalchemy import select

from rentalcoop.accounts.models import ApplicationState, MembershipApplication, User
from rentalcoop.extensions import db
from tests import factories
from tests.helpers import login, post_form, text_of


@pytest.fixture
def people(app):
    with app.app_context():
        factories.user(email="guest@example.org", name="Gustav Gäst")
        factories.host(email="host@example.org")
        factories.user(email="board@example.org", board=True)
        factories.user(email="town@example.org", municipality=True)
        db.session.commit()


def _client_for(app, email):
    client = app.test_client()
    assert login(client, email).status_code == 303
    return client


BOARD_ONLY_GET = ["/board/members"]
BOARD_ONLY_POST = [
    "/board/applications/1",
    "/board/members/1/leave",
    "/board/municipality-accounts",
]


@pytest.mark.usefixtures("people")
@pytest.mark.parametrize("email", ["guest@example.org", "host@example.org", "town@example.org"])
def test_board_pages_are_403_for_everyone_else(app, email):
    client = _client_for(app, email)
    for url in BOARD_ONLY_GET:
        response = client.get(url)
        assert response.status_code == 403
        assert "<h1>" in text_of(response)  # a translated page, not a bare status
    for url in BOARD_ONLY_POST:
        response = post_form(client, url, {}, form_url="/account")
        assert response.status_code == 403


@pytest.mark.usefixtures("people")
def test_anonymous_users_are_sent_to_login(client):
    response = client.get("/board/members")
    assert response.status_code == 302
    assert "/login" in response.headers["Location"]


@pytest.mark.usefixtures("people")
def test_the_403_page_is_translated(app):
    client = _client_for(app, "guest@example.org")
    assert "Access denied" in text_of(client.get("/board/members?lang=en"))
    page = text_of(client.get("/board/members?lang=sv"))
    assert "Access denied" not in page


@pytest.mark.usefixtures("people")
def test_municipality_sees_only_statistics(app):
    client = _client_for(app, "town@example.org")
    assert client.get("/stats/").status_code == 200
    for url in ["/", "/about", "/membership", "/listings/1", "/board/members"]:
        assert client.get(url).status_code == 403, url
    assert client.get("/account").status_code == 200  # own account: password, log-out


@pytest.mark.usefixtures("people")
@pytest.mark.parametrize("email", ["guest@example.org", "host@example.org"])
def test_statistics_are_closed_to_guests_and_hosts(app, email):
    assert _client_for(app, email).get("/stats/").status_code == 403


@pytest.mark.usefixtures("people")
def test_board_can_see_statistics(app):
    assert _client_for(app, "board@example.org").get("/stats/").status_code == 200


@pytest.mark.usefixtures("people")
def test_membership_application_approved_by_the_board(app):
    guest = _client_for(app, "guest@example.org")
    response = post_form(guest, "/membership", {"motivation": "Jag hyr ut min stuga."})
    assert response.status_code == 303
    again = post_form(guest, "/membership", {"motivation": "Igen"})
    assert again.status_code in (200, 409)
    with app.app_context():
        assert db.session.scalar(select(db.func.count()).select_from(MembershipApplication)) == 1
        application_id = db.session.scalar(select(MembershipApplication.id))

    board = _client_for(app, "board@example.org")
    register = text_of(board.get("/board/members"))
    assert "Gustav Gäst" in register
    response = post_form(
        board, f"/board/applications/{application_id}", {"approve": "y"}, form_url="/board/members"
    )
    assert response.status_code == 303
    with app.app_context():
        user = db.session.scalar(select(User).where(User.email == "guest@example.org"))
        assert user.is_member
        assert user.membership.member_number > 0
        assert user.membership.joined_on is not None
        assert (
            db.session.get(MembershipApplication, application_id).state == ApplicationState.APPROVED
        )
    # Deciding twice does nothing more.
    post_form(
        board, f"/board/applications/{application_id}", {"reject": "y"}, form_url="/board/members"
    )
    with app.app_context():
        assert (
            db.session.get(MembershipApplication, application_id).state == ApplicationState.APPROVED
        )


@pytest.mark.usefixtures("people")
def test_rejected_application_leaves_a_guest(app):
    guest = _client_for(app, "guest@example.org")
    post_form(guest, "/membership", {"motivation": "Hej"})
    with app.app_context():
        application_id = db.session.scalar(select(MembershipApplication.id))
    board = _client_for(app, "board@example.org")
    post_form(
        board, f"/board/applications/{application_id}", {"reject": "y"}, form_url="/board/members"
    )
    with app.app_context():
        user = db.session.scalar(select(User).where(User.email == "guest@example.org"))
        assert not user.is_member


@pytest.mark.usefixtures("people")
def test_member_numbers_are_unique_and_increasing(app):
    from rentalcoop.membership import services

    with app.app_context():
        a = factories.user()
        b = factories.user()
        first = services.admit(a, None)
        second = services.admit(b, None)
        assert second.member_number == first.member_number + 1


@pytest.mark.usefixtures("people")
def test_board_ends_a_membership(app):
    with app.app_context():
        host = db.session.scalar(select(User).where(User.email == "host@example.org"))
        membership_id = host.membership.id
    board = _client_for(app, "board@example.org")
    response = post_form(
        board, f"/board/members/{membership_id}/leave", {"confirm": "y"}, form_url="/board/members"
    )
    assert response.status_code == 303
    with app.app_context():
        host = db.session.scalar(select(User).where(User.email == "host@example.org"))
        assert not host.is_member
        assert host.membership.left_on is not None


@pytest.mark.usefixtures("people")
def test_board_creates_a_municipality_account(app):
    board = _client_for(app, "board@example.org")
    data = {
        "name": "Kommunen",
        "email": "stats@kommun.se",
        "password": "a long password",
        "locale": "sv",
    }
    response = post_form(board, "/board/municipality-accounts", data, form_url="/board/members")
    assert response.status_code == 303
    town = _client_for(app, "stats@kommun.se") if False else app.test_client()
    response = login(town, "stats@kommun.se", "a long password")
    assert response.headers["Location"] == "/stats/"
    assert town.get("/").status_code == 403


@pytest.mark.usefixtures("people")
def test_municipality_account_cannot_apply_for_membership(app):
    client = _client_for(app, "town@example.org")
    assert (
        post_form(client, "/membership", {"motivation": "x"}, form_url="/account").status_code
        == 403
    )


@pytest.mark.usefixtures("people")
def test_ending_a_membership_asks_for_confirmation_first(app):
    """Issue 16, observation 6: "End membership" was one click on every row."""
    with app.app_context():
        host = db.session.scalar(select(User).where(User.email == "host@example.org"))
        membership_id = host.membership.id
    board = _client_for(app, "board@example.org")
    register = text_of(board.get("/board/members"))
    assert f'action="/board/members/{membership_id}/leave"' not in register
    assert f'href="/board/members/{membership_id}/leave"' in register
    page = text_of(board.get(f"/board/members/{membership_id}/leave"))
    assert 'name="confirm" required type="checkbox"' in page
    url = f"/board/members/{membership_id}/leave"
    unconfirmed = post_form(board, url, {}, form_url=url)
    assert unconfirmed.status_code == 422
    with app.app_context():
        assert db.session.scalar(select(User).where(User.email == "host@example.org")).is_member
    assert post_form(board, url, {"confirm": "y"}, form_url=url).status_code == 303
    with app.app_context():
        host = db.session.scalar(select(User).where(User.email == "host@example.org"))
        assert not host.is_member


@pytest.mark.usefixtures("people")
def test_a_board_member_cannot_end_their_own_membership(app):
    with app.app_context():
        me = db.session.scalar(select(User).where(User.email == "board@example.org"))
        membership_id = me.membership.id
    board = _client_for(app, "board@example.org")
    assert f'href="/board/members/{membership_id}/leave"' not in text_of(
        board.get("/board/members")
    )
    url = f"/board/members/{membership_id}/leave"
    response = post_form(board, url, {"confirm": "y"}, form_url=url)
    assert response.status_code == 303
    assert "Du kan inte avsluta ditt eget medlemskap" in text_of(board.get("/board/members"))
    with app.app_context():
        assert db.session.scalar(select(User).where(User.email == "board@example.org")).is_member
