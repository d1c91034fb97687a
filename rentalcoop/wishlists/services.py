"""Saving and unsaving homes, and the list of them. Flush-only: the view commits."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from sqlalchemy import delete, func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import selectinload

from rentalcoop.accounts.models import User
from rentalcoop.db import lock_for_change
from rentalcoop.errors import DomainError
from rentalcoop.extensions import db
from rentalcoop.i18n import _l
from rentalcoop.listings import availability, pricing
from rentalcoop.listings.models import Listing, ListingState
from rentalcoop.wishlists.models import SavedHome

# A list is for choosing among homes, not for copying the town: the cap keeps one person's rows
# (and the Saved page) bounded.
SAVED_CAP = 500


class WishlistError(DomainError):
    status_code = 409


def save_home(user: User, listing: Listing) -> bool:
    """Save a published home for `user`; False when it was saved already. Refused past the cap.

    The person's row is held first, so two tabs saving at once count one after the other and
    the cap holds exactly."""
    lock_for_change(db.session, user)
    if listing.state != ListingState.PUBLISHED:
        raise WishlistError(_l("This home is not listed."))
    if saved_among(user.id, [listing.id]):
        return False
    if saved_count(user.id) >= SAVED_CAP:
        raise WishlistError(
            _l("You can save up to %(cap)s homes. Remove some before saving more."),
            cap=SAVED_CAP,
        )
    try:
        with db.session.begin_nested():
            db.session.add(SavedHome(user_id=user.id, listing_id=listing.id))
    except IntegrityError:  # saved meanwhile (a double click, another tab)
        return False
    return True


def unsave_home(user: User, listing_id: int) -> bool:
    """Take a home off the person's list; False when it was not on it."""
    removed = db.session.execute(
        delete(SavedHome).where(SavedHome.user_id == user.id, SavedHome.listing_id == listing_id)
    ).rowcount
    return bool(removed)


def saved_count(user_id: int) -> int:
    return db.session.scalar(
        select(func.count()).select_from(SavedHome).where(SavedHome.user_id == user_id)
    )


def saved_among(user_id: int, listing_ids) -> set[int]:
    """Which of these homes the person saved (the search cards' buttons: one query)."""
    ids = list(listing_ids)
    if not ids:
        return set()
    return set(
        db.session.scalars(
            select(SavedHome.listing_id).where(
                SavedHome.user_id == user_id, SavedHome.listing_id.in_(ids)
            )
        )
    )


@dataclass
class SavedEntry:
    listing: Listing
    # None without dates; else whether the stay can be booked as asked.
    is_available: bool | None
    problem: str | None = None


@dataclass
class SavedList:
    entries: list[SavedEntry]
    unlisted: int  # saved homes no longer published: counted, never shown


def saved_homes(
    user: User,
    check_in: date | None = None,
    check_out: date | None = None,
    guests: int | None = None,
) -> SavedList:
    """The person's saved homes that are still listed, newest saved first, each with whether
    it is free for the dates asked; homes taken off the market are only counted — their host
    may have unpublished them for a reason, and a draft is nobody else's business."""
    has_stay = check_in is not None and check_out is not None
    columns = [Listing]
    if has_stay:
        columns.append(availability.free_during(Listing.id, check_in, check_out).label("free"))
    rows = db.session.execute(
        select(*columns)
        .join(SavedHome, SavedHome.listing_id == Listing.id)
        .options(selectinload(Listing.photos), selectinload(Listing.area))
        .where(SavedHome.user_id == user.id, Listing.state == ListingState.PUBLISHED)
        .order_by(SavedHome.created_at.desc(), Listing.id.desc())
    ).all()
    listed = len(rows)
    entries = []
    today = pricing.coop_date()
    for row in rows:
        listing = row[0]
        if not has_stay:
            entries.append(SavedEntry(listing, None))
            continue
        problem = None
        if guests and guests > listing.max_guests:
            problem = str(_l("Too many guests for this home."))
        problem = problem or availability.stay_rule_problem(listing, check_in, check_out, today)
        if problem is None and not row.free:
            problem = str(_l("Taken on these dates."))
        entries.append(SavedEntry(listing, problem is None, problem and str(problem)))
    return SavedList(entries, saved_count(user.id) - listed)


def erase_user(user: User) -> None:
    """Account deletion: the list goes with the account."""
    db.session.execute(delete(SavedHome).where(SavedHome.user_id == user.id))
