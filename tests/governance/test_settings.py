"""Rules of the statutes the site applies, changed by a meeting (DESIGN §2, §12; STYLE, Config)."""

from __future__ import annotations

from datetime import time, timedelta

import pytest
from sqlalchemy import select

from rentalcoop.extensions import db
from rentalcoop.governance import services
from rentalcoop.governance.models import Motion
from rentalcoop.governance.services import GovernanceError
from rentalcoop.listings import services as listings
from rentalcoop.listings.models import ListingState
from rentalcoop.listings.pricing import coop_date
from tests import factories
from tests.governance.conftest import add_to_agenda, convened
from tests.helpers import login, post_form, text_of


def test_a_passed_statutes_motion_changes_the_listing_cap(ctx, at_meeting):
    host = factories.host()
    first = factories.listing(host=host)
    second = factories.listing(host=host, state="draft")
    assert listings.max_active_listings() == 1  # one host, one home until a meeting decides
    with pytest.raises(listings.ListingError):
        listings.change_state(second, ListingState.PUBLISHED, host)

    services.set_setting(services.STATUTES_ONE_MEETING, "yes")  # one meeting may decide
    meeting, chair = convened(changes_statutes=True)
    motion = add_to_agenda(
        meeting,
        kind="statutes",
        title="Två annonser per värd",
        proposer=chair,
        by_board=True,
        setting_key=services.MAX_ACTIVE_LISTINGS,
        setting_value=" 2 ",
    )
    assert motion.setting_value == "2"
    services.open_vote(motion, chair, at=at_meeting)
    for choice in ("yes", "yes", "no"):
        services.cast_vote(motion, factories.host(), choice)
    assert listings.max_active_listings() == 1  # nothing changes before the vote closes
    services.close_vote(motion, chair, at=at_meeting)

    assert motion.passed is True
    assert listings.max_active_listings() == 1  # decided and valid, not yet registered
    services.register_statute_change(
        motion,
        at_meeting.date() + timedelta(days=14),
        chair,
        today=at_meeting.date() + timedelta(days=20),
    )
    assert listings.max_active_listings() == 2
    listings.change_state(second, ListingState.PUBLISHED, host)
    assert (first.state, second.state) == (ListingState.PUBLISHED, ListingState.PUBLISHED)


def test_a_failed_statutes_motion_changes_nothing(ctx, at_meeting):
    meeting, chair = convened(changes_statutes=True)
    motion = add_to_agenda(
        meeting,
        kind="statutes",
        title="Fem annonser per värd",
        proposer=chair,
        by_board=True,
        setting_key=services.MAX_ACTIVE_LISTINGS,
        setting_value="5",
    )
    services.open_vote(motion, chair, at=at_meeting)
    for choice in ("yes", "no", "no"):
        services.cast_vote(motion, factories.host(), choice)
    services.close_vote(motion, chair, at=at_meeting)
    assert motion.passed is False
    assert listings.max_active_listings() == 1


@pytest.mark.parametrize("app_config", [{"MAX_ACTIVE_LISTINGS_PER_HOST": 3}])
def test_the_configured_cap_holds_until_a_meeting_decides(ctx, app_config):
    assert listings.max_active_listings() == 3
    services.set_setting(services.MAX_ACTIVE_LISTINGS, "1")
    assert listings.max_active_listings() == 1


@pytest.mark.parametrize(
    ("key", "value", "stored"),
    [
        (services.MAX_ACTIVE_LISTINGS, "1", "1"),
        (services.MAX_ACTIVE_LISTINGS, "007", "7"),
        (services.MAX_ACTIVE_LISTINGS, "100", "100"),
        (services.MAX_ACTIVE_LISTINGS, "0", None),
        (services.MAX_ACTIVE_LISTINGS, "101", None),
        (services.MAX_ACTIVE_LISTINGS, "-1", None),
        (services.MAX_ACTIVE_LISTINGS, "två", None),
        (services.MAX_ACTIVE_LISTINGS, "", None),
        (services.POSTAL_VOTING, "yes", "yes"),
        (services.POSTAL_VOTING, "Ja", "yes"),
        (services.POSTAL_VOTING, "nej", "no"),
        (services.POSTAL_VOTING, "maybe", None),
        (services.BOARD_APPROVES_PROJECTS, "NO", "no"),
        ("no_such_rule", "yes", None),
        (None, "yes", None),
    ],
)
def test_setting_values_are_checked(key, value, stored):
    if stored is None:
        with pytest.raises(GovernanceError):
            services.checked_setting(key, value)
    else:
        assert services.checked_setting(key, value) == stored


def test_the_board_proposes_a_rule_change_from_the_meeting_page(client, app):
    today = coop_date()
    with app.app_context():
        board = factories.user(board=True, email="board@example.org")
        meeting, _ = services.create_meeting(
            kind="extra",
            format="physical",
            title="Extrastämma om stadgarna",
            starts_at=services.meeting_start(today + timedelta(weeks=6), time(18, 0)),
            venue="Bygdegården",
            by=board,
            changes_statutes=True,
        )
        db.session.commit()
        meeting_id = meeting.id
    login(client, "board@example.org")
    page = f"/meetings/{meeting_id}"
    assert 'name="setting_key"' in text_of(client.get(page))
    motion = {
        "kind": "statutes",
        "title": "Två annonser per värd",
        "majority": "two_thirds",
        "setting_key": services.MAX_ACTIVE_LISTINGS,
        "setting_value": "noll",
    }
    url = f"/meetings/{meeting_id}/motions"
    response = post_form(client, url + "?lang=en", motion, form_url=page)
    assert response.status_code == 409  # refused by the statutes' rules, the form kept
    body = text_of(response)
    assert "a whole number from 1 to 100" in body
    assert 'value="Två annonser per värd"' in body
    assert 'value="noll"' in body
    assert '<details class="gov-add" open>' in body
    with app.app_context():
        assert db.session.scalars(select(Motion).where(Motion.kind == "statutes")).all() == []
    response = post_form(client, url, dict(motion, setting_value="2"), form_url=page)
    assert response.status_code == 303
    with app.app_context():
        saved = db.session.scalars(select(Motion).where(Motion.kind == "statutes")).one()
        assert (saved.setting_key, saved.setting_value) == (services.MAX_ACTIVE_LISTINGS, "2")
    shown = text_of(client.get(page + "?lang=sv"))
    assert "Ändrar regeln: Publicerade annonser per värd (ett tal) → 2" in shown
    assert "Changes the rule: Published listings per host (a number) → 2" in text_of(
        client.get(page + "?lang=en")
    )


def test_a_meeting_not_convened_for_the_statutes_offers_no_rule_change(client, app):
    today = coop_date()
    with app.app_context():
        board = factories.user(board=True, email="board@example.org")
        meeting, _ = services.create_meeting(
            kind="extra",
            format="physical",
            title="Extrastämma",
            starts_at=services.meeting_start(today + timedelta(weeks=6), time(18, 0)),
            venue="Bygdegården",
            by=board,
        )
        db.session.commit()
        meeting_id = meeting.id
    login(client, "board@example.org")
    assert 'name="setting_key"' not in text_of(client.get(f"/meetings/{meeting_id}"))
