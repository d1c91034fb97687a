"""Issue 16 part D on the listing page: the calendar picks the dates by links (no JavaScript
needed), the photos open large one by one, and phones keep the price and the book button in
view."""

from __future__ import annotations

import re
from datetime import timedelta
from pathlib import Path

from rentalcoop.extensions import db
from rentalcoop.listings.models import ListingPhoto
from rentalcoop.listings.pricing import coop_date
from rentalcoop.listings.views import GUEST_CALENDAR_MONTHS
from tests import factories
from tests.helpers import text_of

CELL_RE = re.compile(
    r'<td class="day ([^"]*)" data-night="([0-9-]+)" data-state="(\w+)">(.*?)</td>', re.S
)


def cells(page: str) -> dict[str, tuple[str, str]]:
    """night (ISO) -> (classes, inner HTML) of the guest calendar's day cells."""
    return {night: (classes, inner) for classes, night, _state, inner in CELL_RE.findall(page)}


def link_of(inner: str) -> str | None:
    found = re.search(r'<a class="day__link" href="([^"]+)"', inner)
    return found.group(1).replace("&amp;", "&") if found else None


def test_calendar_days_are_links_that_choose_check_in_then_check_out(app, client):
    with app.app_context():
        home = factories.listing(min_nights=2, max_nights=5)
        today = coop_date()
        start = today + timedelta(days=3)
        taken = start + timedelta(days=3)  # nights start, +1, +2 free; +3 taken
        factories.blocked(home, taken)
        db.session.commit()
        home_id = home.id
    d = lambda n: (start + timedelta(days=n)).isoformat()  # noqa: E731

    # No dates yet: every free night starts a stay; taken, past and too-soon days are no links.
    page = text_of(client.get(f"/listings/{home_id}?lang=en"))
    grid = cells(page)
    assert link_of(grid[d(0)][1]) == f"/listings/{home_id}?check_in={d(0)}#availability"
    assert "choose as check-in" in grid[d(0)][1]
    assert link_of(grid[taken.isoformat()][1]) is None
    assert "not available" in grid[taken.isoformat()][1]  # said in words, not only colour
    assert link_of(grid[today.isoformat()][1]) is None  # inside the advance notice
    if today.day > 1:
        assert link_of(grid[(today - timedelta(days=1)).isoformat()][1]) is None
    assert 'src="/static/js/stay-calendar.js"' in page

    # Bounded: only the fixed number of months is rendered, whatever the booking window.
    assert page.count('<table class="month"') == GUEST_CALENDAR_MONTHS

    # The check-in link: no error, the day is marked chosen, and the days that end an allowed
    # stay of free nights are check-out links (the taken night's day too: check-out is no night).
    response = client.get(f"/listings/{home_id}?lang=en&check_in={d(0)}&guests=2")
    assert response.status_code == 200
    page = text_of(response)
    assert "Choose both" not in page
    assert 'value="' + d(0) + '"' in page  # the stay form has the check-in filled in
    grid = cells(page)
    assert "day--chosen-start" in grid[d(0)][0]
    assert "your check-in" in grid[d(0)][1]
    assert link_of(grid[d(0)][1]) is None
    assert link_of(grid[d(1)][1]).startswith(f"/listings/{home_id}?check_in={d(1)}&")  # too short
    out = f"/listings/{home_id}?check_in={d(0)}&check_out={d(2)}&guests=2#price-box"
    assert link_of(grid[d(2)][1]) == out
    assert "choose as check-out" in grid[d(2)][1]
    assert link_of(grid[d(3)][1]) == out.replace(d(2), d(3))
    assert 'data-pick="out"' not in grid[d(4)][1]  # past the taken night

    # The check-out link shows the price, and the stay is marked on the calendar.
    page = text_of(client.get(out.split("#")[0] + "&lang=en"))
    assert 'id="quote-total"' in page
    grid = cells(page)
    assert "day--chosen-stay" in grid[d(1)][0]
    assert "day--chosen-end" in grid[d(2)][0]


def test_a_past_check_in_alone_is_an_error(app, client):
    with app.app_context():
        home = factories.listing()
        db.session.commit()
        home_id = home.id
    past = (coop_date() - timedelta(days=2)).isoformat()
    response = client.get(f"/listings/{home_id}?lang=en&check_in={past}")
    assert response.status_code == 422
    assert "Check-in cannot be in the past." in text_of(response)


def test_calendar_text_passes_contrast(app):
    """WCAG 1.4.3: the day colours of the guest calendar (text on its background) ≥ 4.5:1."""
    css = (Path(app.static_folder) / "css" / "site.css").read_text()

    def rule(selector: str) -> str:
        found = re.search(r"^" + re.escape(selector) + r"\s*(?:,[^{]*)?\{([^}]*)\}", css, re.M)
        assert found, selector
        return found.group(1)

    def colour(block: str, prop: str) -> str:
        return re.search(prop + r":\s*(#[0-9a-f]{6})", block).group(1)

    def luminance(hex_: str) -> float:
        channels = [int(hex_[i : i + 2], 16) / 255 for i in (1, 3, 5)]
        lin = [c / 12.92 if c <= 0.03928 else ((c + 0.055) / 1.055) ** 2.4 for c in channels]
        return 0.2126 * lin[0] + 0.7152 * lin[1] + 0.0722 * lin[2]

    def ratio(a: str, b: str) -> float:
        high, low = sorted((luminance(a), luminance(b)), reverse=True)
        return (high + 0.05) / (low + 0.05)

    unavailable = rule(".day--unavailable")
    assert ratio(colour(unavailable, "color"), colour(unavailable, "background")) >= 4.5
    assert ratio(colour(rule(".day--past"), "color"), "#ffffff") >= 4.5
    chosen = rule(".day--chosen")
    assert ratio("#ffffff", "#155244") >= 4.5
    assert "var(--green-dark)" in chosen
    assert ratio("#ffffff", colour(rule(".day--chosen-stay"), "background")) >= 4.5


def _photos(home, count: int) -> None:
    db.session.add_all(
        ListingPhoto(
            listing_id=home.id,
            position=n,
            token=f"{home.id:04d}{n:028d}",
            width=1600,
            height=1200,
            alt_text=f"Room {n + 1}",
        )
        for n in range(count)
    )
    db.session.flush()


def test_photos_open_large_with_previous_and_next(app, client):
    with app.app_context():
        home = factories.listing()
        _photos(home, 7)
        draft = factories.listing(state="draft")
        _photos(draft, 1)
        db.session.commit()
        home_id, draft_id = home.id, draft.id

    page = text_of(client.get(f"/listings/{home_id}?lang=en"))
    for n in range(1, 8):  # the five shown and the two under "Show all"
        assert f'href="/listings/{home_id}/photos/{n}"' in page
    assert "Open photo 1 of 7" in page

    first = text_of(client.get(f"/listings/{home_id}/photos/1?lang=en"))
    assert "Photo 1 of 7" in first
    assert 'alt="Room 1"' in first
    assert "-l.jpg" in first
    assert 'id="photo-previous"' not in first
    assert f'href="/listings/{home_id}/photos/2"' in first
    middle = text_of(client.get(f"/listings/{home_id}/photos/4?lang=en"))
    assert 'alt="Room 4"' in middle
    assert f'href="/listings/{home_id}/photos/3"' in middle
    assert f'href="/listings/{home_id}/photos/5"' in middle
    last = text_of(client.get(f"/listings/{home_id}/photos/7?lang=en"))
    assert 'id="photo-next"' not in last
    assert client.get(f"/listings/{home_id}/photos/8").status_code == 404
    assert client.get(f"/listings/{home_id}/photos/0").status_code == 404
    assert client.get(f"/listings/{draft_id}/photos/1").status_code == 404  # not published


def test_phones_get_a_price_and_book_bar(app, client):
    with app.app_context():
        home = factories.listing(nightly_price_ore=90_000)
        db.session.commit()
        home_id = home.id
    page = text_of(client.get(f"/listings/{home_id}?lang=en"))
    bar = page.split('id="book-bar"', 1)[1].split("</div>", 1)[0]
    assert "900" in bar
    assert "per night" in bar
    assert 'href="#availability"' in bar  # no dates yet: the calendar chooses them

    check_in = coop_date() + timedelta(days=10)
    check_out = check_in + timedelta(days=2)
    page = text_of(
        client.get(f"/listings/{home_id}?lang=en&check_in={check_in}&check_out={check_out}")
    )
    bar = page.split('id="book-bar"', 1)[1].split("</div>", 1)[0]
    total = re.search(r'id="quote-total"><strong>([^<]+)</strong>', page).group(1)
    assert total in bar
    assert "in total" in bar
    assert 'id="book-bar-book"' in bar
    assert f"/listings/{home_id}/book" in bar

    css = (Path(app.static_folder) / "css" / "site.css").read_text()
    phone = css[css.index("@media (max-width: 600px) {\n  .book-bar") :]
    assert "position: fixed" in phone.split("}", 1)[0]
    assert "bottom: 0" in phone.split("}", 1)[0]
