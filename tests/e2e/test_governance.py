"""Issue 6's journey in a real browser, in Swedish: the board convenes an extra meeting with a
fee motion; a member gives another a proxy; on the meeting day the chair opens the vote, members
vote (one of them also by proxy), the chair closes it; the officers sign the minutes, which show
the counts; a quote made after the new fee applies shows the new fee."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from playwright.sync_api import expect
from sqlalchemy import select

from rentalcoop.db import utcnow
from rentalcoop.extensions import db
from rentalcoop.governance.models import Meeting, MeetingState, Motion
from rentalcoop.listings import pricing
from rentalcoop.listings.pricing import coop_date
from tests import factories
from tests.e2e.conftest import login_in_browser, logout_in_browser
from tests.e2e.test_booking import money_in_swedish

pytestmark = pytest.mark.e2e


def _as(page, live_server, email: str) -> None:
    logout_in_browser(page)
    login_in_browser(page, live_server, email, factories.PASSWORD)


def _vote(page, form_id: str, choice: str) -> None:
    form = page.locator(f"#{form_id}")
    form.locator(f"input[value='{choice}']").check()
    form.get_by_role("button").click()


def test_board_convenes_members_vote_by_proxy_minutes_and_new_fee(app, page, live_server, snap):
    today = coop_date()
    held_on = today + timedelta(weeks=3)
    with app.app_context():
        board = factories.user(email="styrelse@example.org", name="Stina Styrelse", board=True)
        anna = factories.host(email="anna@example.org", name="Anna Andersson")
        bertil = factories.host(email="bertil@example.org", name="Bertil Berg")
        cecilia = factories.host(email="cecilia@example.org", name="Cecilia Ek")
        home = factories.listing(title="Stuga vid sjön", nightly_price_ore=100_000, max_guests=2)
        db.session.commit()
        ids = {"board": board.id, "anna": anna.id, "bertil": bertil.id, "cecilia": cecilia.id}
        listing_id = home.id

    # The board prepares an extra meeting three weeks ahead and sends the notice.
    login_in_browser(page, live_server, "styrelse@example.org", factories.PASSWORD)
    expect(page.locator("html")).to_have_attribute("lang", "sv")
    page.goto("/board/meetings/new")
    page.locator("#kind").select_option("extra")
    page.locator("#format").select_option("physical")
    page.locator("#title").fill("Extra föreningsstämma om avgiften")
    page.locator("#held_on").fill(held_on.isoformat())
    page.locator("#starts").fill("18:00")
    page.locator("#venue").fill("Bygdegården, Storgatan 1")
    page.locator("#create-meeting").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Extra föreningsstämma om avgiften")
    page.locator("#chair").select_option(str(ids["board"]))
    page.locator("#secretary").select_option(str(ids["bertil"]))
    page.locator("#adjusters").select_option(str(ids["cecilia"]))
    page.locator("#save-officers").click()
    page.locator("#motion-form #kind").select_option("fee")
    page.locator("#motion-form #title").fill("Sänk serviceavgiften till 12 %")
    page.locator("#fee_bps").fill("12")
    page.locator("#effective_from").fill((held_on + timedelta(days=1)).isoformat())
    page.locator("#add-motion").click()
    # The notice goes out once the agenda is ready: it freezes the agenda (issue 14).
    page.locator("#send-notice").click()
    snap("1-convened")
    with app.app_context():
        meeting = db.session.scalars(select(Meeting)).one()
        assert meeting.state == MeetingState.CONVENED
        assert meeting.notice_sent_on == today
        motion = db.session.scalars(select(Motion)).one()
        meeting_id, motion_id = meeting.id, motion.id
    meeting_url = f"/meetings/{meeting_id}"

    # Anna cannot come: she gives Bertil her proxy.
    _as(page, live_server, "anna@example.org")
    page.goto(meeting_url)
    page.locator("#holder").select_option(str(ids["bertil"]))
    page.locator("#give-proxy").click()
    expect(page.locator("#proxy-list")).to_contain_text("Bertil Berg")

    # Three weeks pass: the meeting day has come (the dates move back instead of the clock).
    with app.app_context():
        meeting = db.session.get(Meeting, meeting_id)
        meeting.held_on = today
        meeting.starts_at = utcnow() - timedelta(hours=1)
        meeting.notice_sent_on = today - timedelta(weeks=3)
        # A fee applies from the day after the decision at the earliest (issue 14).
        db.session.get(Motion, motion_id).effective_from = today + timedelta(days=1)
        for proxy in meeting_proxies(meeting_id):
            proxy.signed_on = today - timedelta(weeks=3)
        db.session.commit()

    # The chair opens the vote and votes yes.
    _as(page, live_server, "styrelse@example.org")
    page.goto(meeting_url)
    page.locator(f"#open-{motion_id}").click()
    _vote(page, f"vote-{motion_id}", "yes")
    expect(page.locator(f"#voted-{motion_id}")).to_be_visible()

    # Bertil votes for himself and, by proxy, for Anna.
    _as(page, live_server, "bertil@example.org")
    page.goto(meeting_url)
    _vote(page, f"vote-{motion_id}", "yes")
    _vote(page, f"proxy-vote-{motion_id}", "yes")
    snap("2-voted-by-proxy")

    # Cecilia votes no.
    _as(page, live_server, "cecilia@example.org")
    page.goto(meeting_url)
    _vote(page, f"vote-{motion_id}", "no")

    # The chair closes the vote and the meeting, and signs the minutes.
    _as(page, live_server, "styrelse@example.org")
    page.goto(meeting_url)
    page.locator(f"#close-{motion_id}").click()
    expect(page.locator(f"#motion-{motion_id}-result")).to_contain_text("3")
    page.locator("#close-meeting").click()
    page.locator("#sign-minutes").click()
    for email in ("bertil@example.org", "cecilia@example.org"):
        _as(page, live_server, email)
        page.goto(f"{meeting_url}/minutes")
        page.locator("#sign-minutes").click()

    # Anna reads the published minutes: three yes (one by proxy), one no.
    _as(page, live_server, "anna@example.org")
    page.goto(f"{meeting_url}/minutes")
    counts = page.locator(f"#minutes-counts-{motion_id}")
    expect(counts).to_have_text(re.compile(r"\D3\D+1\D+0\D*$"))
    expect(page.locator("#register")).to_contain_text("Anna Andersson")
    expect(page.locator("#register")).to_contain_text("Bertil Berg")
    snap("3-minutes")
    with app.app_context():
        assert db.session.get(Meeting, meeting_id).state == MeetingState.PUBLISHED
        assert pricing.fee_schedule_in_force(today + timedelta(days=1)).fee_bps == 1200
        assert pricing.fee_schedule_in_force().fee_bps == 1500  # not before the decision

    # A quote made today, the day of the decision, still has the 15 % fee; tomorrow's has 12 %.
    check_in = today + timedelta(days=30)
    page.goto(
        f"/listings/{listing_id}?check_in={check_in}&check_out={check_in + timedelta(days=2)}"
        "&guests=1"
    )
    price_box = page.locator(".quote__table").first
    expect(price_box).to_contain_text(money_in_swedish(app, 30_000))
    expect(page.locator("#quote-total")).to_contain_text(money_in_swedish(app, 230_000))
    snap("4-fee-quote-on-the-decision-day")


def meeting_proxies(meeting_id: int):
    from rentalcoop.governance.models import Proxy

    return db.session.scalars(select(Proxy).where(Proxy.meeting_id == meeting_id)).all()
