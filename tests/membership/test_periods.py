"""Membership history (issue 14): periods, not one row; dates are Swedish days."""

from __future__ import annotations

from datetime import UTC, date, datetime

import pytest
from sqlalchemy import select

from rentalcoop.accounts.models import User
from rentalcoop.extensions import db
from rentalcoop.governance import close
from rentalcoop.ledger import services as ledger
from rentalcoop.membership import services
from rentalcoop.membership.services import MembershipError
from tests import factories
from tests.helpers import login, text_of


def _stay(host, check_in, nights):
    home = factories.listing(host=host, nightly_price_ore=100_000)
    stay = factories.booking(
        listing=home,
        check_in=check_in,
        nights=nights,
        state="completed",
        created_at=datetime(2025, 1, 2, 9, tzinfo=UTC),
    )
    ledger.post_stay_completed(stay)


def test_leaving_and_rejoining_keeps_the_earlier_nights(ctx):
    host = factories.user()
    number = services.admit(host, None, joined_on=date(2025, 1, 1)).member_number
    _stay(host, date(2025, 2, 1), 3)  # first period
    services.leave(host.membership, on=date(2025, 4, 1))
    _stay(host, date(2025, 5, 1), 2)  # not a member: does not count
    services.admit(host, None, joined_on=date(2025, 7, 1))
    _stay(host, date(2025, 8, 1), 4)  # second period
    assert close.member_nights(2025) == {host.id: 7}
    assert host.membership.periods == [
        (date(2025, 1, 1), date(2025, 4, 1)),
        (date(2025, 7, 1), None),
    ]
    assert host.membership.member_number == number  # a returning member keeps the number


def test_a_new_period_cannot_overlap_the_last(ctx):
    host = factories.user()
    services.admit(host, None, joined_on=date(2025, 1, 1))
    services.leave(host.membership, on=date(2025, 4, 1))
    with pytest.raises(MembershipError):
        services.admit(host, None, joined_on=date(2025, 3, 1))
    with pytest.raises(MembershipError):
        services.leave(factories.host().membership, on=date(2024, 12, 31))


def test_membership_dates_are_swedish_days(ctx, monkeypatch):
    # 00:30 on 1 January in Stockholm is still 31 December in UTC.
    instant = datetime(2025, 12, 31, 23, 30, tzinfo=UTC)
    monkeypatch.setattr("rentalcoop.listings.pricing.utcnow", lambda: instant)
    host = factories.user()
    services.admit(host, None)
    assert host.membership.joined_on == date(2026, 1, 1)
    services.leave(host.membership)
    assert host.membership.left_on == date(2026, 1, 1)


def test_the_register_shows_every_period(client, app):
    with app.app_context():
        factories.user(board=True, email="board@example.org")
        host = factories.user(name="Rut Återvändare")
        services.admit(host, None, joined_on=date(2025, 1, 1))
        services.leave(host.membership, on=date(2025, 4, 1))
        services.admit(host, None, joined_on=date(2025, 7, 1))
        db.session.commit()
    login(client, "board@example.org")
    page = text_of(client.get("/board/members"))
    row = page[page.index("Rut Återvändare") : page.index("</tr>", page.index("Rut Återvändare"))]
    with app.test_request_context("/?lang=sv"):
        from rentalcoop.i18n import day

        shown = [day(date(2025, 1, 1)), day(date(2025, 4, 1)), day(date(2025, 7, 1))]
    assert [text in row for text in shown] == [True, True, True]
    with app.app_context():
        person = db.session.scalar(select(User).where(User.name == "Rut Återvändare"))
        assert len(person.membership.periods) == 2
