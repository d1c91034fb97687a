"""Search returns exactly the free, rule-abiding listings; pages issue a constant number of
queries; a hypothesis test compares search with a brute-force oracle on random calendars."""

from __future__ import annotations

from datetime import date, timedelta

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import delete

from rentalcoop.extensions import db
from rentalcoop.listings import search as search_module
from rentalcoop.listings.availability import add_months, months_needed, stay_rule_problem
from rentalcoop.listings.models import BlockedNight, Listing, ListingPhoto
from rentalcoop.listings.pricing import coop_date, quote
from rentalcoop.listings.search import Criteria, matching_ids, search
from tests import factories
from tests.helpers import text_of

TODAY = date(2027, 3, 10)


# --- Stay rule arithmetic --------------------------------------------------------------------


@pytest.mark.parametrize(
    ("day", "months", "expected"),
    [
        (date(2027, 1, 31), 1, date(2027, 2, 28)),
        (date(2028, 1, 31), 1, date(2028, 2, 29)),
        (date(2027, 11, 15), 3, date(2028, 2, 15)),
        (date(2027, 3, 31), -1, date(2027, 2, 28)),
        (date(2027, 3, 10), 0, date(2027, 3, 10)),
    ],
)
def test_add_months(day, months, expected):
    assert add_months(day, months) == expected


@given(
    today=st.dates(min_value=date(2025, 1, 1), max_value=date(2030, 12, 31)),
    ahead=st.integers(min_value=0, max_value=800),
    window=st.integers(min_value=1, max_value=24),
)
def test_months_needed_agrees_with_the_window_rule(today, ahead, window):
    check_out = today + timedelta(days=ahead)
    assert (check_out <= add_months(today, window)) == (window >= months_needed(today, check_out))


# --- The oracle ------------------------------------------------------------------------------


def oracle(homes: list[dict], blocked: set[tuple[int, date]], c: Criteria, today: date) -> set:
    """Brute force over plain dicts: what search must return."""
    found = set()
    for home in homes:
        if home["state"] != "published":
            continue
        if c.area_id is not None and home["area_id"] != c.area_id:
            continue
        if c.guests and home["max_guests"] < c.guests:
            continue
        if c.min_price_ore is not None and home["nightly_price_ore"] < c.min_price_ore:
            continue
        if c.max_price_ore is not None and home["nightly_price_ore"] > c.max_price_ore:
            continue
        if c.property_type and home["property_type"] != c.property_type:
            continue
        if c.instant_only and not home["is_instant_book"]:
            continue
        if c.has_stay:
            nights = (c.check_out - c.check_in).days
            if c.check_in < today or not home["min_nights"] <= nights <= home["max_nights"]:
                continue
            if (c.check_in - today).days < home["advance_notice_days"]:
                continue
            if c.check_out > add_months(today, home["booking_window_months"]):
                continue
            stay = [c.check_in + timedelta(days=n) for n in range(nights)]
            if any((home["id"], night) in blocked for night in stay):
                continue
        found.add(home["id"])
    return found


home_strategy = st.fixed_dictionaries(
    {
        "area": st.integers(0, 1),
        "state": st.sampled_from(["published", "published", "published", "draft", "paused"]),
        "max_guests": st.integers(1, 6),
        "nightly_price_ore": st.integers(1, 30).map(lambda n: n * 10_000),
        "property_type": st.sampled_from(["entire_home", "private_room", "shared_room"]),
        "is_instant_book": st.booleans(),
        "min_nights": st.integers(1, 4),
        "extra_nights": st.integers(0, 20),
        "advance_notice_days": st.integers(0, 10),
        "booking_window_months": st.integers(1, 3),
        "blocked": st.sets(st.integers(0, 100), max_size=25),
        "blocked_runs": st.lists(st.tuples(st.integers(0, 100), st.integers(1, 10)), max_size=3),
    }
)

criteria_strategy = st.fixed_dictionaries(
    {
        "area": st.sampled_from([None, 0, 1]),
        "start": st.integers(-2, 100),
        "nights": st.integers(1, 16),
        "with_dates": st.booleans(),
        "guests": st.sampled_from([None, 1, 2, 4, 6]),
        "min_price": st.sampled_from([None, 50_000, 150_000]),
        "max_price": st.sampled_from([None, 100_000, 250_000]),
        "property_type": st.sampled_from([None, "entire_home", "private_room"]),
        "instant_only": st.booleans(),
    }
)


@pytest.fixture
def two_areas(app):
    with app.app_context():
        areas = [factories.area(), factories.area()]
        host = factories.host()
        db.session.commit()
        return [a.id for a in areas], host.id


@settings(
    max_examples=40,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(
    homes=st.lists(home_strategy, min_size=1, max_size=8),
    queries=st.lists(criteria_strategy, min_size=1, max_size=4),
)
def test_search_equals_a_brute_force_oracle(app, two_areas, homes, queries):
    area_ids, host_id = two_areas
    with app.app_context():
        # One database for all examples: clear what the last example left.
        db.session.execute(delete(BlockedNight))
        db.session.execute(delete(Listing))
        plain, blocked = [], set()
        for spec in homes:
            home = Listing(
                host_id=host_id,
                area_id=area_ids[spec["area"]],
                title="Home",
                state=spec["state"],
                max_guests=spec["max_guests"],
                nightly_price_ore=spec["nightly_price_ore"],
                property_type=spec["property_type"],
                is_instant_book=spec["is_instant_book"],
                min_nights=spec["min_nights"],
                max_nights=spec["min_nights"] + spec["extra_nights"],
                advance_notice_days=spec["advance_notice_days"],
                booking_window_months=spec["booking_window_months"],
            )
            db.session.add(home)
            db.session.flush()
            nights = {TODAY + timedelta(days=d) for d in spec["blocked"]}
            for start, length in spec["blocked_runs"]:
                nights |= {TODAY + timedelta(days=start + n) for n in range(length)}
            db.session.add_all(BlockedNight(listing_id=home.id, night=n) for n in nights)
            blocked |= {(home.id, n) for n in nights}
            plain.append(
                {
                    "id": home.id,
                    "area_id": home.area_id,
                    **{
                        k: getattr(home, k)
                        for k in (
                            "state",
                            "max_guests",
                            "nightly_price_ore",
                            "property_type",
                            "is_instant_book",
                            "min_nights",
                            "max_nights",
                            "advance_notice_days",
                            "booking_window_months",
                        )
                    },
                }
            )
        db.session.commit()
        for q in queries:
            check_in = TODAY + timedelta(days=q["start"])
            criteria = Criteria(
                area_id=None if q["area"] is None else area_ids[q["area"]],
                check_in=check_in if q["with_dates"] else None,
                check_out=check_in + timedelta(days=q["nights"]) if q["with_dates"] else None,
                guests=q["guests"],
                min_price_ore=q["min_price"],
                max_price_ore=q["max_price"],
                property_type=q["property_type"],
                instant_only=q["instant_only"],
            )
            expected = oracle(plain, blocked, criteria, TODAY)
            assert matching_ids(criteria, TODAY) == expected
            page = search(criteria, TODAY, page_size=3)
            by_price = sorted(
                expected,
                key=lambda i: (next(h["nightly_price_ore"] for h in plain if h["id"] == i), i),
            )
            assert [h.id for h in page.listings] == by_price[:3]
            assert page.has_next == (len(expected) > 3)
            if criteria.has_stay and page.has_next:
                assert page.count is None  # a search with dates counts on its last page only
            else:
                assert page.count == len(expected)
            # The Python rule check agrees with the SQL one.
            if criteria.has_stay:
                for home in db.session.query(Listing).filter(Listing.id.in_(expected)):
                    assert (
                        stay_rule_problem(home, criteria.check_in, criteria.check_out, TODAY)
                        is None
                    )


# --- Filters, sorting, paging, prices --------------------------------------------------------


@pytest.fixture
def town(app):
    """Published homes in two districts, one with blocks, one with price overrides."""
    with app.app_context():
        north, south = (
            factories.area(code="N01", name="Norr"),
            factories.area(code="S01", name="Söder"),
        )
        homes = {
            "cheap": factories.listing(area=north, title="Billig", nightly_price_ore=50_000),
            "mid": factories.listing(
                area=north,
                title="Mellan",
                nightly_price_ore=90_000,
                max_guests=4,
                cleaning_fee_ore=20_000,
            ),
            "dear": factories.listing(
                area=south,
                title="Dyr",
                nightly_price_ore=200_000,
                property_type="private_room",
                is_instant_book=False,
            ),
            "draft": factories.listing(area=north, title="Utkast", state="draft"),
        }
        db.session.commit()
        return {k: v.id for k, v in homes.items()}


def _titles(client, query: str) -> list[str]:
    import re

    page = text_of(client.get(f"/?{query}"))
    return re.findall(r'<h3 class="card__title">([^<]+)</h3>', page)


def test_search_page_filters_and_sorts(app, client, town):
    assert _titles(client, "") == ["Billig", "Mellan", "Dyr"]
    assert _titles(client, "area=N01") == ["Billig", "Mellan"]
    assert _titles(client, "guests=3") == ["Mellan"]
    assert _titles(client, "min_price=600&max_price=1000") == ["Mellan"]
    assert _titles(client, "max_price=2000") == ["Billig", "Mellan", "Dyr"]
    assert _titles(client, "property_type=private_room") == ["Dyr"]
    assert _titles(client, "instant=y") == ["Billig", "Mellan"]
    with app.app_context():
        for n, listing_id in enumerate((town["dear"], town["cheap"], town["mid"])):
            db.session.get(Listing, listing_id).published_at = factories_time(n)
        db.session.commit()
    assert _titles(client, "sort=newest") == ["Mellan", "Billig", "Dyr"]


def factories_time(n: int):
    from datetime import UTC, datetime

    return datetime(2026, 1, 1 + n, tzinfo=UTC)


def test_search_with_dates_hides_blocked_homes_and_shows_the_all_in_price(app, client, town):
    start = coop_date() + timedelta(days=30)
    with app.app_context():
        factories.blocked(db.session.get(Listing, town["cheap"]), start + timedelta(days=1))
        factories.night_price(db.session.get(Listing, town["mid"]), start, 120_000)
        db.session.commit()
    query = f"check_in={start}&check_out={start + timedelta(days=2)}&guests=2"
    assert _titles(client, query) == ["Mellan", "Dyr"]
    # The night before the block is free: check-out day is not a night.
    assert _titles(
        client, f"check_in={start - timedelta(days=2)}&check_out={start + timedelta(days=1)}"
    ) == ["Billig", "Mellan", "Dyr"]
    page = text_of(client.get(f"/?{query}&area=N01"))
    with app.app_context():
        expected = quote(db.session.get(Listing, town["mid"]), start, start + timedelta(days=2), 2)
    # 1 200 + 900 + 200 cleaning = 2 300 kr; + 15 % fee = 2 645 kr.
    assert expected.total_ore == 264_500
    assert f'data-total-ore="{expected.total_ore}"' in page
    assert "2\xa0645,00\xa0kr" in page
    assert f"check_in={start}" in page  # the card links to the listing with the stay
    assert "totalt för 2 nätter" in page  # the card's phrases are in the Swedish catalog
    # The homes without a price of their own for the stay are priced from the same page read.
    billig_query = f"check_in={start + timedelta(days=3)}&check_out={start + timedelta(days=5)}"
    cheap = text_of(client.get(f"/?{billig_query}&area=N01&lang=en"))
    assert 'data-total-ore="115000"' in cheap  # 2 × 500 kr = 1 000 kr + 15 %
    assert "in total for 2 nights" in cheap


def test_the_card_shows_the_first_photo_once(app, client):
    with app.app_context():
        home = factories.listing(title="Fotograferad")
        bare = factories.listing(title="Utan bild", nightly_price_ore=home.nightly_price_ore + 1)
        for position, token in ((1, "b" * 32), (0, "a" * 32), (0, "c" * 32)):
            db.session.add(
                ListingPhoto(
                    listing_id=home.id,
                    position=position,
                    token=token,
                    width=800,
                    height=600,
                    alt_text=f"Bild {token[0]}",
                )
            )
        db.session.commit()
        bare_id = bare.id
    page = text_of(client.get("/"))
    assert _titles(client, "") == ["Fotograferad", "Utan bild"]  # one card each
    cover = page.split('class="card__title">Fotograferad', 1)[0].rsplit("<article", 1)[1]
    assert "a" * 32 + "-m.jpg" in cover  # position 0, the older of the two
    assert 'alt="Bild a"' in cover
    assert 'width="800" height="600"' in cover
    no_photo = page.split(f'id="listing-{bare_id}"', 1)[1].split("</article>", 1)[0]
    assert "<img" not in no_photo


def test_invalid_search_is_422_and_explains(client, town):
    today = coop_date()
    response = client.get(
        f"/?check_in={today + timedelta(days=5)}&check_out={today + timedelta(days=2)}&lang=en"
    )
    assert response.status_code == 422
    assert "Check-out must be after check-in." in text_of(response)
    response = client.get(
        f"/?check_in={today - timedelta(days=1)}&check_out={today + timedelta(days=2)}&lang=en"
    )
    assert response.status_code == 422
    assert "Check-in cannot be in the past." in text_of(response)
    response = client.get(f"/?check_in={today + timedelta(days=1)}&lang=en")
    assert response.status_code == 422
    assert "Choose both a check-in and a check-out date." in text_of(response)
    assert client.get("/?guests=0").status_code == 422
    assert client.get("/?check_in=banana").status_code == 422


def test_paging_and_the_capped_count(app, client, monkeypatch):
    with app.app_context():
        area = factories.area()
        host = factories.host()
        for n in range(45):
            factories.listing(
                host=host, area=area, title=f"Hem {n:02d}", nightly_price_ore=10_000 + n
            )
        db.session.commit()
    first = text_of(client.get("/?lang=en"))
    assert "45 stays" in first
    assert 'id="next-page"' in first
    assert 'id="previous-page"' not in first
    assert _titles(client, "page=3") == [f"Hem {n:02d}" for n in range(40, 45)]
    third = text_of(client.get("/?page=3"))
    assert 'id="next-page"' not in third
    # The count is exact below the cap and "N+" at and above it (100+ in production).
    assert search_module.COUNT_CAP == 100
    monkeypatch.setattr(search_module, "COUNT_CAP", 45)
    assert "45 stays" in text_of(client.get("/?lang=en"))
    monkeypatch.setattr(search_module, "COUNT_CAP", 44)
    assert "44+ stays" in text_of(client.get("/?lang=en"))
    monkeypatch.setattr(search_module, "COUNT_CAP", 30)
    assert "30+ stays" in text_of(client.get("/?lang=en"))
    # Paging does not end at the count's cap.
    assert _titles(client, "page=3") == [f"Hem {n:02d}" for n in range(40, 45)]


def test_a_search_with_dates_counts_only_on_its_last_page(app, client):
    """With dates no count runs beyond the page: the heading tells how many once the page is
    the last one (everything before it was full), and otherwise shows the dates."""
    start = coop_date() + timedelta(days=30)
    with app.app_context():
        area = factories.area()
        host = factories.host()
        homes = []
        for n in range(36):
            homes.append(
                factories.listing(
                    host=host, area=area, title=f"Hem {n:02d}", nightly_price_ore=10_000 + n
                )
            )
            if n % 3 == 0:  # 12 of the 36 are taken for the stay: 24 free
                factories.blocked(homes[-1], start + timedelta(days=1))
        db.session.commit()
        home_ids = [home.id for home in homes]
    stay = f"check_in={start}&check_out={start + timedelta(days=3)}&lang=en"
    first = text_of(client.get(f"/?{stay}"))
    assert "Stays free on your dates" in first
    assert " stays" not in first.split('id="results-heading"', 1)[1].split("</h2>", 1)[0]
    assert 'id="next-page"' in first
    second = text_of(client.get(f"/?{stay}&page=2"))
    assert "24 stays" in second
    assert _titles(client, f"{stay}&page=2") == [f"Hem {n:02d}" for n in range(30, 36) if n % 3]
    # Exactly a page full: the first page is the last one.
    with app.app_context():
        for listing_id in home_ids[-6:]:
            factories.blocked(db.session.get(Listing, listing_id), start)
        db.session.commit()
    only = text_of(client.get(f"/?{stay}"))
    assert "20 stays" in only
    assert 'id="next-page"' not in only
    # Nothing free: no count to show, the page says so.
    with app.app_context():
        for listing_id in home_ids:
            factories.blocked(db.session.get(Listing, listing_id), start + timedelta(days=2))
        db.session.commit()
    assert "No stays match your search" in text_of(client.get(f"/?{stay}"))


# --- Constant number of queries --------------------------------------------------------------


def _fill(app, homes: int, photos: int, blocks: int) -> tuple[int, str, date]:
    start = coop_date() + timedelta(days=40)
    with app.app_context():
        area = factories.area()
        host = factories.host()
        first = None
        for n in range(homes):
            home = factories.listing(host=host, area=area, nightly_price_ore=40_000 + n)
            first = first or home
            for p in range(photos):
                db.session.add(
                    ListingPhoto(
                        listing_id=home.id,
                        position=p,
                        token=f"{home.id:08d}{p:024d}",
                        width=10,
                        height=10,
                    )
                )
            factories.blocked(home, *[start + timedelta(days=100 + b) for b in range(blocks)])
            for night in range(3):
                factories.night_price(home, start + timedelta(days=night), 50_000 + n)
        db.session.commit()
        return first.id, area.code, start


@pytest.mark.parametrize("dates", [False, True])
def test_search_page_queries_do_not_grow_with_results(app, client, count_queries, dates):
    def run(query_suffix):
        with count_queries() as counter:
            response = client.get("/?" + query_suffix)
        assert response.status_code == 200
        return counter.count

    _listing_id, code, start = _fill(app, homes=2, photos=1, blocks=1)
    stay = f"&check_in={start}&check_out={start + timedelta(days=5)}&guests=2" if dates else ""
    few = run(f"area={code}{stay}")
    _fill(app, homes=30, photos=4, blocks=40)
    many = run(f"{stay}")
    assert few == many
    assert many <= 6
    if dates:
        # Per-night prices are read only when a home on the page has some for the stay.
        later = f"&check_in={start + timedelta(days=10)}&check_out={start + timedelta(days=12)}"
        assert run(later) == many - 1


def test_listing_page_queries_do_not_grow_with_photos_or_nights(app, client, count_queries):
    small_id, _code, start = _fill(app, homes=1, photos=1, blocks=1)
    big_id, _code, _start = _fill(app, homes=1, photos=12, blocks=80)
    stay = f"?check_in={start}&check_out={start + timedelta(days=6)}&guests=2"
    counts = []
    for listing_id in (small_id, big_id):
        with count_queries() as counter:
            response = client.get(f"/listings/{listing_id}{stay}")
        assert response.status_code == 200
        assert 'id="quote-total"' in text_of(response)
        counts.append(counter.count)
    assert counts[0] == counts[1]
    assert counts[0] <= 10


def test_listing_page_explains_rules_and_taken_nights(app, client):
    start = coop_date() + timedelta(days=20)
    with app.app_context():
        home = factories.listing(min_nights=3, nightly_price_ore=100_000)
        factories.blocked(home, start + timedelta(days=1))
        db.session.commit()
        listing_id = home.id
    page = text_of(
        client.get(
            f"/listings/{listing_id}?check_in={start + timedelta(days=3)}&check_out={start + timedelta(days=4)}&lang=en"
        )
    )
    assert "The shortest stay here is 3 nights." in page
    page = text_of(
        client.get(
            f"/listings/{listing_id}?check_in={start}&check_out={start + timedelta(days=3)}&lang=en"
        )
    )
    assert "Some of these nights are already taken." in page
    page = text_of(
        client.get(
            f"/listings/{listing_id}?check_in={start + timedelta(days=2)}&check_out={start + timedelta(days=5)}&guests=2&lang=en"
        )
    )
    assert 'id="quote"' in page
    # 3 × 1 000 kr = 3 000; fee 450, of which VAT 90 and community 180.
    assert "SEK\xa0180.00 of the service fee goes to the community fund" in page
    assert f'data-night="{(start + timedelta(days=1)).isoformat()}" data-state="blocked"' in page
    response = client.get(f"/listings/{listing_id}?check_in={start}&check_out={start}")
    assert response.status_code == 422


def test_a_registered_night_source_blocks_search_calendars_and_checks(app, client, monkeypatch):
    """The extension point later features use: rows of another table make nights unavailable
    everywhere — search, the listing page's calendar and `is_free` — with no search code touched.
    (Here price overrides of 1 öre stand in for such a table.)"""
    from rentalcoop.listings import availability
    from rentalcoop.listings.models import NightPrice

    start = coop_date() + timedelta(days=15)
    with app.app_context():
        home = factories.listing(title="Testhem")
        factories.night_price(home, start + timedelta(days=1), 1)
        db.session.commit()
        listing_id = home.id
    query = f"check_in={start}&check_out={start + timedelta(days=3)}"
    assert _titles(client, query) == ["Testhem"]
    monkeypatch.setitem(
        availability._sources,
        "imported",
        availability.NightSource(
            "imported", NightPrice.listing_id, NightPrice.night, (NightPrice.price_ore == 1,)
        ),
    )
    assert _titles(client, query) == []
    with app.app_context():
        assert not availability.is_free(listing_id, start, start + timedelta(days=3))
        assert availability.is_free(listing_id, start, start + timedelta(days=1))
        taken = availability.unavailable_nights(listing_id, start, start + timedelta(days=5))
    assert taken == {start + timedelta(days=1): "imported"}
    page = text_of(client.get(f"/listings/{listing_id}"))
    assert f'data-night="{(start + timedelta(days=1)).isoformat()}" data-state="imported"' in page


def test_lowest_price_with_dates_sorts_by_the_total_shown(app):
    """Issue 16, observation 9: with dates the cards show the stay's total, but the list was
    ordered by the nightly price: a cheap night with a large cleaning fee came first."""
    from datetime import timedelta

    from rentalcoop.listings.pricing import coop_date
    from rentalcoop.listings.search import Criteria, search

    with app.app_context():
        area = factories.area()
        cheap_night = factories.listing(
            area=area, nightly_price_ore=50_000, cleaning_fee_ore=90_000
        )
        dear_night = factories.listing(area=area, nightly_price_ore=60_000, cleaning_fee_ore=0)
        overridden = factories.listing(area=area, nightly_price_ore=55_000, cleaning_fee_ore=0)
        start = coop_date() + timedelta(days=30)
        factories.night_price(overridden, start, 200_000)
        db.session.commit()
        results = search(
            Criteria(area_id=area.id, check_in=start, check_out=start + timedelta(days=2))
        )
        order = [row.id for row in results.listings]
        totals = [results.quotes[i].total_ore for i in order]
        assert totals == sorted(totals)
        assert order == [dear_night.id, cheap_night.id, overridden.id]
