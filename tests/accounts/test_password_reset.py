"""Password reset by emailed, expiring, single-use token."""

import logging
import re
from datetime import timedelta

from sqlalchemy import update

from rentalcoop.accounts.models import PasswordResetToken
from rentalcoop.db import utcnow
from rentalcoop.extensions import db
from tests import factories
from tests.helpers import login, post_form, text_of

LINK = re.compile(r"http://localhost/reset/([\w-]+)")


def _request_reset(client, caplog, email):
    caplog.clear()
    with caplog.at_level(logging.INFO, logger="rentalcoop.mail"):
        response = post_form(client, "/reset", {"email": email})
        assert response.status_code == 303
        response.close()  # the mail goes out once the answer has been sent
    mails = [r.getMessage() for r in caplog.records if r.name == "rentalcoop.mail"]
    return mails


def test_reset_flow_sets_a_new_password(app, client, caplog):
    with app.app_context():
        factories.user(email="reset@example.org")
        db.session.commit()
    mails = _request_reset(client, caplog, "reset@example.org")
    assert len(mails) == 1
    token = LINK.search(mails[0]).group(1)
    assert client.get(f"/reset/{token}").status_code == 200
    data = {"password": "my new password 1", "confirm": "my new password 1"}
    response = post_form(client, f"/reset/{token}", data)
    assert response.status_code == 303
    other = app.test_client()
    assert login(other, "reset@example.org", "my new password 1").status_code == 303
    assert login(app.test_client(), "reset@example.org").status_code == 422


def test_reset_token_works_only_once(app, client, caplog):
    with app.app_context():
        factories.user(email="once@example.org")
        db.session.commit()
    token = LINK.search(_request_reset(client, caplog, "once@example.org")[0]).group(1)
    data = {"password": "first new password", "confirm": "first new password"}
    assert post_form(client, f"/reset/{token}", data).status_code == 303
    second = app.test_client()
    assert second.get(f"/reset/{token}").status_code == 410
    data = {"password": "x" * 12, "confirm": "x" * 12}
    assert post_form(second, f"/reset/{token}", data).status_code == 410


def test_expired_reset_token_is_refused(app, client, caplog):
    with app.app_context():
        factories.user(email="late@example.org")
        db.session.commit()
    token = LINK.search(_request_reset(client, caplog, "late@example.org")[0]).group(1)
    with app.app_context():
        db.session.execute(
            update(PasswordResetToken).values(expires_at=utcnow() - timedelta(minutes=1))
        )
        db.session.commit()
    response = client.get(f"/reset/{token}")
    assert response.status_code == 410
    assert "expired" in text_of(response) or "gått ut" in text_of(response)


def test_a_new_request_voids_the_older_link(app, client, caplog):
    with app.app_context():
        factories.user(email="twice@example.org")
        db.session.commit()
    first = LINK.search(_request_reset(client, caplog, "twice@example.org")[0]).group(1)
    second = LINK.search(_request_reset(client, caplog, "twice@example.org")[0]).group(1)
    assert client.get(f"/reset/{first}").status_code == 410
    assert client.get(f"/reset/{second}").status_code == 200


def test_the_reset_mail_goes_out_after_the_answer_and_a_mail_failure_changes_nothing(
    app, client, caplog, monkeypatch
):
    with app.app_context():
        factories.user(email="slow@example.org")
        db.session.commit()
    sent = []

    def failing_smtp(message):
        sent.append(message["To"])
        raise ConnectionRefusedError

    monkeypatch.setattr("rentalcoop.mail.deliver", failing_smtp)
    answers = []
    for email in ("slow@example.org", "nobody@example.org"):
        before = list(sent)
        response = post_form(client, "/reset", {"email": email})
        assert sent == before  # nothing sent while the answer is being made
        response.close()
        answers.append((response.status_code, response.headers["Location"]))
    assert sent == ["slow@example.org"]
    assert answers[0] == answers[1] == (303, "/login")


def test_unknown_email_gets_the_same_answer_and_no_mail(client, caplog):
    mails = _request_reset(client, caplog, "nobody@example.org")
    assert mails == []


def test_unknown_token_is_refused(client):
    assert client.get("/reset/not-a-real-token").status_code == 410
