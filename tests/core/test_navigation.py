"""Every journey starts from a link (issue 16, observation 3): trips, reservations with a badge
for new requests, the board's pages, and a 403 that sends a municipality somewhere it may go."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest

from rentalcoop.extensions import db
from rentalcoop.listings.pricing import coop_date
from tests import factories
from tests.helpers import forms_of, login, text_of

HREF = re.compile(r'href="(/[^"]*)"')


@pytest.fixture
def people(app):
    with app.app_context():
        guest = factories.user(email="guest@example.org")
        host = factories.host(email="host@example.org")
        factories.user(email="board@example.org", board=True)
        factories.user(email="town@example.org", municipality=True)
        home = factories.listing(host=host, is_instant_book=False)
        factories.booking(listing=home, guest=guest, state="requested")
        later = coop_date() + timedelta(days=60)
        factories.booking(listing=home, guest=guest, state="requested", check_in=later)
        db.session.commit()


def _signed_in(app, email):
    client = app.test_client()
    assert login(client, email).status_code == 303
    return client


def _links(page: str) -> set[str]:
    return set(HREF.findall(page))


@pytest.mark.usefixtures("people")
def test_a_guest_finds_their_trips_in_the_menu(app):
    client = _signed_in(app, "guest@example.org")
    links = _links(text_of(client.get("/")))
    assert "/trips" in links
    assert "/host/reservations" not in links
    assert client.get("/trips").status_code == 200


@pytest.mark.usefixtures("people")
def test_a_host_finds_reservations_with_a_badge_for_requests(app):
    client = _signed_in(app, "host@example.org")
    page = text_of(client.get("/?lang=en"))
    assert "/host/reservations" in _links(page)
    assert re.search(r'id="nav-reservations">Reservations <span class="badge">2</span>', page)
    assert 'id="open-requests" role="img" aria-label="2 requests to answer">2<' in page
    assert client.get("/host/reservations").status_code == 200


@pytest.mark.usefixtures("people")
def test_the_board_menu_reaches_reports_costs_and_the_year_close(app):
    client = _signed_in(app, "board@example.org")
    links = _links(text_of(client.get("/")))
    board_links = {link for link in links if link.startswith("/board/")}
    assert {"/board/reports", "/board/costs"} <= board_links
    assert any(re.fullmatch(r"/board/close/\d{4}", link) for link in board_links)
    for link in board_links:
        assert client.get(link).status_code == 200, link


@pytest.mark.usefixtures("people")
def test_a_municipality_403_links_only_where_it_may_go(app):
    client = _signed_in(app, "town@example.org")
    response = client.get("/trips")
    assert response.status_code == 403
    page = text_of(response)
    forms = {f["action"] for f in forms_of(page)}
    for link in _links(page) - {"/static"}:
        if link.startswith("/static/") or link.startswith("/trips?lang="):
            continue  # the language switch re-asks for the same page
        assert client.get(link).status_code != 403, link
    assert "/stats/" in _links(page)
    assert forms <= {"/logout"}
