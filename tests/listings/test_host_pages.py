"""Hosts create, publish, edit and pause listings with photos; nobody else can touch them."""

from __future__ import annotations

import re
from datetime import date, timedelta
from io import BytesIO
from pathlib import Path

import pytest
from PIL import Image
from sqlalchemy import select

from rentalcoop.extensions import db
from rentalcoop.listings.models import BlockedNight, Listing, ListingPhoto, ListingState, NightPrice
from rentalcoop.listings.pricing import coop_date
from tests import factories
from tests.helpers import csrf_token, login, post_form, submit_unchanged, text_of
from tests.listings.images import jpeg_with_exif, png, webp


def listing_form(area_code: str, **changes) -> dict:
    data = {
        "title": "Stuga vid sjön",
        "description": "Lugnt och skönt vid vattnet.",
        "property_type": "entire_home",
        "area": area_code,
        "street_address": "Sjövägen 1",
        "registration_number": "",
        "max_guests": "4",
        "bedrooms": "2",
        "beds": "3",
        "bathrooms": "1",
        "amenities": ["wifi", "sauna"],
        "house_rules": "Inga fester.",
        "check_in_time": "15:00",
        "check_out_time": "11:00",
        "nightly_price": "850",
        "cleaning_fee": "300,50",
        "min_nights": "2",
        "max_nights": "14",
        "advance_notice_days": "1",
        "booking_window_months": "12",
        "is_instant_book": "y",
        "cancellation_policy": "firm",
    }
    data.update(changes)
    return data


@pytest.fixture
def setting(app):
    """Two host-members, a guest, an area with and one without a registration scheme."""
    with app.app_context():
        ids = {
            "host": factories.host(email="anna@example.org", name="Anna Host").id,
            "other": factories.host(email="olle@example.org", name="Olle Other").id,
            "guest": factories.user(email="gus@example.org").id,
            "area": factories.area(code="EKB04", name="Söder").code,
            "regarea": factories.area(
                code="EKB01", name="Gamla stan", requires_registration=True
            ).code,
        }
        db.session.commit()
    return ids


def _action(client, url: str, **data):
    """POST a button form with the session's CSRF token (from the account menu)."""
    return client.post(url, data={"csrf_token": csrf_token(client, "/"), **data})


def _upload(client, listing_id: int, body: bytes, name: str = "photo.jpg", alt: str = ""):
    token = csrf_token(client, f"/host/listings/{listing_id}/photos")
    return client.post(
        f"/host/listings/{listing_id}/photos",
        data={"csrf_token": token, "alt_text": alt, "photo": (BytesIO(body), name)},
        content_type="multipart/form-data",
    )


def _listing(app, listing_id: int) -> Listing:
    with app.app_context():
        listing = db.session.get(Listing, listing_id)
        db.session.expunge(listing)
        return listing


def test_host_creates_publishes_edits_and_pauses_a_listing_with_photos(app, client, setting):
    login(client, "anna@example.org")
    assert client.get("/host/listings").status_code == 200
    response = post_form(client, "/host/listings/new", listing_form(setting["area"]))
    assert response.status_code == 303
    listing_id = int(re.search(r"/host/listings/(\d+)/photos", response.location).group(1))
    created = _listing(app, listing_id)
    assert created.state == "draft"
    assert created.nightly_price_ore == 85_000
    assert created.cleaning_fee_ore == 30_050
    assert created.amenities == ["wifi", "sauna"]
    assert created.cancellation_policy == "firm"
    assert created.min_nights == 2
    assert created.max_nights == 14

    assert _upload(client, listing_id, jpeg_with_exif(), alt="Stugan från sjön").status_code == 303
    assert _upload(client, listing_id, png()).status_code == 303
    assert _upload(client, listing_id, webp(), name="no-extension").status_code == 303
    page = text_of(client.get(f"/host/listings/{listing_id}/photos"))
    assert "Stugan från sjön" in page

    # A draft is invisible to guests, visible to its host as a preview.
    assert "Stuga vid sjön" not in text_of(client.get("/?lang=en"))
    assert client.get(f"/listings/{listing_id}").status_code == 200

    assert _action(client, f"/host/listings/{listing_id}/publish").status_code == 303
    assert _listing(app, listing_id).state == "published"
    assert _listing(app, listing_id).published_at is not None

    guest = app.test_client()
    home = text_of(guest.get("/?lang=en"))
    assert "Stuga vid sjön" in home
    page = text_of(guest.get(f"/listings/{listing_id}?lang=en"))
    assert "Stugan från sjön" in page  # alt text
    assert "Sauna" in page
    assert "Inga fester." in page
    assert "30 days before check-in" in page  # the firm policy in words
    assert "Sjövägen" not in page  # the address waits for a confirmed booking

    form = listing_form(setting["area"], title="Stuga vid sjön, nyrenoverad", nightly_price="900")
    response = post_form(client, f"/host/listings/{listing_id}/edit", form)
    assert response.status_code == 303
    edited = _listing(app, listing_id)
    assert edited.title == "Stuga vid sjön, nyrenoverad"
    assert edited.nightly_price_ore == 90_000
    assert edited.state == "published"

    assert _action(client, f"/host/listings/{listing_id}/pause").status_code == 303
    assert _listing(app, listing_id).state == "paused"
    assert "nyrenoverad" not in text_of(guest.get("/"))
    assert guest.get(f"/listings/{listing_id}").status_code == 404
    # Resume, then archive for good.
    assert _action(client, f"/host/listings/{listing_id}/publish").status_code == 303
    assert _listing(app, listing_id).state == "published"
    assert _action(client, f"/host/listings/{listing_id}/archive").status_code == 303
    assert _listing(app, listing_id).state == "archived"
    assert _action(client, f"/host/listings/{listing_id}/publish").status_code == 303
    assert _listing(app, listing_id).state == "archived"


def test_invalid_listing_form_is_422_and_keeps_what_was_typed(client, setting):
    login(client, "anna@example.org")
    form = listing_form(
        setting["area"], title="Mitt hus", nightly_price="åtta", min_nights="5", max_nights="2"
    )
    response = post_form(client, "/host/listings/new?lang=en", form)
    assert response.status_code == 422
    page = text_of(response)
    assert 'value="Mitt hus"' in page
    assert 'value="åtta"' in page
    assert "Enter an amount in kronor" in page
    assert "The longest stay cannot be shorter than the shortest stay." in page
    with client.application.app_context():
        assert db.session.scalar(select(Listing.id)) is None


def test_only_members_may_create_listings(client, setting):
    login(client, "gus@example.org")
    assert client.get("/host/listings/new").status_code == 403
    response = client.post(
        "/host/listings/new",
        data={"csrf_token": csrf_token(client, "/"), **listing_form(setting["area"])},
    )
    assert response.status_code == 403
    assert client.get("/host/listings").status_code == 200  # shows how to become a member


def test_anonymous_visitors_are_sent_to_log_in(client):
    response = client.get("/host/listings/new")
    assert response.status_code == 302
    assert "/login" in response.location


def test_registration_number_required_where_the_area_demands_it(app, client, setting):
    login(client, "anna@example.org")
    response = post_form(client, "/host/listings/new", listing_form(setting["regarea"]))
    listing_id = int(re.search(r"/host/listings/(\d+)/", response.location).group(1))
    response = _action(client, f"/host/listings/{listing_id}/publish?lang=en")
    assert response.status_code == 303
    assert "requires a registration number" in text_of(client.get("/host/listings?lang=en"))
    assert _listing(app, listing_id).state == "draft"

    form = listing_form(setting["regarea"], registration_number="EKB-2026-0042")
    assert post_form(client, f"/host/listings/{listing_id}/edit", form).status_code == 303
    assert _action(client, f"/host/listings/{listing_id}/publish").status_code == 303
    assert _listing(app, listing_id).state == "published"
    # Removing the number from a published listing there is refused.
    response = post_form(
        client, f"/host/listings/{listing_id}/edit?lang=en", listing_form(setting["regarea"])
    )
    assert response.status_code == 422
    assert "requires a registration number" in text_of(response)
    assert _listing(app, listing_id).registration_number == "EKB-2026-0042"


def test_one_host_one_home(app, client, setting):
    with app.app_context():
        host = db.session.get(factories.User, setting["host"])
        first = factories.listing(host=host, title="Första hemmet")
        second = factories.listing(host=host, title="Andra hemmet", state="draft")
        db.session.commit()
        first_id, second_id = first.id, second.id
    login(client, "anna@example.org")
    _action(client, f"/host/listings/{second_id}/publish")
    assert "published listing per host" in text_of(client.get("/host/listings?lang=en"))
    assert _listing(app, second_id).state == "draft"
    assert _action(client, f"/host/listings/{first_id}/pause").status_code == 303
    assert _action(client, f"/host/listings/{second_id}/publish").status_code == 303
    assert _listing(app, second_id).state == "published"
    _action(client, f"/host/listings/{first_id}/publish")  # resuming counts too
    assert _listing(app, first_id).state == "paused"


@pytest.mark.parametrize("app_config", [{"MAX_ACTIVE_LISTINGS_PER_HOST": 2}])
def test_the_cap_is_a_setting(app, client, setting, app_config):
    with app.app_context():
        host = db.session.get(factories.User, setting["host"])
        factories.listing(host=host)
        second = factories.listing(host=host, state="draft")
        db.session.commit()
        second_id = second.id
    login(client, "anna@example.org")
    _action(client, f"/host/listings/{second_id}/publish")
    assert _listing(app, second_id).state == "published"


def test_a_file_that_is_not_an_image_gets_a_clear_message(app, client, setting):
    with app.app_context():
        home = factories.listing(host=db.session.get(factories.User, setting["host"]))
        db.session.commit()
        listing_id = home.id
    login(client, "anna@example.org")
    for body, name in [
        (b"%PDF-1.7 not a photo", "holiday.jpg"),
        (b"<html><script>alert(1)</script></html>", "x.png"),
        (jpeg_with_exif()[:400], "truncated.jpg"),
        (b"GIF89a" + b"\x00" * 100, "anim.gif"),
    ]:
        response = _upload(client, listing_id, body, name=name)
        assert response.status_code == 422, name
        assert "inte en bild som vi kan använda" in text_of(response), name  # Swedish by default
    with app.app_context():
        assert db.session.scalar(select(ListingPhoto.id)) is None
    assert not list((Path(app.config["UPLOAD_DIR"]) / "listings").glob("*"))


def test_not_an_image_message_in_english(app, client, setting):
    with app.app_context():
        home = factories.listing(host=db.session.get(factories.User, setting["host"]))
        db.session.commit()
        listing_id = home.id
    login(client, "anna@example.org")
    client.get("/?lang=en")
    response = _upload(client, listing_id, b"plain text, not pixels", name="photo.jpg")
    assert response.status_code == 422
    assert "That file is not a photo we can use" in text_of(response)


def test_too_many_pixels_is_refused(app, client, setting):
    with app.app_context():
        home = factories.listing(host=db.session.get(factories.User, setting["host"]))
        db.session.commit()
        listing_id = home.id
    login(client, "anna@example.org")
    client.get("/?lang=en")
    response = _upload(client, listing_id, png(size=(9000, 8000), mode="1"), name="big.png")
    assert response.status_code == 422
    assert "too many pixels" in text_of(response)


def test_photos_are_reencoded_without_exif_and_served_with_cache_headers(app, client, setting):
    with app.app_context():
        home = factories.listing(host=db.session.get(factories.User, setting["host"]))
        db.session.commit()
        listing_id = home.id
    login(client, "anna@example.org")
    assert _upload(client, listing_id, jpeg_with_exif(size=(3000, 2000))).status_code == 303
    with app.app_context():
        photo = db.session.scalar(select(ListingPhoto))
        token, width, height = photo.token, photo.width, photo.height
        upload_dir = Path(app.config["UPLOAD_DIR"]) / "listings"
    assert (width, height) == (1600, 1067)
    stored = sorted(p.name for p in upload_dir.iterdir())
    assert stored == [f"{token}-{v}.jpg" for v in ("l", "m", "s")]
    for variant, longest in (("l", 1600), ("m", 800), ("s", 400)):
        response = app.test_client().get(f"/media/photos/{token}-{variant}.jpg")
        assert response.status_code == 200
        assert response.mimetype == "image/jpeg"
        cache = response.headers["Cache-Control"]
        assert "public" in cache
        assert "max-age=31536000" in cache
        assert "immutable" in cache
        body = response.get_data()
        assert b"SpyCam" not in body
        assert b"SecretSoft" not in body
        with Image.open(BytesIO(body)) as image:
            assert max(image.size) == longest
            assert dict(image.getexif()) == {}
        response.close()
    assert app.test_client().get(f"/media/photos/{token}-x.jpg").status_code == 404
    assert app.test_client().get("/media/photos/..%2Fetc-l.jpg").status_code == 404


def test_photos_reorder_alt_text_and_delete(app, client, setting):
    with app.app_context():
        home = factories.listing(host=db.session.get(factories.User, setting["host"]))
        db.session.commit()
        listing_id = home.id
    login(client, "anna@example.org")
    for n in range(3):
        _upload(client, listing_id, webp(size=(400 + n, 300)), alt=f"photo {n}")

    def order():
        with app.app_context():
            photos = db.session.scalars(
                select(ListingPhoto)
                .where(ListingPhoto.listing_id == listing_id)
                .order_by(ListingPhoto.position)
            ).all()
            return [(p.id, p.position, p.alt_text, p.token) for p in photos]

    first, second, third = order()
    base = f"/host/listings/{listing_id}/photos"
    assert _action(client, f"{base}/{third[0]}/move", direction="up").status_code == 303
    assert [p[2] for p in order()] == ["photo 0", "photo 2", "photo 1"]
    assert _action(client, f"{base}/{second[0]}/move", direction="first").status_code == 303
    assert [p[2] for p in order()] == ["photo 1", "photo 0", "photo 2"]
    assert [p[1] for p in order()] == [0, 1, 2]
    assert _action(client, f"{base}/{first[0]}", alt_text="Köket").status_code == 303
    assert "Köket" in [p[2] for p in order()]
    assert _action(client, f"{base}/{first[0]}/delete").status_code == 303
    assert [p[2] for p in order()] == ["photo 1", "photo 2"]
    assert [p[1] for p in order()] == [0, 1]
    upload_dir = Path(app.config["UPLOAD_DIR"]) / "listings"
    assert not list(upload_dir.glob(f"{first[3]}-*"))


def test_host_calendar_blocks_prices_and_rules(app, client, setting):
    with app.app_context():
        home = factories.listing(
            host=db.session.get(factories.User, setting["host"]), nightly_price_ore=80_000
        )
        db.session.commit()
        listing_id = home.id
    today = coop_date()
    start = today + timedelta(days=20)
    login(client, "anna@example.org")
    base = f"/host/listings/{listing_id}/calendar"
    month = start.strftime("%Y-%m")
    assert client.get(f"{base}?month={month}").status_code == 200
    response = _action(
        client,
        f"{base}/block",
        first=start.isoformat(),
        last=(start + timedelta(days=3)).isoformat(),
        action="block",
    )
    assert response.status_code == 303
    _action(
        client,
        f"{base}/block",
        first=(start + timedelta(days=1)).isoformat(),
        last=(start + timedelta(days=2)).isoformat(),
        action="unblock",
    )
    _action(
        client,
        f"{base}/prices",
        first=start.isoformat(),
        last=(start + timedelta(days=1)).isoformat(),
        price="1 250",
    )
    _action(
        client,
        f"{base}/rules",
        min_nights="2",
        max_nights="10",
        advance_notice_days="3",
        booking_window_months="6",
    )
    with app.app_context():
        blocked = set(db.session.scalars(select(BlockedNight.night)))
        prices = dict(db.session.execute(select(NightPrice.night, NightPrice.price_ore)).all())
        listing = db.session.get(Listing, listing_id)
        rules = (
            listing.min_nights,
            listing.max_nights,
            listing.advance_notice_days,
            listing.booking_window_months,
        )
    assert blocked == {start, start + timedelta(days=3)}
    assert prices == {start: 125_000, start + timedelta(days=1): 125_000}
    assert rules == (2, 10, 3, 6)
    page = text_of(client.get(f"{base}?month={month}"))
    assert f'data-night="{start.isoformat()}" data-state="blocked"' in page
    assert f'data-night="{(start + timedelta(days=1)).isoformat()}" data-state="free"' in page
    assert "day--override" in page
    # Back to the usual price.
    _action(client, f"{base}/prices", first=start.isoformat(), last=start.isoformat(), price="")
    with app.app_context():
        assert db.session.scalar(select(NightPrice.night)) == start + timedelta(days=1)
    # Invalid ranges: 422, the form kept.
    response = _action(
        client,
        f"{base}/block?lang=en",
        first=start.isoformat(),
        last=(start - timedelta(days=1)).isoformat(),
        action="block",
    )
    assert response.status_code == 422
    assert "The last night cannot be before the first night." in text_of(response)
    response = _action(
        client,
        f"{base}/rules?lang=en",
        min_nights="5",
        max_nights="2",
        advance_notice_days="0",
        booking_window_months="30",
    )
    assert response.status_code == 422


def test_another_host_gets_403_on_every_page_and_action(app, client, setting):
    with app.app_context():
        home = factories.listing(host=db.session.get(factories.User, setting["host"]))
        db.session.commit()
        listing_id = home.id
    owner = app.test_client()
    login(owner, "anna@example.org")
    _upload(owner, listing_id, webp())
    with app.app_context():
        photo_id = db.session.scalar(select(ListingPhoto.id))
    login(client, "olle@example.org")
    day = (date.today() + timedelta(days=30)).isoformat()
    base = f"/host/listings/{listing_id}"
    pages = [f"{base}/edit", f"{base}/photos", f"{base}/calendar"]
    for url in pages:
        assert client.get(url).status_code == 403, url
    actions = {
        f"{base}/edit": listing_form(setting["area"], title="Kapad"),
        f"{base}/publish": {},
        f"{base}/pause": {},
        f"{base}/archive": {},
        f"{base}/photos": {"photo": (BytesIO(webp()), "x.webp")},
        f"{base}/photos/{photo_id}": {"alt_text": "Kapad"},
        f"{base}/photos/{photo_id}/move": {"direction": "down"},
        f"{base}/photos/{photo_id}/delete": {},
        f"{base}/calendar/block": {"first": day, "last": day, "action": "block"},
        f"{base}/calendar/prices": {"first": day, "last": day, "price": "1"},
        f"{base}/calendar/rules": {
            "min_nights": "1",
            "max_nights": "2",
            "advance_notice_days": "0",
            "booking_window_months": "1",
        },
    }
    for url, data in actions.items():
        response = client.post(
            url,
            data={"csrf_token": csrf_token(client, "/"), **data},
            content_type="multipart/form-data",
        )
        assert response.status_code == 403, url
    # Nothing changed.
    listing = _listing(app, listing_id)
    assert listing.title != "Kapad"
    assert listing.state == "published"
    with app.app_context():
        assert db.session.scalar(select(ListingPhoto.alt_text)) == ""
        assert db.session.scalar(select(BlockedNight.night)) is None
    # A missing listing is 404, not 403.
    assert client.get("/host/listings/999999/edit").status_code == 404
    # The owner's photo id under another host's listing is 404.
    with app.app_context():
        theirs = factories.listing(
            host=db.session.get(factories.User, setting["other"]), state="draft"
        )
        db.session.commit()
        their_id = theirs.id
    response = client.post(
        f"/host/listings/{their_id}/photos/{photo_id}/delete",
        data={"csrf_token": csrf_token(client, "/")},
    )
    assert response.status_code == 404


def test_editing_a_published_listing_does_not_recheck_the_cap(app, rctx, setting):
    from rentalcoop.listings import services

    host = db.session.get(factories.User, setting["host"])
    first = factories.listing(host=host, title="Ett")
    factories.listing(host=host, title="Två")  # published before the cap was lowered
    services.update_listing(first, {"title": "Ett, nymålat"})
    assert first.title == "Ett, nymålat"
    services.change_state(first, ListingState.ARCHIVED, host)
    with pytest.raises(services.ListingError):
        services.change_state(first, ListingState.PUBLISHED, host)  # archived is final
    with pytest.raises(services.ListingError):
        services.update_listing(first, {"title": "Tre"})


def test_editing_a_listing_saves_unchanged_the_first_time(app, client, setting):
    """Issue 16, observation 2: the edit form opened with no district chosen (the form got
    the Area object before the code), so saving it unchanged said "required"."""
    with app.app_context():
        host = db.session.get(factories.User, setting["host"])
        area = db.session.scalar(select(factories.Area).filter_by(code=setting["area"]))
        home = factories.listing(
            host=host, area=area, street_address="Sjövägen 1", description="Vid sjön."
        )
        db.session.commit()
        listing_id = home.id
    login(client, "anna@example.org")
    before = _listing(app, listing_id)
    page = text_of(client.get(f"/host/listings/{listing_id}/edit"))
    assert re.search(rf'<option selected value="{setting["area"]}">', page)
    response = submit_unchanged(client, f"/host/listings/{listing_id}/edit")
    assert response.status_code == 303, text_of(response)
    after = _listing(app, listing_id)
    assert after.area_id == before.area_id
    assert after.nightly_price_ore == before.nightly_price_ore
