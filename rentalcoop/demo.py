"""`flask demo-data`: a small, realistic demo town, loaded once (development only)."""

from __future__ import annotations

import random
from datetime import date

import click
from flask import Flask, current_app
from sqlalchemy import select

from rentalcoop.accounts.models import User
from rentalcoop.accounts.services import hash_password
from rentalcoop.extensions import db
from rentalcoop.listings.models import Area, Listing, ListingState, PropertyType
from rentalcoop.membership import services as membership

DEMO_PASSWORD = "demo-password-2026"  # noqa: S105 - published demo log-in, refused in production
BOARD_EMAIL = "board@example.org"
MUNICIPALITY_EMAIL = "municipality@example.org"
HOSTS = 30
GUESTS = 20

# The districts of the demo town (Ekby) with their statistics codes. Registration of short-term
# rentals is required in the old town and by the harbour, as Swedish municipalities may decide.
DISTRICTS = [
    ("EKB01", "Gamla stan", True),
    ("EKB02", "Hamnen", True),
    ("EKB03", "Norrmalm", False),
    ("EKB04", "Söder", False),
    ("EKB05", "Väster", False),
    ("EKB06", "Skogsby", False),
    ("EKB07", "Strandvik", False),
    ("EKB08", "Kyrkbacken", False),
]

FIRST_NAMES = [
    "Anna",
    "Erik",
    "Maria",
    "Lars",
    "Karin",
    "Johan",
    "Eva",
    "Anders",
    "Sara",
    "Per",
    "Lena",
    "Mikael",
    "Emma",
    "Nils",
    "Ingrid",
    "Oskar",
    "Elin",
    "Gustav",
    "Maja",
    "Karl",
    "Astrid",
    "Olof",
    "Frida",
    "Sven",
    "Ida",
    "Henrik",
    "Linnea",
    "Björn",
    "Sofia",
    "Axel",
    "Amira",
    "Yusuf",
    "Leila",
    "Ahmed",
    "Noor",
    "Mateo",
    "Aino",
    "Jonas",
    "Wilma",
    "Hugo",
]
LAST_NAMES = [
    "Andersson",
    "Johansson",
    "Karlsson",
    "Nilsson",
    "Eriksson",
    "Larsson",
    "Olsson",
    "Persson",
    "Svensson",
    "Gustafsson",
    "Pettersson",
    "Lindberg",
    "Lindqvist",
    "Berg",
    "Holm",
    "Sandberg",
]
HOMES = [
    ("Ljus tvåa med balkong", "Bright two-room flat with a balcony", PropertyType.ENTIRE_HOME, 3),
    ("Röd stuga vid skogen", "Red cottage by the forest", PropertyType.ENTIRE_HOME, 5),
    ("Rum i villa nära stranden", "Room in a house near the beach", PropertyType.PRIVATE_ROOM, 2),
    (
        "Sekelskifteslägenhet i centrum",
        "Turn-of-the-century flat in the centre",
        PropertyType.ENTIRE_HOME,
        4,
    ),
    ("Sjöbod vid hamnen", "Boathouse by the harbour", PropertyType.ENTIRE_HOME, 2),
    ("Gästrum med egen ingång", "Guest room with its own entrance", PropertyType.PRIVATE_ROOM, 2),
    ("Familjevänligt radhus", "Family-friendly terraced house", PropertyType.ENTIRE_HOME, 6),
    ("Bädd i delat vandrarrum", "Bed in a shared hostel-style room", PropertyType.SHARED_ROOM, 1),
    ("Vindsvåning med utsikt", "Attic flat with a view", PropertyType.ENTIRE_HOME, 2),
    ("Torp med bastu", "Croft with a sauna", PropertyType.ENTIRE_HOME, 6),
]


def _user(email: str, name: str, password_hash: str, locale: str = "sv") -> User:
    user = User(email=email, name=name, password_hash=password_hash, locale=locale)
    db.session.add(user)
    return user


def load_demo_data() -> bool:
    """Create the demo town unless it is already there; True when something was created."""
    if db.session.scalar(select(User).where(User.email == BOARD_EMAIL)) is not None:
        return False
    rng = random.Random(2026)  # the same town every time
    password_hash = hash_password(DEMO_PASSWORD)
    founded = date(2024, 3, 1)

    areas = [Area(code=code, name=name, requires_registration=req) for code, name, req in DISTRICTS]
    db.session.add_all(areas)

    board = _user(BOARD_EMAIL, "Birgitta Styrelse", password_hash)
    board.is_board = True
    db.session.flush()
    membership.admit(board, None, joined_on=founded)

    municipality = _user(MUNICIPALITY_EMAIL, "Ekby kommun, samhällsbyggnad", password_hash)
    municipality.is_municipality = True

    hosts = []
    for n in range(1, HOSTS + 1):
        name = f"{rng.choice(FIRST_NAMES)} {rng.choice(LAST_NAMES)}"
        host = _user(
            f"host{n}@example.org", name, password_hash, locale="en" if n % 7 == 0 else "sv"
        )
        hosts.append(host)
    db.session.flush()
    for n, host in enumerate(hosts, start=1):
        membership.admit(host, board, joined_on=date(2024 + (n > 20), 1 + n % 12, 1 + n % 27))

    for n in range(1, GUESTS + 1):
        name = f"{rng.choice(FIRST_NAMES)} {rng.choice(LAST_NAMES)}"
        _user(f"guest{n}@example.org", name, password_hash, locale="en" if n % 4 == 0 else "sv")

    # One published home per host (the coop's one-host-one-home rule), and ten more drafts or
    # paused listings, so the demo shows every state a host meets.
    for n, host in enumerate(hosts):
        sv_title, en_title, kind, guests = HOMES[n % len(HOMES)]
        area = areas[n % len(areas)]
        title = sv_title if host.locale == "sv" else en_title
        db.session.add(
            Listing(
                host=host,
                area=area,
                title=f"{title}, {area.name}",
                description=_description(rng, host.locale),
                property_type=kind,
                max_guests=guests,
                nightly_price_ore=rng.randrange(450, 2400, 25) * 100,
                state=ListingState.PUBLISHED,
            )
        )
    for n, host in enumerate(hosts[:10]):
        sv_title, _en, kind, guests = HOMES[(n + 3) % len(HOMES)]
        db.session.add(
            Listing(
                host=host,
                area=areas[(n + 2) % len(areas)],
                title=sv_title,
                description=_description(rng, "sv"),
                property_type=kind,
                max_guests=guests,
                nightly_price_ore=rng.randrange(500, 1800, 50) * 100,
                state=ListingState.PAUSED if n % 2 else ListingState.DRAFT,
            )
        )
    db.session.commit()
    return True


def _description(rng: random.Random, locale: str) -> str:
    if locale == "en":
        parts = [
            "A calm home with everything you need for a few days in town.",
            "Bikes to borrow, coffee in the cupboard and tips for walks.",
            "Close to the bus and a short walk from the water.",
            "Bed linen and towels are included.",
        ]
    else:
        parts = [
            "Ett lugnt hem med allt du behöver för några dagar i stan.",
            "Cyklar att låna, kaffe i skåpet och tips på promenader.",
            "Nära bussen och en kort promenad till vattnet.",
            "Sängkläder och handdukar ingår.",
        ]
    rng.shuffle(parts)
    return " ".join(parts[:3])


def demo_logins() -> list[tuple[str, str]]:
    return [
        (BOARD_EMAIL, "board"),
        (MUNICIPALITY_EMAIL, "municipality"),
        (f"host1@example.org … host{HOSTS}@example.org", "host-members"),
        (f"guest1@example.org … guest{GUESTS}@example.org", "guests"),
    ]


def init_app(app: Flask) -> None:
    @app.cli.command("demo-data")
    def demo_data():
        """Load the demo town once and print the demo log-ins."""
        if not current_app.config.get("ALLOW_DEMO_DATA"):
            raise click.ClickException(
                "Demo data is for development only; this is a production configuration."
            )
        created = load_demo_data()
        click.echo("Demo data loaded." if created else "Demo data was already loaded.")
        click.echo(f"Demo log-ins (password for all: {DEMO_PASSWORD}):")
        for email, role in demo_logins():
            click.echo(f"  {email:45} {role}")
