"""Issue 16: the demo town in a real browser, as each role, at 1280 and 390 px. Every page is
reached by clicking the account menu (no typed URLs after the log-in page), checked for server
errors and sideways scrolling on a phone, and saved as a screenshot for people to look at
(`make e2e` writes them to test-artifacts/e2e/), and checked with axe-core (0 serious or
critical violations)."""

from __future__ import annotations

import re

import pytest

from rentalcoop.demo import DEMO_PASSWORD
from tests.e2e.conftest import (
    PageWatch,
    artifact_path,
    assert_accessible,
    login_in_browser,
    new_context,
)

# The walk checks what a person sees (menus, links, layout at two widths), which does not depend
# on the database; the crawl test (tests/crawl) reads every page on PostgreSQL as well. Keeping
# it to the SQLite pass saves CI a demo load and 1.5 minutes.
pytestmark = [pytest.mark.e2e, pytest.mark.sqlite_only]

ROLES = {
    "guest": "guest1@example.org",
    "host": "host1@example.org",
    "board": "board@example.org",
    "municipality": "municipality@example.org",
}
WIDTHS = {"desktop": {"width": 1280, "height": 900}, "phone": {"width": 390, "height": 844}}
# Swedish at both widths, then English on the desktop (switched with the page's own language
# links, which the account then keeps).
WALKS = [("desktop", "sv"), ("phone", "sv"), ("desktop", "en")]


def test_every_role_walks_its_menu_on_the_demo_town(demo_town, browser, live_server, request):
    for width, language in WALKS:
        viewport = WIDTHS[width]
        for role, email in ROLES.items():
            context = new_context(
                browser,
                live_server,
                locale="sv-SE",
                timezone_id="Europe/Stockholm",
                viewport=viewport,
                is_mobile=width == "phone",
                has_touch=width == "phone",
            )
            page = context.new_page()
            watch = PageWatch(page)
            login_in_browser(page, live_server, email, DEMO_PASSWORD)
            page.locator(f".lang-switch a[hreflang={language}]").click()
            page.wait_for_load_state()
            assert page.locator("html").get_attribute("lang") == language
            label = width if language == "sv" else f"{width}-{language}"
            # The start page (search, district map), then a home from its first card.
            page.locator("header a.brand").click()
            page.wait_for_load_state()
            page.screenshot(path=artifact_path(request, f"{label}-{role}-start"), full_page=True)
            assert_accessible(page)
            if role == "guest":
                page.locator("#result-cards a").first.click()
                page.wait_for_load_state()
                page.locator("#availability a.day__link").first.click()
                page.locator("#availability a.day__link[data-pick=out]").first.click()
                page.locator("#quote-total").wait_for()
                step = f"{label}-{role}-listing"
                page.screenshot(path=artifact_path(request, step), full_page=True)
                assert_accessible(page)
            menu = page.locator("details.account-menu")
            menu.locator("summary").click()
            links = [
                (a.inner_text().strip(), a.get_attribute("href")) for a in menu.locator("a").all()
            ]
            assert links, role
            for n, (name, _href) in enumerate(links):
                if page.locator("details.account-menu").get_attribute("open") is None:
                    page.locator("details.account-menu summary").click()
                page.locator("details.account-menu").get_by_role(
                    "link", name=name, exact=True
                ).first.click()
                page.wait_for_load_state()
                step = re.sub(r"\W+", "-", f"{label}-{role}-{n:02d}-{name}").strip("-")
                page.screenshot(path=artifact_path(request, step), full_page=True)
                assert_accessible(page)
                if width == "phone":
                    scroll = page.evaluate("document.documentElement.scrollWidth")
                    assert scroll <= 390, f"{role}: {page.url} scrolls sideways ({scroll}px)"
            context.close()
            assert not watch.problems, watch.problems
