"""Calendar sync in a real browser: a host adds another platform's feed (served locally),
updates it now and sees its nights in the month view; a guest can then no longer book them."""

from __future__ import annotations

from datetime import timedelta

import pytest
from playwright.sync_api import expect
from sqlalchemy import func, select

from rentalcoop.bookings.models import Booking
from rentalcoop.calendar.models import CalendarFeed
from rentalcoop.extensions import db
from rentalcoop.listings.pricing import coop_date
from tests import factories
from tests.calendar.feedserver import FeedServer, calendar, vevent
from tests.e2e.conftest import login_in_browser, logout_in_browser

pytestmark = pytest.mark.e2e

DAY = timedelta(days=1)
PASSWORD = factories.PASSWORD


@pytest.fixture
def app_config():
    """The other platform is a local server in this test: allow loopback feeds."""
    return {"CALENDAR_ALLOW_LOOPBACK": True}


@pytest.fixture
def platform():
    with FeedServer() as server:
        yield server


@pytest.fixture
def home(app):
    with app.app_context():
        host = factories.host(email="hanna@example.org", name="Hanna Värd")
        factories.user(email="gustav@example.org", name="Gustav Gäst")
        listing = factories.listing(host=host, title="Stuga vid sjön", max_guests=4)
        db.session.commit()
        return listing.id


def test_host_imports_a_feed_and_guest_cannot_book_its_nights(
    app, page, live_server, snap, platform, home
):
    blocked = coop_date() + 6 * DAY
    url = platform.set(
        "/airbnb/listing.ics",
        calendar(vevent("hm-123@airbnb.com", blocked, blocked + 2 * DAY, "Reserved")),
    )

    login_in_browser(page, live_server, "hanna@example.org", PASSWORD)
    page.goto(f"/host/listings/{home}/calendar?month={blocked:%Y-%m}")
    panel = page.locator("#calendar-feeds")
    expect(panel).to_be_visible()
    form = panel.locator("#feed-form")
    form.locator("input[name=name]").fill("Airbnb")
    form.locator("input[name=url]").fill(url)
    snap("1-add-feed")
    form.locator("#add-feed").click()

    with app.app_context():
        feed_id = db.session.scalar(select(CalendarFeed.id))
    feed = page.locator(f"#feed-{feed_id}")
    expect(feed).to_contain_text("Airbnb")
    assert platform.hits["/airbnb/listing.ics"] == 0  # added, not read yet
    feed.locator("form[action$='/sync'] button").click()
    expect(page.locator(f"#feed-{feed_id} .feed__success")).not_to_be_empty()
    assert platform.hits["/airbnb/listing.ics"] == 1

    page.goto(f"/host/listings/{home}/calendar?month={blocked:%Y-%m}")
    for night in (blocked, blocked + DAY):
        expect(
            page.locator(f"#host-calendar td[data-night='{night.isoformat()}']")
        ).to_have_attribute("data-state", "imported")
    expect(
        page.locator(f"#host-calendar td[data-night='{(blocked + 2 * DAY).isoformat()}']")
    ).not_to_have_attribute("data-state", "imported")
    snap("2-imported-nights")
    logout_in_browser(page)

    login_in_browser(page, live_server, "gustav@example.org", PASSWORD)
    check_in, check_out = blocked - DAY, blocked + DAY
    page.goto(f"/listings/{home}/book?check_in={check_in}&check_out={check_out}&guests=2")
    booking_form = page.locator("main form[method=post]")
    booking_form.locator("input[name=accept_rules]").check()
    with page.expect_response(lambda r: r.request.method == "POST") as answer:
        booking_form.locator("button[type=submit]").click()
    assert answer.value.status == 409
    expect(page.get_by_role("alert").first).to_be_visible()
    snap("3-guest-refused")
    with app.app_context():
        assert db.session.scalar(select(func.count()).select_from(Booking)) == 0
