"""One person saving from two tabs at once: the cap holds exactly and a home is saved once."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select

from rentalcoop.extensions import db
from rentalcoop.wishlists import services
from rentalcoop.wishlists.models import SavedHome
from tests import factories
from tests.helpers import csrf_token, login
from tests.races import post, race

ROUNDS = 3


@pytest.fixture
def homes(app):
    with app.app_context():
        factories.user(email="guest@example.org")
        ids = [factories.listing().id for _ in range(2 * ROUNDS + 1)]
        db.session.commit()
        return ids


def _tab(app):
    client = app.test_client()
    login(client, "guest@example.org")
    return client, csrf_token(client, "/saved")


def _saved(app) -> int:
    with app.app_context():
        return db.session.scalar(select(func.count()).select_from(SavedHome))


def test_two_tabs_saving_at_the_cap_save_one(app, homes, monkeypatch):
    (first, token1), (second, token2) = _tab(app), _tab(app)
    for n in range(ROUNDS):
        monkeypatch.setattr(services, "SAVED_CAP", n + 1)
        a, b = homes[2 * n], homes[2 * n + 1]
        statuses = race(
            post(first, f"/saved/{a}", {"csrf_token": token1, "next": "/saved"}),
            post(second, f"/saved/{b}", {"csrf_token": token2, "next": "/saved"}),
        )
        assert statuses == [303, 303]
        assert _saved(app) == n + 1  # never past the cap


def test_two_tabs_saving_the_same_home_save_it_once(app, homes):
    (first, token1), (second, token2) = _tab(app), _tab(app)
    home = homes[-1]
    statuses = race(
        post(first, f"/saved/{home}", {"csrf_token": token1, "next": "/saved"}),
        post(second, f"/saved/{home}", {"csrf_token": token2, "next": "/saved"}),
    )
    assert statuses == [303, 303]
    assert _saved(app) == 1
