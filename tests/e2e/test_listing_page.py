"""Issue 16 part D in a real browser, in Swedish, at 1280 and 390 px: the calendar picks the
dates (by mouse and by keyboard, with the script; by links without it), photos open large with
previous/next, phones keep the price and the book button in view, and the start page's
district map leads to each district's homes. Every step is screenshotted and checked by axe."""

from __future__ import annotations

import io
import re
from datetime import timedelta

import pytest
from flask_babel import force_locale, gettext
from PIL import Image
from playwright.sync_api import expect

from rentalcoop.extensions import db
from rentalcoop.listings import photos
from rentalcoop.listings.models import ListingPhoto
from rentalcoop.listings.pricing import coop_date
from tests import factories
from tests.e2e.conftest import artifact_path, assert_accessible, new_context

pytestmark = pytest.mark.e2e

DESKTOP = {
    "locale": "sv-SE",
    "timezone_id": "Europe/Stockholm",
    "viewport": {"width": 1280, "height": 900},
}
PHONE = {
    "locale": "sv-SE",
    "timezone_id": "Europe/Stockholm",
    "viewport": {"width": 390, "height": 844},
    "is_mobile": True,
    "has_touch": True,
}


@pytest.fixture
def app_config(tmp_path):
    return {"UPLOAD_DIR": str(tmp_path / "uploads")}


def sv(app, message: str) -> str:
    with app.test_request_context("/"), force_locale("sv"):
        return gettext(message)


@pytest.fixture
def home(app):
    """A published home in Norrmalm with three photos and one blocked night ahead."""
    with app.app_context():
        north = factories.area(code="N01", name="Norrmalm")
        factories.area(code="S01", name="Söder")
        listing = factories.listing(
            area=north, title="Stugan vid ån", nightly_price_ore=85_000, max_guests=4
        )
        for n, colour in enumerate([(40, 120, 90), (160, 60, 40), (40, 70, 160)]):
            buffer = io.BytesIO()
            Image.new("RGB", (1200, 800), colour).save(buffer, "PNG")
            token, (width, height) = photos.store(buffer.getvalue())
            db.session.add(
                ListingPhoto(
                    listing_id=listing.id,
                    position=n,
                    token=token,
                    width=width,
                    height=height,
                    alt_text=f"Rum {n + 1}",
                )
            )
        start = coop_date() + timedelta(days=3)
        factories.blocked(listing, start + timedelta(days=4))
        db.session.commit()
        return listing.id, start


@pytest.mark.parametrize("browser_context_args", [DESKTOP, PHONE], ids=["desktop", "phone"])
def test_calendar_picks_the_dates_and_the_price_follows(
    app, page, home, snap, browser_context_args, request
):
    listing_id, start = home
    page.goto(f"/listings/{listing_id}")
    calendar = page.locator("#availability")
    day = lambda n: calendar.locator(f'td[data-night="{start + timedelta(days=n)}"]')  # noqa: E731
    snap("1-listing")

    # A click sets the check-in in the stay form, in place; the days after become check-outs.
    day(0).locator("a.day__link").click()
    expect(page.locator("#check_in")).to_have_value(start.isoformat())
    expect(day(0)).to_have_class(re.compile(r"day--chosen-start"))
    expect(page.locator("#pick-status")).to_have_text(
        sv(app, "Check-in chosen. Now choose the day you check out.")
    )
    expect(day(4).locator("a.day__link[data-pick=out]")).to_have_count(1)  # taken night: leave
    expect(day(5).locator("a.day__link[data-pick=out]")).to_have_count(0)  # beyond it: no
    # Each link still carries the address the server would give it (a new tab works too).
    expect(day(4).locator("a.day__link")).to_have_attribute(
        "href",
        f"/listings/{listing_id}?check_in={start}&check_out={start + timedelta(days=4)}#price-box",
    )
    snap("2-check-in-chosen")

    # The second click sets the check-out and shows the price.
    day(3).locator("a.day__link").click()
    expect(page).to_have_url(re.compile(rf"check_in={start}&check_out={start + timedelta(days=3)}"))
    expect(page.locator("#quote-total")).to_be_visible()
    expect(day(1)).to_have_class(re.compile(r"day--chosen-stay"))
    snap("3-price")

    if browser_context_args is PHONE:
        # The bar keeps the total and the book button at the bottom of the screen.
        bar = page.locator("#book-bar")
        expect(bar).to_be_visible()
        expect(bar).to_contain_text(page.locator("#quote-total").inner_text())
        box = bar.bounding_box()
        assert box["y"] + box["height"] == pytest.approx(844, abs=1)
        page.mouse.wheel(0, 2000)
        box = bar.bounding_box()
        assert box["y"] + box["height"] == pytest.approx(844, abs=1)
        expect(bar.locator("#book-bar-book")).to_be_visible()
        scroll = page.evaluate("document.documentElement.scrollWidth")
        assert scroll <= 390
        snap("4-book-bar")
        page.screenshot(path=artifact_path(request, "5-book-bar-screen"))  # what the phone shows
    else:
        expect(page.locator("#book-bar")).to_be_hidden()


def test_calendar_works_by_keyboard(app, page, home, snap):
    listing_id, start = home
    page.goto(f"/listings/{listing_id}")
    first = page.locator(f'#availability td[data-night="{start}"] a.day__link')
    first.focus()
    page.keyboard.press("Enter")
    expect(page.locator("#check_in")).to_have_value(start.isoformat())
    # Focus moves to the first day that can end the stay; Enter chooses it.
    focused = page.locator("#availability a.day__link:focus")
    expect(focused).to_have_attribute("data-pick", "out")
    page.keyboard.press("Enter")
    expect(page.locator("#quote-total")).to_be_visible()
    expect(page).to_have_url(re.compile(rf"check_out={start + timedelta(days=1)}"))
    snap("keyboard-price")


def test_calendar_links_work_without_javascript(app, browser, live_server, home, request):
    listing_id, start = home
    context = new_context(browser, live_server, java_script_enabled=False, **DESKTOP)
    page = context.new_page()
    page.goto(f"/listings/{listing_id}")
    page.locator(f'#availability td[data-night="{start}"] a.day__link').click()
    expect(page).to_have_url(re.compile(rf"\?check_in={start}#availability$"))
    expect(page.locator("#check_in")).to_have_value(start.isoformat())
    page.locator(f'#availability td[data-night="{start + timedelta(days=2)}"] a.day__link').click()
    expect(page.locator("#quote-total")).to_be_visible()
    context.close()


@pytest.mark.parametrize("browser_context_args", [DESKTOP, PHONE], ids=["desktop", "phone"])
def test_photos_open_large_with_previous_and_next(app, page, home, snap, browser_context_args):
    listing_id, _start = home
    page.goto(f"/listings/{listing_id}")
    page.locator("#photos a.gallery__open").nth(1).click()
    expect(page).to_have_url(re.compile(rf"/listings/{listing_id}/photos/2$"))
    expect(page.locator(".photo-view__figure img")).to_have_attribute("alt", "Rum 2")
    large = page.locator(".photo-view__figure img")
    wide = browser_context_args["viewport"]["width"]
    assert large.bounding_box()["width"] >= 0.7 * min(wide, 1100)  # large: the page's width
    if wide > 800:
        assert large.evaluate("img => img.currentSrc").endswith("-l.jpg")
    snap("1-photo-2")
    page.locator("#photo-next").click()
    expect(page.locator(".photo-view__figure img")).to_have_attribute("alt", "Rum 3")
    expect(page.locator("#photo-next")).to_have_count(0)
    page.locator("#photo-previous").click()
    expect(page.locator(".photo-view__figure img")).to_have_attribute("alt", "Rum 2")
    page.wait_for_load_state()  # the page's script has run
    page.keyboard.press("ArrowLeft")  # the arrow keys follow the same links
    expect(page).to_have_url(re.compile(rf"/listings/{listing_id}/photos/1$"))
    expect(page.locator(".photo-view__figure img")).to_have_attribute("alt", "Rum 1")
    snap("2-photo-1")
    page.locator("#photo-back").click()
    expect(page).to_have_url(re.compile(rf"/listings/{listing_id}#photos$"))


@pytest.mark.parametrize("browser_context_args", [DESKTOP, PHONE], ids=["desktop", "phone"])
def test_the_district_map_leads_to_the_homes_there(app, page, home, snap, browser_context_args):
    page.goto("/")
    drawn = page.locator("#district-map svg")
    expect(drawn).to_be_visible()
    north = drawn.locator('a[href^="/?area=N01"]')
    expect(north).to_contain_text("Norrmalm")
    expect(north).to_contain_text("1 boende")
    expect(page.locator("#district-list")).to_contain_text("Söder")
    if browser_context_args is PHONE:
        assert page.evaluate("document.documentElement.scrollWidth") <= 390
    page.locator("#district-map").scroll_into_view_if_needed()
    snap("1-map")
    north.click()
    expect(page).to_have_url(re.compile(r"\?area=N01#results$"))
    expect(page.locator("#result-cards")).to_contain_text("Stugan vid ån")
    assert_accessible(page)
