"""The host's "Today" page, the header's badges, and the guest's "My trips" (issue 16)."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest

from rentalcoop.db import utcnow
from rentalcoop.extensions import db
from rentalcoop.listings.pricing import coop_date
from tests import factories
from tests.helpers import login, logout, text_of


@pytest.fixture
def town(app):
    with app.app_context():
        host = factories.host(email="host@example.org", name="Hanna Värd")
        guest = factories.user(email="guest@example.org", name="Gustav Gäst")
        other = factories.user(email="other@example.org", name="Olga Annan")
        home = factories.listing(host=host, title="Sjöboden", is_instant_book=False)
        today = coop_date()
        request = factories.booking(
            listing=home, guest=guest, check_in=today + timedelta(days=30), state="requested"
        )
        request.expires_at = utcnow() + timedelta(hours=20)
        arriving = factories.booking(
            listing=home, guest=other, check_in=today + timedelta(days=1), nights=2
        )
        leaving = factories.booking(
            listing=home, guest=guest, check_in=today - timedelta(days=2), nights=2
        )
        unpaid = factories.booking(
            listing=home, guest=other, check_in=today + timedelta(days=50), state="pending_payment"
        )
        factories.message(arriving, sender=other, body="Vi kommer vid sju.")
        db.session.commit()
        return {
            "request": request.id,
            "arriving": arriving.id,
            "leaving": leaving.id,
            "unpaid": unpaid.id,
        }


def _section(page: str, section_id: str) -> str:
    match = re.search(rf'<section[^>]*id="{section_id}".*?</section>', page, re.S)
    assert match, section_id
    return match.group(0)


def test_the_hosts_today_page_lists_what_to_answer_and_who_comes_and_goes(client, town):
    login(client, "host@example.org")
    response = client.get("/host/today?lang=en")
    assert response.status_code == 200
    page = text_of(response)
    requests = _section(page, "today-requests")
    assert f"/bookings/{town['request']}/accept" in requests
    assert f"/bookings/{town['request']}/decline" in requests
    assert "Answer before" in requests
    arrivals = _section(page, "today-arrivals")
    assert "Olga Annan" in arrivals
    assert "Arrives tomorrow" in arrivals
    departures = _section(page, "today-departures")
    assert "Gustav Gäst" in departures
    assert "Leaves today" in departures
    messages = _section(page, "today-messages")
    assert f"/bookings/{town['arriving']}/messages" in messages
    payment = _section(page, "today-payment")
    assert f"/bookings/{town['unpaid']}" in payment
    assert "Held until" in payment


def test_the_today_page_is_the_hosts_own(client, town):
    login(client, "guest@example.org")
    assert client.get("/host/today").status_code == 403
    logout(client)
    assert client.get("/host/today").status_code in (302, 303)


def test_the_menu_links_today_with_a_badge_of_requests_and_unread_messages(client, town):
    login(client, "host@example.org")
    page = text_of(client.get("/about"))
    link = re.search(r'<a href="/host/today" id="nav-today">(.*?)</a>', page, re.S)
    assert link, "no Today link in the menu"
    assert '<span class="badge">2</span>' in link.group(1)  # one request, one unread message
    assert 'id="open-requests"' in page  # the header's own badge, on every page


def test_the_header_badges_cost_two_small_queries_whatever_the_host_has(
    app, client, town, count_queries
):
    login(client, "host@example.org")
    client.get("/account")
    with count_queries() as busy:
        client.get("/account")
    with app.app_context():
        quiet = factories.host(email="quiet@example.org")
        db.session.commit()
    logout(client)
    login(client, "quiet@example.org")
    client.get("/account")
    with count_queries() as calm:
        client.get("/account")
    badge = [s for s in busy.statements if "count(" in s.lower()]
    assert len(badge) == 2, badge
    assert busy.count == calm.count, (busy.statements, calm.statements)
    assert quiet


def test_my_trips_shows_photos_states_prices_and_a_review_prompt_with_its_last_day(app, client):
    with app.app_context():
        guest = factories.user(email="guest@example.org")
        home = factories.listing(title="Sjöboden")
        from rentalcoop.listings.models import ListingPhoto

        db.session.add(
            ListingPhoto(listing_id=home.id, position=0, token="a" * 32, width=800, height=600)
        )
        today = coop_date()
        stay = factories.completed_stay(listing=home, guest=guest)
        now = factories.booking(listing=home, guest=guest, check_in=today - timedelta(days=1))
        later = factories.booking(
            listing=home, guest=guest, check_in=today + timedelta(days=40), nights=2
        )
        reviewed = factories.completed_stay(
            guest=guest, check_in=today - timedelta(days=30), completed_at=utcnow()
        )
        factories.review(reviewed)
        db.session.commit()
        ids = {"stay": stay.id, "now": now.id, "later": later.id, "reviewed": reviewed.id}
        total = later.total_ore
    login(client, "guest@example.org")
    page = text_of(client.get("/trips?lang=en"))
    assert f"/media/photos/{'a' * 32}-s.jpg" in page
    assert f'id="trip-{ids["now"]}"' in _section(page, "trips-current")
    upcoming = _section(page, "trips-upcoming")
    assert f'id="trip-{ids["later"]}"' in upcoming
    assert f"/bookings/{ids['later']}/cancel" in upcoming
    assert f"/bookings/{ids['later']}/messages" in upcoming
    with app.test_request_context("/?lang=en"):
        from flask_babel import force_locale

        from rentalcoop.i18n import money

        with force_locale("en"):
            assert money(total) in upcoming
    past = _section(page, "trips-past")
    assert f"/bookings/{ids['stay']}/review" in past
    assert "You can review it until" in past
    assert f"/bookings/{ids['reviewed']}/review" not in past  # already reviewed
    assert "Confirmed" in upcoming
    assert "Completed" in past
