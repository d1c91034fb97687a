"""The coop's identity as settings (issue 16, observation 8 / build 3): organisation number,
address, contact, privacy policy and terms the board keeps in both languages, shown in the
footer and on /privacy, /terms and /contact; registration records the terms version accepted."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from rentalcoop.accounts.models import User
from rentalcoop.extensions import db
from rentalcoop.identity.models import LegalText
from tests import factories
from tests.helpers import login, post_form, submit_unchanged, text_of

NEW = {
    "name": "Ingrid Holm",
    "email": "ingrid@example.org",
    "password": "a long enough password",
    "confirm": "a long enough password",
    "locale": "sv",
}


@pytest.fixture
def board(app):
    with app.app_context():
        factories.user(email="board@example.org", board=True)
        factories.user(email="town@example.org", municipality=True)
        db.session.commit()
    client = app.test_client()
    assert login(client, "board@example.org").status_code == 303
    return client


def _identity_form(**changes):
    data = {
        "name": "Ekby Hyrkooperativ ekonomisk förening",
        "organisation_number": "769600-1234",
        "address": "Storgatan 1, 123 45 Ekby",
        "contact_email": "styrelsen@ekby.example",
        "privacy_sv": "Vi behandlar dina uppgifter varsamt.",
        "privacy_en": "We handle your data with care.",
        "terms_sv": "Villkor, version två.",
        "terms_en": "Terms, version two.",
    }
    data.update(changes)
    return data


def test_everyone_finds_privacy_terms_and_contact_in_the_footer(app, client):
    page = text_of(client.get("/"))
    for path in ("/privacy", "/terms", "/contact"):
        assert f'href="{path}"' in page
        assert client.get(path).status_code == 200
    assert "GDPR" in text_of(client.get("/privacy?lang=en"))


def test_the_board_keeps_the_details_and_a_changed_text_is_a_new_version(app, board):
    response = post_form(board, "/board/identity", _identity_form())
    assert response.status_code == 303
    footer = text_of(board.get("/")).split('id="footer-identity"')[1].split("</p>")[0]
    assert "769600-1234" in footer
    assert "Storgatan 1, 123 45 Ekby" in footer
    assert "styrelsen@ekby.example" in footer
    assert "Villkor, version två." in text_of(board.get("/terms"))
    assert "Terms, version two." in text_of(app.test_client().get("/terms?lang=en"))
    # Saving again unchanged publishes nothing new.
    assert submit_unchanged(board, "/board/identity").status_code == 303
    with app.app_context():
        versions = db.session.scalars(
            select(LegalText.version).where(LegalText.kind == "terms").order_by(LegalText.version)
        ).all()
        assert versions == [1, 2]


def test_a_bad_organisation_number_is_a_translated_422(board):
    response = post_form(board, "/board/identity?lang=en", _identity_form(organisation_number="x"))
    assert response.status_code == 422
    assert "Write it as 769600-1234." in text_of(response)


def test_only_the_board_edits_the_details(app, board):
    guest = app.test_client()
    with app.app_context():
        factories.user(email="guest@example.org")
        db.session.commit()
    login(guest, "guest@example.org")
    assert guest.get("/board/identity").status_code == 403


def test_the_municipality_may_read_privacy_terms_and_contact(app, board):
    town = app.test_client()
    login(town, "town@example.org")
    for path in ("/privacy", "/terms", "/contact"):
        assert town.get(path).status_code == 200, path


def test_registration_needs_the_terms_accepted_and_records_the_version(app, board):
    post_form(board, "/board/identity", _identity_form())  # terms version 2 in force
    client = app.test_client()
    refused = post_form(client, "/register?lang=en", NEW)
    assert refused.status_code == 422
    assert "Please accept the terms to create an account." in text_of(refused)
    page = text_of(client.get("/register"))
    assert 'name="accept_terms" required type="checkbox"' in page
    assert post_form(client, "/register", {**NEW, "accept_terms": "y"}).status_code == 303
    with app.app_context():
        user = db.session.scalar(select(User).where(User.email == "ingrid@example.org"))
        assert user.terms_version == 2
        assert user.terms_accepted_at is not None
