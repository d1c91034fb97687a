"""The member home on a phone (issue 16): the fee schedule fits 390 px without being cut off."""

from __future__ import annotations

import pytest

from rentalcoop.extensions import db
from tests import factories
from tests.e2e.conftest import login_in_browser

pytestmark = pytest.mark.e2e


@pytest.fixture
def browser_context_args():
    return {
        "locale": "sv-SE",
        "timezone_id": "Europe/Stockholm",
        "viewport": {"width": 390, "height": 844},
        "is_mobile": True,
    }


def test_the_fee_schedule_fits_a_phone(app, page, live_server):
    with app.app_context():
        factories.host(email="member@example.org")
        db.session.commit()
    login_in_browser(page, live_server, "member@example.org", factories.PASSWORD)
    page.goto(f"{live_server}/member")
    table = page.locator("#fee-history")
    sizes = table.evaluate(
        "t => ({table: t.scrollWidth, box: t.closest('.table-wrap').clientWidth,"
        " page: document.documentElement.scrollWidth})"
    )
    assert sizes["table"] <= sizes["box"], sizes
    assert sizes["page"] <= 390, sizes
