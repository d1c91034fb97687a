"""Small factories for models. Call inside an application context; they flush, not commit."""

from __future__ import annotations

import itertools
from datetime import date

from rentalcoop.accounts.models import User
from rentalcoop.accounts.services import hash_password
from rentalcoop.extensions import db
from rentalcoop.listings.models import Area, Listing, ListingState
from rentalcoop.membership import services as membership

PASSWORD = "correct horse battery"
_seq = itertools.count(1)


def user(
    *,
    name: str | None = None,
    email: str | None = None,
    locale: str = "sv",
    board: bool = False,
    municipality: bool = False,
    member: bool = False,
) -> User:
    n = next(_seq)
    person = User(
        name=name or f"Person {n}",
        email=email or f"person{n}@example.org",
        password_hash=hash_password(PASSWORD),
        locale=locale,
        is_board=board,
        is_municipality=municipality,
    )
    db.session.add(person)
    db.session.flush()
    if member or board:
        membership.admit(person, None, joined_on=date(2025, 1, 1))
    return person


def host(**kwargs) -> User:
    return user(member=True, **kwargs)


def area(
    *, code: str | None = None, name: str | None = None, requires_registration: bool = False
) -> Area:
    n = next(_seq)
    place = Area(
        code=code or f"T{n:04d}",
        name=name or f"District {n}",
        requires_registration=requires_registration,
    )
    db.session.add(place)
    db.session.flush()
    return place


def listing(*, host: User | None = None, area: Area | None = None, **fields) -> Listing:
    from tests import factories

    fields.setdefault("title", f"Home {next(_seq)}")
    fields.setdefault("nightly_price_ore", 80_000)
    fields.setdefault("max_guests", 2)
    fields.setdefault("state", ListingState.PUBLISHED)
    home = Listing(host=host or factories.host(), area=area or factories.area(), **fields)
    db.session.add(home)
    db.session.flush()
    return home


def blocked(home: Listing, *nights: date) -> None:
    """Host-blocked nights of `home`."""
    from rentalcoop.listings.models import BlockedNight

    db.session.add_all(BlockedNight(listing_id=home.id, night=night) for night in nights)
    db.session.flush()


def night_price(home: Listing, night: date, price_ore: int) -> None:
    """A per-night price override."""
    from rentalcoop.listings.models import NightPrice

    db.session.add(NightPrice(listing_id=home.id, night=night, price_ore=price_ore))
    db.session.flush()


def fee_version(effective_from: date, fee_bps: int, community_bps: int = 5000, vat_bps: int = 2500):
    """A later fee schedule version (as a meeting decision would add)."""
    from rentalcoop.listings.models import FeeScheduleVersion

    version = FeeScheduleVersion(
        effective_from=effective_from,
        fee_bps=fee_bps,
        community_bps=community_bps,
        vat_bps=vat_bps,
        decided_by="test meeting",
    )
    db.session.add(version)
    db.session.flush()
    return version


def booking(
    *,
    listing: Listing | None = None,
    guest: User | None = None,
    check_in: date | None = None,
    nights: int = 3,
    guests: int = 1,
    state: str = "confirmed",
    paid: bool | None = None,
    created_at=None,
):
    """A booking priced by `quote` and holding its nights, written straight to the database
    (for tests that start mid-lifecycle). Use the services to test the lifecycle itself."""
    from datetime import timedelta

    from rentalcoop.bookings.models import BookingEvent, BookingState
    from rentalcoop.bookings.services import hold_nights, new_booking
    from rentalcoop.db import utcnow
    from rentalcoop.listings.pricing import quote
    from tests import factories

    home = listing or factories.listing()
    person = guest or factories.user()
    start = check_in or (utcnow().date() + timedelta(days=30))
    end = start + timedelta(days=nights)
    made = created_at or utcnow()
    q = quote(home, start, end, guests, at=made)
    state = BookingState(state)
    if paid is None:
        paid = state in (BookingState.CONFIRMED, BookingState.COMPLETED)
    row = new_booking(home, person, q, state=state, at=made)
    row.paid_at = made if paid else None
    if state == BookingState.PENDING_PAYMENT:
        row.expires_at = made + timedelta(minutes=30)
    db.session.add(row)
    db.session.flush()
    db.session.add(BookingEvent(booking=row, to_state=state, actor_kind="system"))
    if row.is_holding:
        hold_nights(row)
    db.session.flush()
    if paid:
        # A paid booking's money is in the books, as the payment service would have posted it.
        from rentalcoop.ledger import services as ledger

        ledger.post_payment_received(row)
    return row


# --- reviews and messages (issue 8) ---------------------------------------------------------


def completed_stay(
    *,
    listing: Listing | None = None,
    guest: User | None = None,
    completed_at=None,
    nights: int = 2,
    check_in: date | None = None,
):
    """A stay that ended and was completed at `completed_at` (default: just now)."""
    from datetime import timedelta

    from rentalcoop.db import utcnow

    done = completed_at or utcnow()
    start = check_in or (done.date() - timedelta(days=nights))
    stay = booking(
        listing=listing,
        guest=guest,
        check_in=start,
        nights=nights,
        state="completed",
        created_at=done - timedelta(days=nights + 10),
    )
    stay.completed_at = done
    db.session.flush()
    return stay


def review(
    stay, *, side: str = "guest", stars: int | dict = 5, text: str = "Lovely stay.", at=None
):
    """A review written through the service (so the reveal rules apply)."""
    from rentalcoop.reviews import services
    from rentalcoop.reviews.models import CATEGORIES

    author = stay.guest if side == "guest" else stay.host
    if isinstance(stars, int):
        stars = {c: stars for c in CATEGORIES} if side == "guest" else {"rating": stars}
    return services.write_review(stay, author, stars=stars, text=text, at=at)


def message(stay, *, sender: User | None = None, body: str = "Hej!", at=None):
    from rentalcoop.messaging import services

    return services.send_message(stay, sender or stay.guest, body, at=at)


def community_project(*, id: int | None = None, title: str | None = None):
    """An approved community-fund project (guests can choose it when booking)."""
    from rentalcoop.db import utcnow
    from rentalcoop.governance.models import CommunityProject, ProjectState

    project = CommunityProject(
        id=id,
        title=title or f"Project {next(_seq)}",
        state=ProjectState.APPROVED,
        approved_at=utcnow(),
    )
    db.session.add(project)
    db.session.flush()
    return project
