"""Registration, log-in, log-out, sessions, settings and account deletion."""

from sqlalchemy import select

from rentalcoop.accounts.models import User
from rentalcoop.extensions import db
from tests import factories
from tests.helpers import csrf_token, login, logout, post_form, text_of

NEW = {
    "name": "Ingrid Holm",
    "email": "Ingrid@Example.org",
    "password": "a long enough password",
    "confirm": "a long enough password",
    "locale": "en",
    "accept_terms": "y",
}


def test_register_creates_a_guest_and_logs_in(app, client):
    response = post_form(client, "/register", NEW)
    assert response.status_code == 303
    with app.app_context():
        user = db.session.scalar(select(User).where(User.email == "ingrid@example.org"))
        assert user is not None
        assert user.locale == "en"
        assert user.password_hash.startswith("pbkdf2:")  # hashed, never stored plain
        assert user.roles == {"guest"}
    page = text_of(client.get("/"))
    assert "Ingrid Holm" in page  # the account menu


def test_register_refuses_a_taken_email_and_keeps_the_form(app, client):
    with app.app_context():
        factories.user(email="ingrid@example.org")
        db.session.commit()
    response = post_form(client, "/register", NEW)
    assert response.status_code == 422
    page = text_of(response)
    assert 'value="Ingrid Holm"' in page
    with app.app_context():
        assert db.session.scalar(select(db.func.count()).select_from(User)) == 1


def test_register_validates_password(client):
    response = post_form(client, "/register", {**NEW, "confirm": "something else entirely"})
    assert response.status_code == 422
    response = post_form(client, "/register", {**NEW, "password": "short", "confirm": "short"})
    assert response.status_code == 422


def test_form_without_csrf_token_is_refused(client):
    response = client.post("/login", data={"email": "a@b.se", "password": "x" * 12})
    assert response.status_code == 400
    assert "formuläret" in text_of(response).lower() or "form" in text_of(response).lower()


def test_login_and_logout(app, client):
    with app.app_context():
        factories.user(email="per@example.org", name="Per Berg")
        db.session.commit()
    bad = login(client, "per@example.org", "wrong password here")
    assert bad.status_code == 422
    good = login(client, "PER@example.org")
    assert good.status_code == 303
    assert "Per Berg" in text_of(client.get("/"))
    assert client.get("/logout").status_code == 405  # log-out changes state: POST only
    assert logout(client).status_code == 303
    assert "Per Berg" not in text_of(client.get("/"))


def test_login_follows_only_local_next(app, client):
    with app.app_context():
        factories.user(email="n@example.org")
        db.session.commit()
    token = csrf_token(client, "/login")
    data = {"csrf_token": token, "email": "n@example.org", "password": factories.PASSWORD}
    response = client.post("/login?next=https://evil.example/", data=data)
    assert response.headers["Location"] == "/"
    logout(client)
    token = csrf_token(client, "/login")
    response = client.post("/login?next=/about", data={**data, "csrf_token": token})
    assert response.headers["Location"] == "/about"


def test_remember_me_sets_a_cookie(app, client):
    with app.app_context():
        factories.user(email="r@example.org")
        db.session.commit()
    login(client, "r@example.org", remember="y")
    assert client.get_cookie("remember_token") is not None


def test_password_change_ends_other_sessions(app):
    with app.app_context():
        factories.user(email="two@example.org", name="Two Devices")
        db.session.commit()
    laptop, phone = app.test_client(), app.test_client()
    login(laptop, "two@example.org")
    login(phone, "two@example.org", remember="y")
    response = post_form(
        laptop,
        "/account/password",
        {
            "pw-current_password": factories.PASSWORD,
            "pw-password": "a brand new password",
            "pw-confirm": "a brand new password",
        },
        form_url="/account",
    )
    assert response.status_code == 303
    assert "Two Devices" in text_of(laptop.get("/"))  # this device stays logged in
    assert "Two Devices" not in text_of(phone.get("/"))  # the other one (and its cookie) not
    assert login(phone, "two@example.org", "a brand new password").status_code == 303


def test_password_change_needs_the_current_password(app, client):
    with app.app_context():
        factories.user(email="c@example.org")
        db.session.commit()
    login(client, "c@example.org")
    response = post_form(
        client,
        "/account/password",
        {
            "pw-current_password": "not my password",
            "pw-password": "a brand new password",
            "pw-confirm": "a brand new password",
        },
        form_url="/account",
    )
    assert response.status_code == 422


def test_logout_everywhere(app):
    with app.app_context():
        factories.user(email="e@example.org", name="Everywhere")
        db.session.commit()
    one, two = app.test_client(), app.test_client()
    login(one, "e@example.org")
    login(two, "e@example.org")
    post_form(one, "/account/logout-everywhere", {}, form_url="/account")
    assert "Everywhere" not in text_of(two.get("/"))


def test_change_email(app, client):
    with app.app_context():
        factories.user(email="old@example.org")
        factories.user(email="taken@example.org")
        db.session.commit()
    login(client, "old@example.org")
    data = {"em-email": "taken@example.org", "em-current_password": factories.PASSWORD}
    assert post_form(client, "/account/email", data, form_url="/account").status_code == 422
    data = {"em-email": "new@example.org", "em-current_password": factories.PASSWORD}
    assert post_form(client, "/account/email", data, form_url="/account").status_code == 303
    logout(client)
    assert login(client, "new@example.org").status_code == 303


def test_settings_change_name_and_language(app, client):
    with app.app_context():
        factories.user(email="s@example.org")
        db.session.commit()
    login(client, "s@example.org")
    response = post_form(client, "/account", {"name": "Sara Sandberg", "locale": "en"})
    assert response.status_code == 303
    page = text_of(client.get("/"))
    assert '<html lang="en">' in page
    assert "Sara Sandberg" in page


def test_language_switch_is_saved_on_the_account(app, client):
    with app.app_context():
        factories.user(email="l@example.org", locale="sv")
        db.session.commit()
    login(client, "l@example.org")
    client.get("/?lang=en")
    with app.app_context():
        assert db.session.scalar(select(User.locale).where(User.email == "l@example.org")) == "en"


def test_delete_account_erases_personal_data(app, client):
    with app.app_context():
        person = factories.user(email="gone@example.org", name="Gone Person", member=True)
        db.session.commit()
        user_id = person.id
    login(client, "gone@example.org")
    data = {"del-current_password": factories.PASSWORD, "del-confirm": "y"}
    response = post_form(client, "/account/delete", data, form_url="/account")
    assert response.status_code == 303
    with app.app_context():
        husk = db.session.get(User, user_id)
        assert husk.name == ""
        assert "gone" not in husk.email
        assert husk.deleted_at is not None
        assert husk.membership.left_on is not None  # membership ended, number kept for the books
    assert login(client, "gone@example.org").status_code == 422
    # The address is free to register again.
    assert post_form(client, "/register", {**NEW, "email": "gone@example.org"}).status_code == 303


def test_delete_account_needs_password_and_confirmation(app, client):
    with app.app_context():
        factories.user(email="stay@example.org")
        db.session.commit()
    login(client, "stay@example.org")
    data = {"del-current_password": factories.PASSWORD}
    assert post_form(client, "/account/delete", data, form_url="/account").status_code == 422
    data = {"del-current_password": "wrong", "del-confirm": "y"}
    assert post_form(client, "/account/delete", data, form_url="/account").status_code == 422


def test_account_pages_need_login(client):
    response = client.get("/account")
    assert response.status_code == 302
    assert "/login" in response.headers["Location"]
