"""After a stay, in a Swedish browser: the guest reviews, the host reviews, and only then are both
published together — the guest's on the listing page, the host's on the guest's booking page."""

from __future__ import annotations

import pytest
from playwright.sync_api import expect

from rentalcoop.db import utcnow
from rentalcoop.extensions import db
from tests import factories
from tests.e2e.conftest import login_in_browser, logout_in_browser

pytestmark = pytest.mark.e2e

GUEST_WORDS = "Mysig sjöbod precis vid vattnet, och värden svarade snabbt."
HOST_WORDS = "En omtänksam gäst som lämnade allt i fint skick."


@pytest.fixture
def stay(app):
    with app.app_context():
        host = factories.host(name="Hanna Värd", email="hanna@example.org")
        guest = factories.user(name="Gustav Gäst", email="gustav@example.org")
        home = factories.listing(host=host, title="Sjöbod vid hamnen")
        booking = factories.completed_stay(listing=home, guest=guest, completed_at=utcnow())
        db.session.commit()
        return {"booking": booking.id, "listing": home.id}


def _write_review(page, stars: dict[str, int], words: str) -> None:
    page.locator("#write-review").click()
    form = page.locator("#review-form")
    for name, value in stars.items():
        form.locator(f"input[name={name}][value='{value}']").check()
    form.locator("textarea[name=text]").fill(words)
    form.locator("button[type=submit]").click()
    expect(page.locator("#my-review")).to_contain_text(words)


def test_guest_and_host_review_and_both_appear_together(page, live_server, stay, snap):
    booking_url = f"/bookings/{stay['booking']}"
    listing_url = f"/listings/{stay['listing']}"

    login_in_browser(page, live_server, "gustav@example.org", factories.PASSWORD)
    expect(page.locator("html")).to_have_attribute("lang", "sv")
    page.goto(booking_url)
    _write_review(
        page,
        {
            "cleanliness": 5,
            "accuracy": 4,
            "communication": 5,
            "location": 5,
            "check_in": 4,
            "value": 4,
        },
        GUEST_WORDS,
    )
    snap("1-guest-reviewed")
    # Not published yet: the host has not reviewed and the 14 days are not over.
    page.goto(listing_url)
    expect(page.locator("#reviews")).not_to_contain_text(GUEST_WORDS)
    logout_in_browser(page)

    login_in_browser(page, live_server, "hanna@example.org", factories.PASSWORD)
    page.goto(booking_url)
    expect(page.locator("#review-waiting")).to_be_visible()
    expect(page.locator("#reviews")).not_to_contain_text(GUEST_WORDS)
    _write_review(page, {"rating": 5}, HOST_WORDS)
    # Both are in: the host now reads the guest's review on the booking page…
    expect(page.locator("#their-review")).to_contain_text(GUEST_WORDS)
    snap("2-host-reviewed")
    # …and it is on the listing page, with its average (4.5 over the six categories).
    page.goto(listing_url)
    reviews = page.locator("#reviews")
    expect(reviews).to_contain_text(GUEST_WORDS)
    expect(reviews.locator("#reviews-heading")).to_contain_text("4,5")
    expect(reviews).to_contain_text("Gustav")
    expect(reviews).not_to_contain_text("Gäst")  # first names only in public
    snap("3-listing-page")
    logout_in_browser(page)

    login_in_browser(page, live_server, "gustav@example.org", factories.PASSWORD)
    page.goto(booking_url)
    expect(page.locator("#their-review")).to_contain_text(HOST_WORDS)
    snap("4-guest-reads-host-review")
