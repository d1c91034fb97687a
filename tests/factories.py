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
