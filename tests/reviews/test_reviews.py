"""Two-way reviews: who may review, the 14-day window, simultaneous reveal, one review per side,
one answer, the listing's averages, safe text, and the listing page's constant query count."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from rentalcoop.db import utcnow
from rentalcoop.extensions import db
from rentalcoop.outbox import OutboxMessage
from rentalcoop.reviews import services
from rentalcoop.reviews.models import CATEGORIES, Review, ReviewResponse
from rentalcoop.reviews.services import NotAParty, ReviewError
from tests import factories
from tests.helpers import csrf_token, login, post_form, text_of

# When the stay was completed: yesterday, so pages (which use the real clock) are in the window.
T0 = utcnow().replace(microsecond=0) - timedelta(days=1)
GUEST_STARS = {
    "cleanliness": 5,
    "accuracy": 4,
    "communication": 5,
    "location": 3,
    "check_in": 4,
    "value": 5,
}


@pytest.fixture
def stay(app):
    """A stay completed at T0: ids of the booking, its guest, host and listing."""
    with app.app_context():
        host = factories.host(name="Hanna Värd", email="hanna@example.org", locale="en")
        guest = factories.user(name="Gustav Gäst", email="gustav@example.org")
        home = factories.listing(host=host, title="Sjöbod")
        booking = factories.completed_stay(listing=home, guest=guest, completed_at=T0)
        db.session.commit()
        return {"booking": booking.id, "guest": guest.id, "host": host.id, "listing": home.id}


def _booking(ids):
    from rentalcoop.bookings.models import Booking

    return db.session.get(Booking, ids["booking"])


def _user(user_id):
    from rentalcoop.accounts.models import User

    return db.session.get(User, user_id)


# --- who may review, and when ----------------------------------------------------------------


def test_only_the_parties_of_a_completed_stay_can_review(app, client, stay):
    with app.app_context():
        from rentalcoop.listings.models import Listing

        other_guest = factories.user(email="other@example.org")
        factories.host(email="otherhost@example.org")
        factories.user(board=True, email="board@example.org")
        factories.user(municipality=True, email="town@example.org")
        confirmed = factories.booking(
            listing=db.session.get(Listing, stay["listing"]),
            guest=_user(stay["guest"]),
            state="confirmed",
        )
        db.session.commit()
        confirmed_id, other_guest_id = confirmed.id, other_guest.id
    url = f"/bookings/{stay['booking']}/review"
    for email in (
        "other@example.org",
        "otherhost@example.org",
        "board@example.org",
        "town@example.org",
    ):
        login(client, email)
        assert client.get(url).status_code == 403, email
        token = csrf_token(client, "/account")
        assert client.post(url, data={"csrf_token": token, "text": "x"}).status_code == 403, email
        client.post("/logout", data={"csrf_token": token})
    with app.app_context(), pytest.raises(NotAParty):
        services.write_review(
            _booking(stay), _user(other_guest_id), stars=GUEST_STARS, text="x", at=T0
        )
    # The guest of a stay that is not completed yet: 409.
    login(client, "gustav@example.org")
    assert client.get(f"/bookings/{confirmed_id}/review").status_code == 409
    assert client.get(url).status_code == 200


def test_the_window_is_fourteen_days_from_completion(app, stay):
    with app.app_context():
        booking = _booking(stay)
        assert services.window_closes(booking) == T0 + timedelta(days=14)
        with pytest.raises(ReviewError) as late:
            services.write_review(
                booking, booking.guest, stars=GUEST_STARS, text="Late", at=T0 + timedelta(days=14)
            )
        assert late.value.status_code == 409
        review = services.write_review(
            booking,
            booking.guest,
            stars=GUEST_STARS,
            text="Just in time",
            at=T0 + timedelta(days=14) - timedelta(seconds=1),
        )
        assert review.published_at == T0 + timedelta(days=14)


def test_window_falls_back_to_check_out_when_completion_time_is_missing(app, stay):
    with app.app_context():
        booking = _booking(stay)
        booking.completed_at = None
        opens = services.window_opens(booking)
        assert opens.date() == booking.check_out
        assert services.window_closes(booking) == opens + timedelta(days=14)


def test_outside_the_window_the_page_answers_409(app, client, stay):
    with app.app_context():
        _booking(stay).completed_at = utcnow() - timedelta(days=15)
        db.session.commit()
    login(client, "gustav@example.org")
    response = client.get(f"/bookings/{stay['booking']}/review?lang=en")
    assert response.status_code == 409
    assert "The 14 days to review this stay are over." in text_of(response)


# --- simultaneous reveal ---------------------------------------------------------------------


def test_reviews_are_hidden_until_both_are_in(app, stay):
    t1, t2 = T0 + timedelta(days=1), T0 + timedelta(days=3)
    with app.app_context():
        booking = _booking(stay)
        guest_review = factories.review(booking, side="guest", stars=GUEST_STARS, at=t1)
        # Written, but nobody else can read it yet: not the host, not the listing page.
        host_view = services.for_party(booking, booking.host, at=t1 + timedelta(hours=1))
        assert host_view.theirs is None
        assert host_view.theirs_waiting
        assert services.listing_summary(stay["listing"], at=t2 - timedelta(seconds=1)).count == 0
        assert services.listing_reviews(stay["listing"], at=t2 - timedelta(seconds=1)) == []
        # The author sees their own.
        assert services.for_party(booking, booking.guest, at=t1).mine.id == guest_review.id

        host_review = factories.review(booking, side="host", stars=4, at=t2)
        assert guest_review.published_at == host_review.published_at == t2
        assert services.for_party(booking, booking.host, at=t2).theirs.id == guest_review.id
        assert services.for_party(booking, booking.guest, at=t2).theirs.id == host_review.id
        assert services.listing_summary(stay["listing"], at=t2).count == 1


def test_a_lone_review_is_revealed_when_the_window_closes(app, stay):
    closes = T0 + timedelta(days=14)
    with app.app_context():
        booking = _booking(stay)
        factories.review(booking, side="host", stars=2, text="Left a mess", at=T0)
        assert (
            services.for_party(booking, booking.guest, at=closes - timedelta(seconds=1)).theirs
            is None
        )
        seen = services.for_party(booking, booking.guest, at=closes)
        assert seen.theirs is not None
        assert seen.theirs.text == "Left a mess"
        assert services.guest_record(stay["guest"], at=closes - timedelta(seconds=1)).count == 0
        assert services.guest_record(stay["guest"], at=closes).count == 1


def test_hidden_review_does_not_show_on_the_booking_page_before_reveal(app, client, stay):
    with app.app_context():
        factories.review(_booking(stay), side="host", stars=1, text="SECRET-HOST-WORDS")
        db.session.commit()
    login(client, "gustav@example.org")
    page = text_of(client.get(f"/bookings/{stay['booking']}?lang=en"))
    assert "SECRET-HOST-WORDS" not in page
    assert 'id="review-waiting"' in page
    assert 'id="write-review"' in page


# --- one review per side, one answer ---------------------------------------------------------


def test_one_review_per_side(app, stay):
    with app.app_context():
        booking = _booking(stay)
        factories.review(booking, side="guest", at=T0)
        with pytest.raises(ReviewError) as again:
            factories.review(booking, side="guest", at=T0 + timedelta(hours=1))
        assert again.value.status_code == 409
        db.session.commit()
    # The database refuses a second row for the same side even past the service.
    with app.app_context():
        booking = _booking(stay)
        db.session.add(
            Review(
                booking_id=booking.id,
                side="guest",
                author_id=booking.guest_id,
                subject_id=booking.host_id,
                listing_id=booking.listing_id,
                text="again",
                published_at=T0,
                **dict.fromkeys(CATEGORIES, 3),
            )
        )
        with pytest.raises(IntegrityError):
            db.session.flush()


def test_second_review_over_http_is_409(app, client, stay):
    with app.app_context():
        factories.review(_booking(stay), side="guest")
        db.session.commit()
    login(client, "gustav@example.org")
    assert client.get(f"/bookings/{stay['booking']}/review").status_code == 409


def test_stars_must_fit_the_side(app, stay):
    with app.app_context():
        booking = _booking(stay)
        with pytest.raises(ReviewError) as bad:
            services.write_review(
                booking, booking.guest, stars={**GUEST_STARS, "value": 6}, text="x", at=T0
            )
        assert bad.value.status_code == 422
        with pytest.raises(ReviewError):
            services.write_review(booking, booking.host, stars={"rating": 0}, text="x", at=T0)
        with pytest.raises(ReviewError):
            services.write_review(booking, booking.host, stars={"rating": 5}, text="  ", at=T0)


def test_the_reviewed_party_answers_once(app, stay):
    with app.app_context():
        booking = _booking(stay)
        review = factories.review(booking, side="guest", at=T0)
        with pytest.raises(ReviewError):  # not published yet
            services.answer_review(review, booking.host, "Thanks", at=T0 + timedelta(days=1))
        with pytest.raises(NotAParty):  # only the reviewed party answers
            services.answer_review(review, booking.guest, "Me", at=T0 + timedelta(days=15))
        services.answer_review(review, booking.host, "Thank you!", at=T0 + timedelta(days=15))
        with pytest.raises(ReviewError):
            services.answer_review(review, booking.host, "Again", at=T0 + timedelta(days=16))
        db.session.commit()
        review_id = review.id
    with app.app_context():
        db.session.add(ReviewResponse(review_id=review_id, author_id=stay["host"], text="x"))
        with pytest.raises(IntegrityError):
            db.session.flush()


def test_answer_over_http(app, client, stay):
    with app.app_context():
        booking = _booking(stay)
        factories.review(booking, side="guest", at=T0, text="Nice but noisy")
        factories.review(booking, side="host", at=T0 + timedelta(hours=1))
        review_id = db.session.scalar(select(Review.id).where(Review.side == "guest"))
        db.session.commit()
    login(client, "gustav@example.org")  # the author cannot answer their own review
    assert (
        client.post(
            f"/reviews/{review_id}/answer",
            data={"csrf_token": csrf_token(client, "/account"), "text": "x"},
        ).status_code
        == 403
    )
    client.post("/logout", data={"csrf_token": csrf_token(client, "/account")})
    login(client, "hanna@example.org")
    booking_url = f"/bookings/{stay['booking']}"
    assert f'action="/reviews/{review_id}/answer"' in text_of(client.get(booking_url))
    done = post_form(
        client,
        f"/reviews/{review_id}/answer",
        {"text": "We fixed the window."},
        form_url=booking_url,
    )
    assert done.status_code == 303
    again = post_form(
        client, f"/reviews/{review_id}/answer", {"text": "Twice"}, form_url=booking_url
    )
    assert again.status_code == 409
    page = text_of(client.get(f"/listings/{stay['listing']}?lang=en"))
    assert "We fixed the window." in page
    assert "Twice" not in page


# --- the listing page ------------------------------------------------------------------------


def _stays_with_reviews(app, listing_id, star_sets, at):
    with app.app_context():
        from rentalcoop.listings.models import Listing

        home = db.session.get(Listing, listing_id)
        for n, stars in enumerate(star_sets):
            guest = factories.user(name=f"Reviewer{n} Efternamn")
            booking = factories.completed_stay(
                listing=home,
                guest=guest,
                completed_at=at,
                check_in=(at - timedelta(days=40 + 3 * n)).date(),
            )
            factories.review(booking, side="guest", stars=stars, text=f"Review number {n}", at=at)
            factories.review(booking, side="host", stars=5, at=at)
        db.session.commit()


def test_average_overall_and_per_category(app, stay):
    sets = [
        GUEST_STARS,
        dict.fromkeys(CATEGORIES, 1),
        {
            "cleanliness": 2,
            "accuracy": 3,
            "communication": 4,
            "location": 5,
            "check_in": 1,
            "value": 2,
        },
    ]
    _stays_with_reviews(app, stay["listing"], sets, T0)
    with app.app_context():
        summary = services.listing_summary(stay["listing"], at=T0)
        assert summary.count == 3
        expected_overall = sum(sum(s.values()) / 6 for s in sets) / 3
        assert summary.overall == pytest.approx(expected_overall)
        for c in CATEGORIES:
            assert summary.categories[c] == pytest.approx(sum(s[c] for s in sets) / 3)
        # The host's rating of a guest never counts towards the home.
        assert all(r.side == "guest" for r in services.listing_reviews(stay["listing"], at=T0))


def test_listing_page_shows_average_and_pages(app, client, stay):
    sets = [dict.fromkeys(CATEGORIES, 4)] * 11 + [dict.fromkeys(CATEGORIES, 5)]
    _stays_with_reviews(app, stay["listing"], sets, T0)
    page = text_of(client.get(f"/listings/{stay['listing']}?lang=en"))
    assert "12 reviews" in page
    overall = re.search(r'data-overall="([0-9.]+)"', page).group(1)
    assert float(overall) == pytest.approx((11 * 4 + 5) / 12, abs=1e-4)
    assert page.count('class="review"') == services.PER_PAGE
    assert "Reviewer11" in page  # the newest first
    assert "Efternamn" not in page
    second = text_of(client.get(f"/listings/{stay['listing']}?lang=en&reviews_page=2"))
    assert second.count('class="review"') == 2
    assert "Page 2 of 2" in second
    # Out-of-range pages are clamped, not errors.
    assert client.get(f"/listings/{stay['listing']}?reviews_page=99").status_code == 200


def test_review_text_with_script_is_shown_inert(app, client, stay):
    evil = '<script>alert("x")</script><img src=x onerror=alert(1)>'
    with app.app_context():
        booking = _booking(stay)
        factories.review(booking, side="guest", text=evil, at=T0)
        factories.review(booking, side="host", text=evil, at=T0)
        db.session.commit()
    page = text_of(client.get(f"/listings/{stay['listing']}"))
    assert "<script>alert" not in page
    assert "<img src=x" not in page
    assert "&lt;script&gt;alert(&#34;x&#34;)&lt;/script&gt;" in page
    login(client, "hanna@example.org")
    host_page = text_of(client.get(f"/bookings/{stay['booking']}"))
    assert "<script>alert" not in host_page
    assert "&lt;script&gt;" in host_page


def test_listing_page_query_count_does_not_grow_with_reviews(app, client, count_queries, stay):
    with app.app_context():
        quiet = factories.listing(title="Quiet home")
        db.session.commit()
        quiet_id = quiet.id
    sets = [dict.fromkeys(CATEGORIES, 4)] * 14
    _stays_with_reviews(app, stay["listing"], sets, T0)
    with app.app_context():
        for review in db.session.scalars(select(Review).where(Review.side == "guest")):
            db.session.add(ReviewResponse(review_id=review.id, author_id=stay["host"], text="Tack"))
        db.session.commit()
    counts = []
    for listing_id in (quiet_id, stay["listing"]):
        with count_queries() as counter:
            assert client.get(f"/listings/{listing_id}").status_code == 200
        counts.append(counter.count)
    # With reviews: one aggregate query and one page query; without: the aggregate only.
    assert counts[1] == counts[0] + 1


# --- the journey over HTTP -------------------------------------------------------------------


def test_guest_then_host_review_by_form_and_mail_goes_out(app, client, stay):
    url = f"/bookings/{stay['booking']}/review"
    login(client, "gustav@example.org")
    invalid = post_form(client, url, {"text": "No stars"})
    assert invalid.status_code == 422
    done = post_form(client, url, {**GUEST_STARS, "text": "Cosy boathouse by the water."})
    assert done.status_code == 303
    with app.app_context():
        mail = db.session.scalars(
            select(OutboxMessage).where(OutboxMessage.template == "review_written")
        ).one()
        assert (mail.to_address, mail.locale) == ("hanna@example.org", "en")
    assert "Cosy boathouse" not in text_of(client.get(f"/listings/{stay['listing']}"))
    client.post("/logout", data={"csrf_token": csrf_token(client, "/account")})

    login(client, "hanna@example.org")
    assert "Cosy boathouse" not in text_of(client.get(f"/bookings/{stay['booking']}"))
    done = post_form(client, url, {"rating": "5", "text": "A considerate guest."})
    assert done.status_code == 303
    page = text_of(client.get(f"/listings/{stay['listing']}?lang=en"))
    assert "Cosy boathouse by the water." in page
    assert "1 review" in page
    booking_page = text_of(client.get(f"/bookings/{stay['booking']}"))
    assert "Cosy boathouse by the water." in booking_page
    with app.app_context():
        published = db.session.scalars(
            select(OutboxMessage).where(OutboxMessage.template == "reviews_published")
        ).one()
        assert published.to_address == "gustav@example.org"


def test_review_mails_render_in_both_languages(app, stay):
    from rentalcoop import mail

    with app.app_context(), app.test_request_context():
        for locale in ("sv", "en"):
            for template in ("review_written", "reviews_published"):
                message = mail.compose(
                    "x@example.org",
                    locale,
                    template,
                    booking_id=stay["booking"],
                    closes_at=(T0 + timedelta(days=14)).isoformat(),
                )
                assert "Sjöbod" in message["Subject"]
                assert f"/bookings/{stay['booking']}" in message.get_content()


def test_host_sees_a_guests_earlier_reviews_on_a_request(app, client, stay):
    with app.app_context():
        booking = _booking(stay)
        # An earlier stay whose window has closed: the host's lone review is published.
        earlier = factories.completed_stay(
            guest=booking.guest, completed_at=utcnow() - timedelta(days=30)
        )
        factories.review(
            earlier, side="host", stars=4, text="Tidy and friendly guest", at=earlier.completed_at
        )
        other_host = factories.host(email="next@example.org")
        home = factories.listing(host=other_host, is_instant_book=False)
        request = factories.booking(listing=home, guest=booking.guest, state="requested")
        request.expires_at = utcnow() + timedelta(hours=20)
        db.session.commit()
        request_id = request.id
    login(client, "next@example.org")
    page = text_of(client.get(f"/bookings/{request_id}?lang=en"))
    assert "Tidy and friendly guest" in page
    assert 'id="guest-reviews"' in page
    reservations = text_of(client.get("/host/reservations?lang=en"))
    assert "1 review from hosts" in reservations


def test_account_deletion_erases_review_words(app, stay):
    from rentalcoop.accounts.services import delete_account

    with app.app_context():
        booking = _booking(stay)
        factories.review(booking, side="guest", text="Words by the guest", at=T0)
        factories.review(booking, side="host", text="Words about the guest", at=T0)
        delete_account(booking.guest)
        db.session.commit()
        texts = set(db.session.scalars(select(Review.text)))
        assert texts == {""}
        # The stars of the home stay.
        assert services.listing_summary(stay["listing"], at=T0 + timedelta(days=20)).count == 1
