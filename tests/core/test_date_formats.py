"""Dates read the same way in both languages (issue 16): day, month, year, a 24-hour clock in
Stockholm time — never the US "12/4/26, 7:34 PM", never raw ISO on a page."""

from __future__ import annotations

import re
from datetime import UTC, date, datetime, time
from html.parser import HTMLParser
from pathlib import Path

import pytest
from flask_babel import force_locale

from rentalcoop.extensions import db
from rentalcoop.i18n import LazyDay, clock, day, moment, when
from tests import factories
from tests.helpers import login

ROOT = Path(__file__).resolve().parents[2] / "rentalcoop"
US_DATE = re.compile(r"\b\d{1,2}/\d{1,2}/\d{2,4}\b")
ISO_DATE = re.compile(r"\b\d{4}-\d{2}-\d{2}\b")
TWELVE_HOUR = re.compile(r"\b\d{1,2}:\d{2}(?::\d{2})?\s?[AP]M\b")


class _Visible(HTMLParser):
    """The text a person reads (no attributes, scripts or styles)."""

    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.parts: list[str] = []
        self._skip = 0

    def handle_starttag(self, tag, attrs):
        if tag in ("script", "style"):
            self._skip += 1

    def handle_endtag(self, tag):
        if tag in ("script", "style"):
            self._skip -= 1

    def handle_data(self, data):
        if not self._skip:
            self.parts.append(data)


def visible(html: str) -> str:
    reader = _Visible()
    reader.feed(html)
    return " ".join(" ".join(reader.parts).split())


@pytest.mark.parametrize(
    ("language", "expected"),
    [
        ("sv", ("4 dec. 2026", "4 december 2026", "4 dec. 2026, 19:34", "15:00")),
        ("en", ("4 Dec 2026", "4 December 2026", "4 Dec 2026, 19:34", "15:00")),
    ],
)
def test_the_format_helpers_write_day_month_year_and_a_24_hour_stockholm_clock(
    app, language, expected
):
    instant = datetime(2026, 12, 4, 18, 34, 56, tzinfo=UTC)  # 19:34 in Stockholm
    with app.test_request_context("/"), force_locale(language):
        got = (
            day(date(2026, 12, 4)),
            day(date(2026, 12, 4), "long"),
            moment(instant, "short"),
            clock(time(15, 0)),
        )
        assert got == expected
        assert moment(instant) == moment(instant, "short")  # no seconds in any named format
        assert str(LazyDay(date(2026, 12, 4))) == expected[0]
        assert when(instant).endswith("19:34")


@pytest.fixture
def stay(app):
    with app.app_context():
        host = factories.host(email="host@example.org")
        guest = factories.user(email="guest@example.org")
        home = factories.listing(host=host, check_in_time=time(15, 0))
        booking = factories.booking(
            listing=home, guest=guest, check_in=date(2027, 2, 10), state="confirmed"
        )
        factories.message(booking, at=datetime(2026, 12, 4, 18, 34, tzinfo=UTC))
        db.session.commit()
        return booking.id


@pytest.mark.parametrize(
    ("language", "check_in", "long", "sent"),
    [
        ("sv", "10 feb. 2027", "onsdag 10 februari 2027", "4 dec. 2026, 19:34"),
        ("en", "10 Feb 2027", "Wednesday 10 February 2027", "4 Dec 2026, 19:34"),
    ],
)
def test_key_pages_show_dates_in_one_format_per_language(
    client, stay, language, check_in, long, sent
):
    login(client, "host@example.org")
    pages = {
        "booking": f"/bookings/{stay}?lang={language}",
        "reservations": "/host/reservations",
        "messages": "/messages",
    }
    texts = {}
    for name, url in pages.items():
        response = client.get(url)
        assert response.status_code == 200, name
        texts[name] = visible(response.get_data(as_text=True))
    assert long in texts["booking"]
    assert sent in texts["booking"]  # the message's time, in Stockholm
    assert check_in in texts["reservations"]
    for name, text in texts.items():
        assert not US_DATE.search(text), (name, US_DATE.search(text).group())
        assert not ISO_DATE.search(text), (name, ISO_DATE.search(text).group())
        assert not TWELVE_HOUR.search(text), (name, TWELVE_HOUR.search(text).group())


def test_a_domain_error_names_its_day_in_the_readers_language(app):
    from rentalcoop.errors import DomainError

    err = DomainError("until %(day)s", day=LazyDay(date(2027, 1, 10)))
    with app.test_request_context("/"):
        with force_locale("en"):
            assert err.message == "until 10 Jan 2027"
        with force_locale("sv"):
            assert err.message == "until 10 jan. 2027"


EXPRESSION = re.compile(r"{{(.*?)}}", re.S)


def test_templates_do_not_format_dates_themselves():
    """strftime/isoformat only for machines (a URL, a `datetime` attribute), never for reading:
    dates go through the |day, |moment, |when and |clock filters (rentalcoop/i18n.py)."""
    found = []
    for path in sorted([*ROOT.rglob("*.html"), *ROOT.rglob("*.txt")]):
        source = path.read_text(encoding="utf-8")
        for match in EXPRESSION.finditer(source):
            expression = match.group(1)
            if "strftime" not in expression and "isoformat" not in expression:
                continue
            if "url_for(" in expression or source[: match.start()].endswith('datetime="'):
                continue
            found.append(f"{path.relative_to(ROOT)}: {{{{{expression.strip()}}}}}")
    assert not found, found
