"""The foundation's main journey in a real browser: Swedish first, English on request, an account."""

from __future__ import annotations

import pytest
from playwright.sync_api import expect
from sqlalchemy import select

from rentalcoop.accounts.models import User
from rentalcoop.extensions import db
from tests import factories
from tests.e2e.conftest import login_in_browser

pytestmark = pytest.mark.e2e

NAME = "Astrid Lindqvist"
EMAIL = "astrid@example.org"
PASSWORD = "a long enough password"


def test_swedish_home_english_switch_register_logout_login(app, page, live_server, snap):
    page.goto("/")
    expect(page.locator("html")).to_have_attribute("lang", "sv")
    # One search landmark: on the start page the search form is the page's own (issue 16).
    expect(page.get_by_role("search")).to_have_count(1)
    expect(page.get_by_role("main").get_by_role("button", name="Sök")).to_be_visible()
    expect(page.get_by_role("banner").get_by_role("link", name="Skapa konto")).to_be_visible()
    snap("1-home-sv")

    page.get_by_role("banner").get_by_role("link", name="EN", exact=True).click()
    expect(page.locator("html")).to_have_attribute("lang", "en")
    expect(page.get_by_role("main").get_by_role("button", name="Search")).to_be_visible()
    snap("2-home-en")

    page.get_by_role("banner").get_by_role("link", name="Sign up").click()
    expect(page.get_by_role("heading", name="Create an account")).to_be_visible()
    form = page.locator("main form")
    form.get_by_label("Name").fill(NAME)
    form.get_by_label("Email").fill(EMAIL)
    form.get_by_label("Password", exact=True).fill(PASSWORD)
    form.get_by_label("Repeat password").fill(PASSWORD)
    form.get_by_label("I accept the terms of use and have read the privacy policy").check()
    expect(form.get_by_label("Language")).to_have_value("en")
    snap("3-register")
    form.get_by_role("button", name="Create account").click()
    expect(page.get_by_role("status")).to_contain_text(f"Welcome, {NAME}! Your account is ready.")
    expect(page.locator(".account-menu summary")).to_contain_text(NAME)
    with app.app_context():
        person = db.session.scalars(select(User).filter_by(email=EMAIL)).one()
        assert (person.name, person.locale) == (NAME, "en")

    page.locator(".account-menu summary").click()
    page.get_by_role("button", name="Log out").click()
    expect(page.get_by_role("status")).to_contain_text("You are logged out.")
    expect(page.locator(".account-menu")).to_have_count(0)
    snap("4-logged-out")

    login_in_browser(page, live_server, EMAIL, PASSWORD)
    expect(page.locator("html")).to_have_attribute("lang", "en")
    summary = page.locator(".account-menu summary")
    expect(summary).to_contain_text(NAME)
    menu = page.locator(".account-menu__list")
    expect(menu).to_be_hidden()
    summary.click()
    expect(menu.get_by_role("link", name="Account settings")).to_be_visible()
    expect(menu.get_by_role("button", name="Log out")).to_be_visible()
    snap("5-account-menu")

    menu.get_by_role("link", name="Account settings").click()
    expect(page.get_by_role("heading", name="Account settings", level=1)).to_be_visible()
    expect(page.get_by_text(EMAIL)).to_be_visible()


def test_skip_link_is_first_focusable_and_moves_focus_to_main(page, snap):
    page.goto("/")
    page.keyboard.press("Tab")
    skip = page.get_by_role("link", name="Hoppa till innehållet")
    expect(skip).to_be_focused()
    box = skip.bounding_box()
    assert box is not None
    assert box["x"] >= 0
    assert box["y"] >= 0, "the focused skip link is on screen"
    snap("skip-link")
    page.keyboard.press("Enter")
    expect(page.locator("main#main")).to_be_focused()
    page.keyboard.press("Tab")
    expect(page.locator("header :focus")).to_have_count(0)


MOBILE = {
    "locale": "sv-SE",
    "timezone_id": "Europe/Stockholm",
    "viewport": {"width": 390, "height": 844},
    "is_mobile": True,
    "has_touch": True,
}


@pytest.mark.parametrize("browser_context_args", [MOBILE], ids=["mobile"])
def test_phone_layout_fits_and_account_menu_keeps_its_name(app, page, live_server, snap):
    with app.app_context():
        factories.host(name="Maja Ek", email="maja@example.org")
        db.session.commit()

    page.goto("/")
    assert page.evaluate("document.documentElement.scrollWidth") <= 390, "no sideways scrolling"
    snap("home")

    login_in_browser(page, live_server, "maja@example.org", factories.PASSWORD)
    summary = page.locator(".account-menu summary")
    expect(summary).to_have_accessible_name("Maja Ek")
    summary.click()
    expect(page.get_by_role("link", name="Kontoinställningar")).to_be_visible()
    snap("account-menu")
    page.get_by_role("link", name="Kontoinställningar").click()
    expect(page.get_by_role("heading", name="Kontoinställningar", level=1)).to_be_visible()
    assert page.evaluate("document.documentElement.scrollWidth") <= 390, "no sideways scrolling"
    snap("account")


@pytest.mark.parametrize("browser_context_args", [MOBILE], ids=["mobile"])
def test_member_home_fits_a_phone(app, page, live_server, snap):
    """Issue 16, observation 9: /member scrolled sideways at 390 px."""
    from rentalcoop.governance.models import CloseState, PatronageShare, YearClose
    from rentalcoop.listings.pricing import coop_date

    with app.app_context():
        host = factories.host(name="Maja Ek", email="maja@example.org")
        year = coop_date().year - 1
        db.session.add(
            YearClose(
                year=year,
                state=CloseState.POSTED,
                fees_ore=0,
                community_ore=0,
                costs_ore=0,
                surplus_ore=123_456,
                reserve_ore=0,
                distributed_ore=123_456,
                nights=40,
            )
        )
        db.session.flush()
        db.session.add(PatronageShare(year=year, member_id=host.id, nights=40, amount_ore=123_456))
        db.session.commit()
    login_in_browser(page, live_server, "maja@example.org", factories.PASSWORD)
    page.goto("/member")
    snap("member")
    assert page.evaluate("document.documentElement.scrollWidth") <= 390, "no sideways scrolling"
