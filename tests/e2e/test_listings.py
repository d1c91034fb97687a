"""Issue 3's journey in a real browser, in Swedish: a host creates a listing, adds a photo,
publishes it and blocks some nights; a guest searching finds it for free dates only, with the
all-in price for the stay on its card.

Labels are looked up in the app's own Swedish catalog (a translator may be changing it while
this runs): the test follows whatever the interface says, not a copy of it.
"""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from flask_babel import force_locale, gettext
from PIL import Image
from playwright.sync_api import expect

from rentalcoop.extensions import db
from rentalcoop.i18n import money
from rentalcoop.listings.models import Listing, ListingState
from rentalcoop.listings.pricing import coop_date, quote
from tests import factories
from tests.e2e.conftest import login_in_browser, logout_in_browser

pytestmark = pytest.mark.e2e


def swedish(app, message: str) -> str:
    """`message` as the Swedish interface shows it."""
    with app.test_request_context("/"), force_locale("sv"):
        return gettext(message)


def test_host_publishes_with_photo_and_blocks_guest_finds_free_dates_only(
    app, page, live_server, snap, tmp_path
):
    sv = lambda message: swedish(app, message)  # noqa: E731 - a short local alias
    with app.app_context():
        factories.area(code="N01", name="Norrmalm")
        factories.area(code="S01", name="Söder")
        factories.host(email="vard@example.org", name="Vera Värd")
        db.session.commit()
    photo = tmp_path / "stugan.png"
    Image.new("RGB", (96, 64), (40, 120, 90)).save(photo)
    today = coop_date()
    blocked_from = today + timedelta(days=30)  # nights 30, 31 and 32 days ahead
    blocked_to = blocked_from + timedelta(days=2)

    # The host describes the home.
    login_in_browser(page, live_server, "vard@example.org", factories.PASSWORD)
    expect(page.locator("html")).to_have_attribute("lang", "sv")
    page.goto("/host/listings")
    page.locator("#new-listing").click()
    form = page.locator("#listing-form")
    form.get_by_label(sv("Title"), exact=True).fill("Stugan vid ån")
    form.get_by_label(sv("Description"), exact=True).fill("Ett litet rött hus nära vattnet.")
    form.get_by_label(sv("District"), exact=True).select_option(label="Norrmalm")
    form.get_by_label(sv("Street address"), exact=True).fill("Åvägen 3")
    form.get_by_label(sv("Guests"), exact=True).fill("4")
    form.get_by_label(sv("Price per night (kr)"), exact=True).fill("850")
    form.get_by_label(sv("Cleaning fee (kr)"), exact=True).fill("300")
    snap("1-listing-form")
    page.locator("#save-listing").click()

    # Saved as a draft; the next page takes photos.
    expect(page).to_have_url(re.compile(r"/host/listings/\d+/photos$"))
    listing_id = int(re.search(r"/host/listings/(\d+)/photos", page.url).group(1))
    upload = page.locator("#upload-form")
    upload.get_by_label(sv("Photo"), exact=True).set_input_files(str(photo))
    upload.get_by_label(sv("Description for screen readers"), exact=True).fill("Huset från ån")
    page.locator("#upload-photo").click()
    expect(page.locator(".photo-list img")).to_have_count(1)
    expect(page.locator(".photo-list img")).to_have_attribute("alt", "Huset från ån")
    snap("2-photo")

    # Published.
    page.goto("/host/listings")
    page.locator(f"#publish-{listing_id}").click()
    expect(page.locator(f"#host-listing-{listing_id}")).to_have_attribute("data-state", "published")
    with app.app_context():
        assert db.session.get(Listing, listing_id).state == ListingState.PUBLISHED

    # Some nights blocked in the host calendar.
    page.locator(f"#calendar-{listing_id}").click()
    blocks = page.locator("#block-form")
    blocks.get_by_label(sv("First night"), exact=True).fill(blocked_from.isoformat())
    blocks.get_by_label(sv("Last night"), exact=True).fill(blocked_to.isoformat())
    blocks.get_by_label(sv("Blocked"), exact=True).check()
    page.locator("#save-blocks").click()
    calendar = page.locator("#host-calendar")
    for offset in range(3):
        night = (blocked_from + timedelta(days=offset)).isoformat()
        expect(calendar.locator(f'td[data-night="{night}"]')).to_have_attribute(
            "data-state", "blocked"
        )
    night_after = (blocked_to + timedelta(days=1)).isoformat()
    expect(calendar.locator(f'td[data-night="{night_after}"]')).to_have_attribute(
        "data-state", "free"
    )
    snap("3-calendar")
    logout_in_browser(page)

    # A guest (not logged in, browser in Swedish) searches the district for free dates.
    check_in = today + timedelta(days=20)
    check_out = check_in + timedelta(days=3)
    page.goto("/")
    expect(page.locator("html")).to_have_attribute("lang", "sv")
    search = page.locator("#search-form")
    search.get_by_label(sv("Where"), exact=True).select_option(label="Norrmalm")
    search.get_by_label(sv("Check-in"), exact=True).fill(check_in.isoformat())
    search.get_by_label(sv("Check-out"), exact=True).fill(check_out.isoformat())
    search.get_by_label(sv("Guests"), exact=True).fill("2")
    search.get_by_role("button", name=sv("Search")).click()
    expect(page).to_have_url(re.compile(r"[?&]area=N01(&|$)"))
    card = page.locator(f"#listing-{listing_id}")
    expect(card).to_be_visible()
    expect(card.get_by_role("heading", name="Stugan vid ån")).to_be_visible()
    expect(card.locator("img")).to_have_attribute("alt", "Huset från ån")

    # The card shows what the stay costs in all: quote()'s total, in Swedish.
    with app.app_context():
        home = db.session.get(Listing, listing_id)
        expected = quote(home, check_in, check_out, 2)
    # 3 × 850 + 300 cleaning = 2 850 kr, plus the service fee.
    assert expected.accommodation_ore == 285_000
    assert expected.total_ore > expected.accommodation_ore
    with app.test_request_context("/"), force_locale("sv"):
        total_in_swedish = money(expected.total_ore)
    assert total_in_swedish.endswith("\xa0kr")
    total = card.locator(".card__total")
    expect(total).to_have_attribute("data-total-ore", str(expected.total_ore))
    expect(total.locator("strong")).to_have_text(total_in_swedish)
    snap("4-found")

    # The card leads to the listing page with the same stay and the same total.
    card.get_by_role("link").click()
    expect(page.locator("#quote-total")).to_contain_text(total_in_swedish)
    snap("5-listing-page")

    # A stay that ends the morning the block begins is free too (check-out is not a night).
    before = blocked_from - timedelta(days=3)
    page.goto(f"/?area=N01&check_in={before}&check_out={blocked_from}&guests=2")
    expect(page.locator(f"#listing-{listing_id}")).to_be_visible()

    # Stays that touch a blocked night do not find it.
    for start, end in [
        (blocked_from - timedelta(days=2), blocked_from + timedelta(days=1)),
        (blocked_to, blocked_to + timedelta(days=2)),
        (blocked_from - timedelta(days=1), blocked_to + timedelta(days=1)),
    ]:
        page.goto(f"/?area=N01&check_in={start}&check_out={end}&guests=2")
        expect(page.locator("#results-heading")).to_be_visible()
        expect(page.locator(f"#listing-{listing_id}")).to_have_count(0)
        expect(page.locator("#result-cards")).to_have_count(0)
    snap("6-blocked-dates-not-found")

    # Nor does another district, nor more guests than the home takes.
    page.goto(f"/?area=S01&check_in={check_in}&check_out={check_out}&guests=2")
    expect(page.locator(f"#listing-{listing_id}")).to_have_count(0)
    page.goto(f"/?area=N01&check_in={check_in}&check_out={check_out}&guests=5")
    expect(page.locator(f"#listing-{listing_id}")).to_have_count(0)


def test_radio_buttons_are_radio_sized_and_sit_beside_their_labels(app, page, live_server, snap):
    """Issue 16, observation 7: `.field input:not([type=checkbox])` gave radios width 100%."""
    with app.app_context():
        factories.area(code="N01", name="Norrmalm")
        factories.host(email="vard@example.org", name="Vera Värd")
        db.session.commit()
    login_in_browser(page, live_server, "vard@example.org", factories.PASSWORD)
    page.goto("/host/listings/new")
    radios = page.locator("#listing-form input[type=radio]")
    assert radios.count() >= 7  # property type and cancellation policy
    for index in range(radios.count()):
        radio = radios.nth(index)
        box = radio.bounding_box()
        label = radio.locator("xpath=following-sibling::span[1]").bounding_box()
        assert box["width"] < 40, box
        assert abs((box["y"] + box["height"] / 2) - (label["y"] + label["height"] / 2)) < 20
    snap("radios")
