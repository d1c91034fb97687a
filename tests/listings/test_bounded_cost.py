"""Bounded cost of one request (issue 12, item 5): absurd stays are refused before any night is
priced, photos are measured from their header before decoding, booking requests are limited
per account. Work is counted (nights priced, decodes), never timed."""

from __future__ import annotations

import struct
import zlib
from datetime import timedelta
from io import BytesIO

import pytest
from PIL import Image, ImageFile

from config import TestingConfig
from rentalcoop.extensions import db
from rentalcoop.listings import photos, pricing
from rentalcoop.listings.availability import add_months
from tests import factories
from tests.helpers import login, post_form


@pytest.fixture
def nights_priced(monkeypatch):
    """The number of nights each pricing expanded, in order."""
    seen: list[int] = []
    real = pricing.stay_nights

    def counting(check_in, check_out):
        nights = real(check_in, check_out)
        seen.append(len(nights))
        return nights

    monkeypatch.setattr(pricing, "stay_nights", counting)
    return seen


@pytest.fixture
def home(app):
    with app.app_context():
        listing = factories.listing(booking_window_months=12)
        factories.user(email="guest@example.org")
        factories.user(email="guest2@example.org")
        db.session.commit()
        return listing.id


def _day(days: int) -> str:
    return (pricing.coop_date() + timedelta(days=days)).isoformat()


def _beyond_window() -> tuple[str, str]:
    start = add_months(pricing.coop_date(), 13)
    return start.isoformat(), (start + timedelta(days=3)).isoformat()


def test_a_normal_stay_is_priced_once_per_night(client, home, nights_priced):
    assert (
        client.get(f"/listings/{home}?check_in={_day(10)}&check_out={_day(13)}").status_code == 200
    )
    assert nights_priced == [3]


@pytest.mark.parametrize(
    "query",
    [
        lambda: f"check_in={_day(5)}&check_out=9999-12-31",
        lambda: "check_in=9999-12-01&check_out=9999-12-31",
        lambda: "check_in={}&check_out={}".format(*_beyond_window()),
    ],
)
def test_the_listing_page_refuses_absurd_stays_before_pricing(client, home, nights_priced, query):
    response = client.get(f"/listings/{home}?{query()}&lang=en")
    assert response.status_code in (200, 422)
    assert nights_priced == []


@pytest.mark.parametrize(
    "query",
    [
        lambda: f"check_in={_day(5)}&check_out=9999-12-31",
        lambda: "check_in=9999-12-01&check_out=9999-12-31",
    ],
)
def test_search_refuses_absurd_stays_before_pricing(client, home, nights_priced, query):
    assert client.get(f"/?{query()}").status_code == 422
    assert nights_priced == []


@pytest.mark.parametrize(
    "stay",
    [lambda: (_day(5), "9999-12-31"), lambda: ("9999-12-01", "9999-12-31"), _beyond_window],
)
def test_booking_refuses_absurd_stays_before_pricing(client, home, nights_priced, stay):
    login(client, "guest@example.org")
    check_in, check_out = stay()
    data = {"check_in": check_in, "check_out": check_out, "guests": "1", "accept_rules": "y"}
    response = post_form(client, f"/listings/{home}/book", data)
    assert response.status_code == 422
    assert nights_priced == []


def test_pricing_itself_refuses_more_than_a_year(app, home):
    with app.test_request_context("/?lang=en"):
        listing = db.session.get(factories.Listing, home)
        start = pricing.coop_date()
        with pytest.raises(pricing.PricingError, match="at most 365 nights"):
            pricing.quote(listing, start, start.replace(year=9999, month=12, day=31), 1)


def _png_header_only(width: int, height: int) -> bytes:
    """A few dozen bytes of PNG whose header claims `width` × `height` pixels."""

    def chunk(kind: bytes, body: bytes) -> bytes:
        crc = zlib.crc32(kind + body) & 0xFFFFFFFF
        return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", crc)

    ihdr = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + chunk(b"IDAT", b"") + chunk(b"IEND", b"")


@pytest.fixture
def decodes(monkeypatch):
    """How often Pillow was asked to decode or verify pixels."""
    calls = {"load": 0, "verify": 0}
    load, verify = ImageFile.ImageFile.load, ImageFile.ImageFile.verify

    def counting_load(self, *args, **kwargs):
        calls["load"] += 1
        return load(self, *args, **kwargs)

    def counting_verify(self, *args, **kwargs):
        calls["verify"] += 1
        return verify(self, *args, **kwargs)

    monkeypatch.setattr(ImageFile.ImageFile, "load", counting_load)
    monkeypatch.setattr(ImageFile.ImageFile, "verify", counting_verify)
    return calls


@pytest.mark.parametrize(
    ("width", "height"),
    [(5000, 4100), (7000, 7000), (100_000, 100_000)],  # 20.5 MP (just over), 49 MP, 10 GP
)
def test_a_photo_claiming_too_many_pixels_is_refused_from_its_header(app, decodes, width, height):
    data = _png_header_only(width, height)
    assert len(data) < 100
    with app.test_request_context("/?lang=en"):
        with pytest.raises(photos.PhotoError, match="too many pixels"):
            photos.encode_variants(data)
    assert decodes == {"load": 0, "verify": 0}


def test_a_photo_at_the_cap_is_still_accepted(app, decodes):
    buffer = BytesIO()
    Image.new("RGB", (400, 300), (1, 2, 3)).save(buffer, "PNG")
    with app.test_request_context("/?lang=en"):
        variants, size = photos.encode_variants(buffer.getvalue())
    assert size == (400, 300)
    assert set(variants) == {"l", "m", "s"}
    assert photos.MAX_PHOTO_PIXELS <= 20_000_000


def test_booking_requests_are_limited_per_account(make_app, home):
    app = make_app(
        TestingConfig,
        RATELIMIT_ENABLED=True,
        RATELIMIT_STORAGE_URI="memory://",
        BOOKING_RATE_LIMIT="2 per hour",
    )

    def attempt(email, address, n):
        client = app.test_client()
        client.environ_base["REMOTE_ADDR"] = address
        login(client, email)
        data = {
            "check_in": _day(10 + 5 * n),
            "check_out": _day(12 + 5 * n),
            "guests": "1",
            "accept_rules": "y",
        }
        return post_form(client, f"/listings/{home}/book", data).status_code

    statuses = [attempt("guest@example.org", f"10.1.0.{n}", n) for n in range(3)]
    assert statuses[:2] == [303, 303]
    assert statuses[2] == 429
    # Another account from the same address is not held back.
    assert attempt("guest2@example.org", "10.1.0.0", 5) == 303
