"""Issue 16 part D: the start page's map of the districts, drawn as SVG (works offline), each
district a link to the search there with its count of published homes; map tiles only when the
coop configures a tile server (never contacted here: the page only names the tiles)."""

from __future__ import annotations

import re

from rentalcoop.extensions import db
from rentalcoop.listings.district_map import layout
from tests import factories
from tests.helpers import text_of


def _town(app):
    with app.app_context():
        north = factories.area(code="N01", name="Norrmalm")
        south = factories.area(code="S01", name="Söder")
        factories.listing(area=north)
        factories.listing(area=north)
        factories.listing(area=north, state="draft")
        factories.listing(area=north, state="paused")
        db.session.commit()
        return north.code, south.code


def test_the_start_page_draws_the_districts_with_their_published_homes(app, client):
    _town(app)
    response = client.get("/?lang=en")
    page = text_of(response)
    svg = page[page.index('<svg class="district-map__svg"') : page.index("</svg>")]
    assert '<title id="district-map-title">Map of the districts of' in svg
    assert '<desc id="district-map-desc">' in svg
    assert 'aria-labelledby="district-map-title district-map-desc"' in svg
    assert svg.count("<polygon") == 2
    north = svg[svg.index('href="/?area=N01#results"') :].split("</a>")[0]
    assert "Norrmalm" in north
    assert "2 homes" in north  # the draft and the paused home are not counted
    south = svg[svg.index('href="/?area=S01#results"') :].split("</a>")[0]
    assert "0 homes" in south
    # The counts as a list too, for reading and for screens too narrow for the drawing.
    listed = page[page.index('id="district-list"') :].split("</ul>")[0]
    assert re.search(r'href="/\?area=N01#results"[^>]*>Norrmalm</a> <span[^>]*>2 homes', listed)
    # Off by default: no tiles, and the CSP allows no other image origin.
    assert 'id="tile-map"' not in page
    assert "img-src 'self' data:;" in response.headers["Content-Security-Policy"]

    # The link leads to the search in that district, where the district is marked current.
    filtered = text_of(client.get("/?lang=en&area=N01"))
    assert 'district--current" aria-current="true"' in filtered


def test_the_map_works_in_swedish(app, client):
    _town(app)
    page = text_of(client.get("/?lang=sv"))
    assert "Karta över stadsdelarna i" in page
    assert "2 boenden" in page


def test_the_layout_places_every_district_apart_inside_the_drawing():
    class Row:
        def __init__(self, n):
            self.id, self.code, self.name = n, f"A{n}", f"District {n}"

    for n in (1, 2, 8, 20):
        drawn = layout([Row(i) for i in range(n)], {0: 9, 1: 1})
        centres = {(round(d.x), round(d.y)) for d in drawn.districts}
        assert len(centres) == n
        for d in drawn.districts:
            for point in d.points.split():
                x, y = (float(v) for v in point.split(","))
                assert -0.5 <= x <= drawn.width + 0.5
                assert -0.5 <= y <= drawn.height + 0.5
        # Shades: none 0, fewest 1, most 3 (one district alone: the middle shade).
        assert drawn.districts[0].shade == (3 if n > 1 else 2)
        if n > 1:
            assert drawn.districts[1].shade == 1
        assert [d.shade for d in drawn.districts[2:]] == [0] * (n - 2)


def test_tiles_only_when_the_coop_configures_a_tile_server(make_app, database_url):
    configured = make_app(
        MAP_TILE_URL="https://tiles.example.org/{z}/{x}/{y}.png",
        MAP_CENTER="59.3293,18.0686",
        MAP_ZOOM=13,
        MAP_ATTRIBUTION="© OpenStreetMap contributors",
    )
    _town(configured)
    response = configured.test_client().get("/?lang=en")
    page = text_of(response)
    tiles = re.findall(r'<img src="(https://tiles\.example\.org/[^"]+)"', page)
    # Stockholm at zoom 13 is tile x 4507, y 2409 (OpenStreetMap's slippy-map numbering).
    assert "https://tiles.example.org/13/4507/2409.png" in tiles
    assert len(tiles) == 6
    assert "© OpenStreetMap contributors" in page
    csp = response.headers["Content-Security-Policy"]
    assert "img-src 'self' data: https://tiles.example.org;" in csp
