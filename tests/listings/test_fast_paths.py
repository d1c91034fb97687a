"""The search page's cheaper paths give exactly what the general ones give: money formatted
without Babel per call, catalogs looked up once per render, statements built once per shape."""

from __future__ import annotations

import random
from datetime import timedelta

import pytest

from rentalcoop.extensions import db
from rentalcoop.i18n import _babel_money, money_formatter
from rentalcoop.listings.pricing import coop_date
from tests import factories
from tests.helpers import text_of


@pytest.mark.parametrize("language", ["sv", "en"])
def test_money_formatter_equals_babel(language):
    fast = money_formatter(language)
    rng = random.Random(3)
    amounts = [*range(-2_500, 2_500), *(10**k for k in range(16)), *(-(10**k) for k in range(16))]
    amounts += [rng.randint(-(10**13), 10**13) for _ in range(5_000)]
    for amount in amounts:
        assert fast(amount) == _babel_money(amount, language), amount


def test_card_escaping_equals_jinjas():
    from markupsafe import escape

    from rentalcoop.listings.cards import _esc

    for text in ["", "Hem & hus", '<b>"x"</b>', "it's", "&amp;", "å ä ö \xa0 – €", "a\nb"]:
        assert _esc(text) == str(escape(text))


def test_money_formats_as_designed(app):
    with app.test_request_context("/?lang=sv"):
        from rentalcoop.i18n import money

        assert money(123_450) == "1\xa0234,50\xa0kr"
        assert money(None) == ""
        with pytest.raises(TypeError):
            money(1.5)
    with app.test_request_context("/?lang=en"):
        from rentalcoop.i18n import money

        assert money(123_450) == "SEK\xa01,234.50"
        assert money(-5) == "-SEK\xa00.05"


def test_each_render_uses_its_own_language(app, client):
    """Macros imported without context run in a module context Jinja shares between renders:
    a catalog kept there would show the next visitor the previous one's language."""
    with app.app_context():
        home = factories.listing(title="Stugan")
        db.session.commit()
        listing_id = home.id
    swedish = text_of(app.test_client().get(f"/listings/{listing_id}?lang=sv"))
    english = text_of(app.test_client().get(f"/listings/{listing_id}?lang=en"))
    again = text_of(app.test_client().get(f"/listings/{listing_id}?lang=sv"))
    assert "Not available</li>" in english
    assert "Not available</li>" not in swedish
    assert swedish == again


def test_search_results_follow_each_requests_values(app, client):
    """One statement per shape of search serves every value: the values are parameters."""
    import re

    start = coop_date() + timedelta(days=10)
    with app.app_context():
        north, south = factories.area(code="N", name="Norr"), factories.area(code="S", name="Söder")
        cheap = factories.listing(area=north, title="Billig", nightly_price_ore=50_000)
        factories.listing(area=south, title="Dyr", nightly_price_ore=150_000, max_guests=6)
        factories.blocked(cheap, start + timedelta(days=1))
        db.session.commit()

    def titles(query: str) -> list[str]:
        return re.findall(r'<h3 class="card__title">([^<]+)</h3>', text_of(client.get(query)))

    assert titles("/?area=N") == ["Billig"]
    assert titles("/?area=S") == ["Dyr"]
    assert titles("/?guests=3") == ["Dyr"]
    assert titles("/?guests=2") == ["Billig", "Dyr"]
    stay = f"check_in={start}&check_out={start + timedelta(days=2)}"
    assert titles(f"/?{stay}") == ["Dyr"]
    later = start + timedelta(days=2)
    assert titles(f"/?check_in={later}&check_out={later + timedelta(days=2)}") == [
        "Billig",
        "Dyr",
    ]
    # Each card names its own district and its own price.
    page = text_of(client.get("/?lang=sv"))
    assert "Norr ·" in page
    assert "Söder ·" in page
    assert "500,00\xa0kr" in page
    assert "1\xa0500,00\xa0kr" in page
