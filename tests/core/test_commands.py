"""The command-line interface of CONTRACT.md."""

import pytest
from sqlalchemy import func, select

from rentalcoop.accounts.models import User
from rentalcoop.extensions import db
from rentalcoop.listings.models import Listing


def test_demo_data_loads_once_and_prints_logins(app, runner, demo_town):
    # The run's demo town was loaded by `flask demo-data` (tests/conftest.py `demo_source`);
    # this test's database is a copy of it, and `demo_town.output` what that load printed.
    assert "Demo data loaded." in demo_town.output
    assert "board@example.org" in demo_town.output
    assert "demo-password-2026" in demo_town.output
    with app.app_context():
        users = db.session.scalar(select(func.count()).select_from(User))
        listings = db.session.scalar(select(func.count()).select_from(Listing))
    # The demo town went through the real services: its data agrees with itself (issue 12).
    checked = runner.invoke(args=["check", "invariants"])
    assert checked.exit_code == 0, checked.output
    assert "All invariants hold." in checked.output
    second = runner.invoke(args=["demo-data"])
    assert second.exit_code == 0
    assert "already" in second.output
    with app.app_context():
        assert db.session.scalar(select(func.count()).select_from(User)) == users
        assert db.session.scalar(select(func.count()).select_from(Listing)) == listings
        assert users >= 52  # board, municipality, 30 hosts, 20 guests
        assert listings >= 40


@pytest.mark.sqlite_only  # the demo load is tested on PostgreSQL above; this saves CI a load
def test_demo_logins_work(app, client, demo_town):
    from tests.helpers import login

    assert login(client, "host7@example.org", "demo-password-2026").status_code == 303
    town = app.test_client()
    response = login(town, "municipality@example.org", "demo-password-2026")
    assert response.headers["Location"] == "/stats/"
    # The demo coop has its Swish number and bank giro set, so demo guests see how to pay.
    board = app.test_client()
    login(board, "board@example.org", "demo-password-2026")
    details = board.get("/board/payment-details").get_data(as_text=True)
    assert 'value="123 118 11 89"' in details
    assert 'value="999-1233"' in details
    assert 'id="payment-details-missing"' not in board.get("/board/payments").get_data(as_text=True)


def test_jobs_run(runner):
    result = runner.invoke(args=["jobs", "run"])
    assert result.exit_code == 0, result.output
    assert "purge-reset-tokens: 0" in result.output
