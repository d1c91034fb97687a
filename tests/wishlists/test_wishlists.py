"""Saved homes (issue 16): save and unsave from the search card and the listing page with a plain
form, a Saved page with availability for the dates asked, private listings never shown, each
person's list their own, and a cap."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from sqlalchemy import func, select

from rentalcoop.extensions import db
from rentalcoop.listings.models import ListingState
from rentalcoop.listings.pricing import coop_date
from rentalcoop.wishlists import services
from rentalcoop.wishlists.models import SavedHome
from tests import factories
from tests.helpers import csrf_token, login, logout, text_of


@pytest.fixture
def homes(app):
    with app.app_context():
        factories.user(email="guest@example.org")
        factories.user(email="other@example.org")
        place = factories.area(name="Hamnen")
        sea = factories.listing(title="Sjöboden", area=place)
        forest = factories.listing(title="Skogsstugan", area=place)
        db.session.commit()
        return {"sea": sea.id, "forest": forest.id}


def _save(client, listing_id, back="/", remove=False):
    token = csrf_token(client, "/saved")
    url = f"/saved/{listing_id}/remove" if remove else f"/saved/{listing_id}"
    return client.post(url, data={"csrf_token": token, "next": back})


def _saved_ids(app, email="guest@example.org"):
    from rentalcoop.accounts.models import User

    with app.app_context():
        user = db.session.scalar(select(User).where(User.email == email))
        return set(
            db.session.scalars(select(SavedHome.listing_id).where(SavedHome.user_id == user.id))
        )


def test_the_search_card_and_the_listing_page_have_a_save_form_that_needs_no_script(client, homes):
    login(client, "guest@example.org")
    search = text_of(client.get("/"))
    card = re.search(
        rf'<article class="card" id="listing-{homes["sea"]}".*?</article>', search, re.S
    )
    assert card
    assert f'action="/saved/{homes["sea"]}"' in card.group(0)
    assert 'name="csrf_token"' in card.group(0)
    page = text_of(client.get(f"/listings/{homes['sea']}"))
    assert f'<form class="save-form" method="post" action="/saved/{homes["sea"]}">' in page
    assert f'name="next" value="/listings/{homes["sea"]}"' in page


def test_saving_goes_back_to_the_page_and_shows_as_saved(app, client, homes):
    login(client, "guest@example.org")
    back = f"/listings/{homes['sea']}?check_in=2030-01-01"
    response = _save(client, homes["sea"], back)
    assert response.status_code == 303
    assert response.headers["Location"] == back
    assert _saved_ids(app) == {homes["sea"]}
    assert _save(client, homes["sea"]).status_code == 303  # twice is once
    assert _saved_ids(app) == {homes["sea"]}
    page = text_of(client.get(f"/listings/{homes['sea']}"))
    assert f'action="/saved/{homes["sea"]}/remove"' in page
    assert 'aria-pressed="true"' in page
    card = re.search(
        rf'<article class="card" id="listing-{homes["sea"]}".*?</article>',
        text_of(client.get("/")),
        re.S,
    )
    assert f'action="/saved/{homes["sea"]}/remove"' in card.group(0)
    assert _save(client, homes["sea"], "/", remove=True).status_code == 303
    assert _saved_ids(app) == set()


def test_no_open_redirect_and_no_save_without_a_token_or_log_in(app, client, homes):
    login(client, "guest@example.org")
    response = _save(client, homes["sea"], "https://evil.example/")
    assert response.headers["Location"] == "/saved"
    assert _save(client, homes["forest"], "//evil.example/").headers["Location"] == "/saved"
    assert client.post(f"/saved/{homes['sea']}", data={"next": "/"}).status_code == 400
    logout(client)
    assert client.post(f"/saved/{homes['sea']}", data={}).status_code in (302, 303, 400)


def test_the_saved_page_lists_homes_with_availability_for_the_dates_asked(app, client, homes):
    start = coop_date() + timedelta(days=20)
    with app.app_context():
        from rentalcoop.listings.models import Listing

        factories.blocked(db.session.get(Listing, homes["forest"]), start + timedelta(days=1))
        db.session.commit()
    login(client, "guest@example.org")
    _save(client, homes["sea"])
    _save(client, homes["forest"])
    page = text_of(client.get("/saved?lang=en"))
    assert "Sjöboden" in page
    assert "Skogsstugan" in page
    assert "Free on your dates" not in page
    dated = text_of(
        client.get(f"/saved?check_in={start}&check_out={start + timedelta(days=3)}&guests=2")
    )
    sea = re.search(rf'id="saved-{homes["sea"]}".*?</li>', dated, re.S).group(0)
    forest = re.search(rf'id="saved-{homes["forest"]}".*?</li>', dated, re.S).group(0)
    assert "Free on your dates" in sea
    assert f"check_in={start}" in sea  # the listing link keeps the dates
    assert "Taken on these dates." in forest


def test_an_unpublished_home_leaves_the_list_without_a_trace_of_it(app, client, homes):
    login(client, "guest@example.org")
    _save(client, homes["sea"])
    _save(client, homes["forest"])
    with app.app_context():
        from rentalcoop.listings.models import Listing

        db.session.get(Listing, homes["forest"]).state = ListingState.PAUSED
        db.session.commit()
    page = text_of(client.get("/saved?lang=en"))
    assert "Sjöboden" in page
    assert "Skogsstugan" not in page
    assert f"/listings/{homes['forest']}" not in page
    assert "1 home you saved is no longer listed." in page
    # And a private listing cannot be saved at all.
    assert _save(client, homes["forest"]).status_code == 404


def test_each_persons_list_is_their_own(app, client, homes):
    login(client, "guest@example.org")
    _save(client, homes["sea"])
    logout(client)
    login(client, "other@example.org")
    page = text_of(client.get("/saved"))
    assert "Sjöboden" not in page
    # Removing from someone else's list is impossible: the key is the signed-in person's.
    _save(client, homes["sea"], remove=True)
    assert _saved_ids(app) == {homes["sea"]}
    logout(client)
    assert client.get("/saved").status_code in (302, 303)


def test_the_list_is_capped_with_a_message(app, client, homes, monkeypatch):
    monkeypatch.setattr(services, "SAVED_CAP", 1)
    login(client, "guest@example.org")
    _save(client, homes["sea"])
    response = _save(client, homes["forest"], "/")
    assert response.status_code == 303
    assert "Du kan spara upp till 1 hem. Ta bort några" in text_of(client.get("/"))
    assert _saved_ids(app) == {homes["sea"]}


def test_deleting_the_account_deletes_the_list(app, homes):
    from rentalcoop.accounts.models import User
    from rentalcoop.wishlists.services import erase_user, save_home

    with app.app_context():
        user = db.session.scalar(select(User).where(User.email == "guest@example.org"))
        from rentalcoop.listings.models import Listing

        save_home(user, db.session.get(Listing, homes["sea"]))
        erase_user(user)
        assert db.session.scalar(select(func.count()).select_from(SavedHome)) == 0


def test_the_menu_carries_the_searched_dates_to_the_saved_page(client, homes):
    login(client, "guest@example.org")
    start = coop_date() + timedelta(days=20)
    end = start + timedelta(days=2)
    page = text_of(client.get(f"/?check_in={start}&check_out={end}&guests=2"))
    assert f'href="/saved?check_in={start}&amp;check_out={end}&amp;guests=2" id="nav-saved"' in page
    assert 'href="/saved" id="nav-saved"' in text_of(client.get("/about"))
