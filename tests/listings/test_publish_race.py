"""One host publishing several drafts at once still gets no more than the per-host cap."""

import threading
import traceback

from sqlalchemy import func, select

from rentalcoop.extensions import db
from rentalcoop.listings.models import Listing, ListingState
from tests import factories
from tests.helpers import csrf_token, login

RACERS = 8
ROUNDS = 3  # without the lock, PostgreSQL let 2–5 of 8 through in about half of the rounds


def test_concurrent_publishes_keep_the_per_host_cap(app):
    assert app.config.get("MAX_ACTIVE_LISTINGS_PER_HOST", 1) == 1
    for round_ in range(ROUNDS):
        _race(app, f"racer{round_}@example.org")


def _race(app, email: str) -> None:
    with app.app_context():
        host = factories.host(email=email)
        area = factories.area()
        ids = [factories.listing(host=host, area=area, state="draft").id for _ in range(RACERS)]
        db.session.commit()
        host_id = host.id

    racers = []
    for listing_id in ids:
        client = app.test_client()
        login(client, email)
        racers.append((client, listing_id, csrf_token(client, "/")))

    barrier = threading.Barrier(RACERS)
    results: list = [None] * RACERS

    def race(n):
        client, listing_id, token = racers[n]
        barrier.wait()
        try:
            response = client.post(
                f"/host/listings/{listing_id}/publish", data={"csrf_token": token}
            )
            results[n] = response.status_code
        except Exception:  # noqa: BLE001 - reported below
            results[n] = traceback.format_exc()

    threads = [threading.Thread(target=race, args=(n,)) for n in range(RACERS)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)

    assert results == [303] * RACERS, results  # refusals are a message, never an error
    with app.app_context():
        published = db.session.scalar(
            select(func.count())
            .select_from(Listing)
            .where(Listing.host_id == host_id, Listing.state == ListingState.PUBLISHED)
        )
    assert published == 1


def test_pause_and_archive_at_once_never_bring_an_archived_listing_back(app):
    """Archived is final: a pause decided on the row as it was before the archive committed
    would turn the archived home back into a paused one."""
    for round_ in range(ROUNDS):
        assert _pause_and_archive(app, f"twotabs{round_}@example.org") == ListingState.ARCHIVED


def _pause_and_archive(app, email: str) -> str:
    with app.app_context():
        host = factories.host(email=email)
        listing = factories.listing(host=host, state="published")
        db.session.commit()
        listing_id = listing.id
    tabs = []
    for action in ("pause", "archive"):
        client = app.test_client()
        login(client, email)
        tabs.append((client, action, csrf_token(client, "/")))
    barrier = threading.Barrier(len(tabs))
    results: dict = {}

    def act(client, action, token):
        barrier.wait()
        try:
            response = client.post(
                f"/host/listings/{listing_id}/{action}", data={"csrf_token": token}
            )
            results[action] = response.status_code
        except Exception:  # noqa: BLE001 - reported below
            results[action] = traceback.format_exc()

    threads = [threading.Thread(target=act, args=tab) for tab in tabs]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    assert set(results.values()) <= {303, 409}, results
    with app.app_context():
        return db.session.scalar(select(Listing.state).where(Listing.id == listing_id))
