"""The start page's map of the town's districts, drawn here as SVG so it works offline.

The coop's list of districts has codes and names but no geography, so the map is a schematic:
one hexagon per district in a honeycomb, in name order, each a link to the search in that
district with its number of published homes. It needs no data entry and no outside service,
and it grows with the list. Map tiles from a tile server are shown as well only when the coop
configures one (`MAP_TILE_URL`, off by default), as a picture of the town around `MAP_CENTER`.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from urllib.parse import urlsplit

from flask import current_app
from sqlalchemy import Row, func, select

from rentalcoop.listings.reads import once, rows

RADIUS = 66  # a hexagon's corner distance, in the SVG's units
WIDTH = math.sqrt(3) * RADIUS  # pointy-top hexagons: side by side at this distance
TILE_SIZE = 256


@dataclass(frozen=True)
class District:
    code: str
    name: str
    homes: int
    x: float  # centre
    y: float
    points: str  # the hexagon's corners, for <polygon points="…">
    shade: int  # 0 no homes, 1 (fewest) … 3 (most): the fill; the count is written inside too


@dataclass(frozen=True)
class DistrictMap:
    districts: list[District]
    width: float
    height: float
    total: int


@once
def _counts_statement():
    from rentalcoop.listings.models import Listing, ListingState

    return (
        select(Listing.area_id, func.count())
        .where(Listing.state == ListingState.PUBLISHED)
        .group_by(Listing.area_id)
    )


def published_homes_by_area() -> dict[int, int]:
    """How many published homes each district has (one grouped query)."""
    return {area_id: count for area_id, count in rows(_counts_statement())}


def _hexagon(cx: float, cy: float) -> str:
    corners = (math.radians(60 * n - 30) for n in range(6))
    return " ".join(
        f"{cx + RADIUS * math.cos(a):.1f},{cy + RADIUS * math.sin(a):.1f}" for a in corners
    )


def layout(areas: list[Row], counts: dict[int, int]) -> DistrictMap:
    """A honeycomb of the districts (`areas`: rows with id, code, name, in name order)."""
    n = len(areas)
    columns = max(1, math.ceil(math.sqrt(n)))  # about as tall as wide: readable on a phone
    ours = [counts.get(area.id, 0) for area in areas]
    low, high = min((c for c in ours if c), default=0), max(ours, default=0)
    districts = []
    for index, area in enumerate(areas):
        row, column = divmod(index, columns)
        cx = WIDTH / 2 + column * WIDTH + (WIDTH / 2 if row % 2 else 0)
        cy = RADIUS + row * RADIUS * 1.5
        homes = counts.get(area.id, 0)
        # Fewest homes 1, most 3, between by proportion (the count is written inside as well).
        shade = (
            0 if homes == 0 else 2 if high == low else 1 + round(2 * (homes - low) / (high - low))
        )
        districts.append(District(area.code, area.name, homes, cx, cy, _hexagon(cx, cy), shade))
    rows_used = math.ceil(n / columns) if n else 0
    width = columns * WIDTH + (WIDTH / 2 if rows_used > 1 else 0)
    height = 2 * RADIUS + max(0, rows_used - 1) * RADIUS * 1.5
    return DistrictMap(districts, round(width, 1), round(height, 1), sum(counts.values()))


def district_map(areas: list[Row]) -> DistrictMap:
    """The map of `areas` with their counts of published homes."""
    return layout(areas, published_homes_by_area())


@dataclass(frozen=True)
class Tiles:
    urls: list[list[str]]  # rows of tile addresses
    attribution: str


def tile_origin(template: str | None) -> str | None:
    """`https://tiles.example.org` of a tile URL template, for the CSP's img-src."""
    if not template:
        return None
    parts = urlsplit(template.replace("{", "").replace("}", ""))
    return f"{parts.scheme}://{parts.netloc}" if parts.scheme and parts.netloc else None


def tiles() -> Tiles | None:
    """3 × 2 tiles around the configured centre, or None when no tile server is configured.

    Slippy-map tile numbers (the OpenStreetMap convention, z/x/y); the browser fetches them
    from the configured server, never this app.
    """
    config = current_app.config
    template = config.get("MAP_TILE_URL")
    center = config.get("MAP_CENTER")
    if not template or not center or tile_origin(template) is None:
        return None
    lat, lon = (float(part) for part in center.split(","))
    zoom = int(config.get("MAP_ZOOM", 13))
    scale = 2**zoom
    x = int((lon + 180) / 360 * scale)
    lat_r = math.radians(lat)
    y = int((1 - math.log(math.tan(lat_r) + 1 / math.cos(lat_r)) / math.pi) / 2 * scale)
    urls = [
        [
            template.replace("{z}", str(zoom)).replace("{x}", str(tx)).replace("{y}", str(ty))
            for tx in range(x - 1, x + 2)
        ]
        for ty in range(y - 1, y + 1)
    ]
    return Tiles(urls, config.get("MAP_ATTRIBUTION") or "")
