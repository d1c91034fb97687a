"""`flask demo-data`: a small, realistic demo town, loaded once (development only)."""

from __future__ import annotations

import random
from datetime import UTC, date, datetime, time, timedelta
from io import BytesIO

import click
from flask import Flask, current_app
from PIL import Image, ImageDraw
from sqlalchemy import select

from rentalcoop.accounts.models import User
from rentalcoop.accounts.services import hash_password
from rentalcoop.extensions import db
from rentalcoop.listings import photos
from rentalcoop.listings.models import (
    Amenity,
    Area,
    BlockedNight,
    CancellationPolicy,
    Listing,
    ListingPhoto,
    ListingState,
    NightPrice,
    PropertyType,
)
from rentalcoop.listings.pricing import coop_date
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


DEMO_PAYEE = "rentalcoop ekonomisk förening"
DEMO_SWISH = "1231181189"
DEMO_BANKGIRO = "9991233"


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
    # Where demo guests pay (manual provider): Swish's test number and a made-up bank giro
    # whose check digit is right.
    from rentalcoop.payments.manual.services import update_payment_details

    update_payment_details(DEMO_PAYEE, DEMO_SWISH, DEMO_BANKGIRO, None, board)

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

    _demo_listings(rng, hosts, areas)
    db.session.commit()
    from rentalcoop.bookings.demo import load_demo_bookings
    from rentalcoop.governance.demo import load_demo_governance, load_demo_projects

    load_demo_projects(board)  # before the bookings, so guests can choose them
    load_demo_bookings(rng, board)
    _demo_reviews_and_messages()
    _demo_stats_release()
    _demo_calendar_exports()
    _demo_calendar_feeds()
    load_demo_governance(board)
    from rentalcoop.governance.demo import load_demo_meeting_today

    load_demo_meeting_today(board)
    return True


STREETS = ["Storgatan", "Kyrkvägen", "Hamngatan", "Skolgatan", "Björkvägen", "Sjövägen"]
HOUSE_RULES = {
    "sv": "Inga fester. Tyst efter kl. 22. Rökning endast utomhus. Lämna nyckeln i nyckelskåpet.",
    "en": "No parties. Quiet after 10 pm. Smoking outside only. Leave the key in the key box.",
}
AMENITY_SETS = [
    [Amenity.WIFI, Amenity.KITCHEN, Amenity.WASHER, Amenity.WORKSPACE],
    [Amenity.WIFI, Amenity.KITCHEN, Amenity.SAUNA, Amenity.FIREPLACE, Amenity.PARKING],
    [Amenity.WIFI, Amenity.BIKES, Amenity.GARDEN],
    [Amenity.WIFI, Amenity.KITCHEN, Amenity.DISHWASHER, Amenity.BALCONY, Amenity.CRIB],
    [Amenity.WIFI, Amenity.PARKING, Amenity.EV_CHARGER, Amenity.STEP_FREE, Amenity.PETS_ALLOWED],
]


def _demo_listings(rng: random.Random, hosts: list[User], areas: list[Area]) -> None:
    """One published home per host (the coop's one-host-one-home rule), ten more drafts or
    paused ones, each with photos drawn here, weekend prices and some blocked nights."""
    homes = []
    for n, host in enumerate(hosts):
        sv_title, en_title, kind, guests = HOMES[n % len(HOMES)]
        area = areas[(n * 3 + n // len(areas)) % len(areas)]
        title = sv_title if host.locale == "sv" else en_title
        homes.append(
            _demo_listing(rng, host, area, f"{title}, {area.name}", kind, guests, host.locale)
        )
    for n, host in enumerate(hosts[:10]):
        sv_title, _en, kind, guests = HOMES[(n + 3) % len(HOMES)]
        state = ListingState.PAUSED if n % 2 else ListingState.DRAFT
        homes.append(
            _demo_listing(
                rng, host, areas[(n + 2) % len(areas)], sv_title, kind, guests, "sv", state
            )
        )
    db.session.flush()
    today = coop_date()
    for n, home in enumerate(homes):
        for position in range(1 + (n % 3 != 2)):
            token, (width, height) = photos.store(_drawn_photo(rng, home.property_type, position))
            alt = "Huset utifrån" if position == 0 else "Vardagsrummet"
            db.session.add(
                ListingPhoto(
                    listing_id=home.id,
                    position=position,
                    token=token,
                    width=width,
                    height=height,
                    alt_text=alt,
                )
            )
        blocked: set[date] = set()
        for _ in range(rng.randrange(2, 6)):
            start = today + timedelta(days=rng.randrange(0, 180))
            blocked |= {start + timedelta(days=d) for d in range(rng.randrange(1, 8))}
        db.session.add_all(BlockedNight(listing_id=home.id, night=night) for night in blocked)
        # Friday and Saturday nights cost a fifth more for the next three months.
        weekend = home.nightly_price_ore * 6 // 5 // 100 * 100
        db.session.add_all(
            NightPrice(listing_id=home.id, night=night, price_ore=weekend)
            for night in (today + timedelta(days=d) for d in range(92))
            if night.weekday() in (4, 5)
        )


def _demo_listing(
    rng: random.Random,
    host: User,
    area: Area,
    title: str,
    kind: PropertyType,
    guests: int,
    locale: str,
    state: ListingState = ListingState.PUBLISHED,
) -> Listing:
    bedrooms = 0 if kind == PropertyType.SHARED_ROOM else max(1, guests // 2)
    home = Listing(
        host=host,
        area=area,
        title=title,
        description=_description(rng, locale),
        property_type=kind,
        street_address=f"{rng.choice(STREETS)} {rng.randrange(1, 60)}",
        registration_number=(
            f"{area.code}-{rng.randrange(1000, 9999)}" if area.requires_registration else None
        ),
        max_guests=guests,
        bedrooms=bedrooms,
        beds=max(1, guests - 1),
        bathrooms=1 + (guests >= 6),
        amenities=[a.value for a in rng.choice(AMENITY_SETS)],
        house_rules=HOUSE_RULES[locale],
        check_in_time=time(rng.choice((14, 15, 16))),
        check_out_time=time(rng.choice((10, 11))),
        nightly_price_ore=rng.randrange(450, 2400, 25) * 100,
        cleaning_fee_ore=rng.choice((0, 15_000, 25_000, 40_000)),
        min_nights=rng.choice((1, 1, 2, 2, 3)),
        max_nights=rng.choice((14, 21, 30)),
        advance_notice_days=rng.choice((0, 1, 1, 2)),
        booking_window_months=rng.choice((6, 12, 12)),
        is_instant_book=rng.random() < 0.7,
        cancellation_policy=rng.choice(list(CancellationPolicy)),
        state=state,
        published_at=(
            datetime(2025, 1, 1, tzinfo=UTC) + timedelta(days=rng.randrange(0, 600))
            if state != ListingState.DRAFT
            else None
        ),
    )
    db.session.add(home)
    return home


def _drawn_photo(rng: random.Random, kind: str, position: int) -> bytes:
    """A simple picture of a house (outside) or a room (inside), drawn with Pillow."""
    width, height = 960, 720
    image = Image.new("RGB", (width, height))
    draw = ImageDraw.Draw(image)
    if position == 0:
        for y in range(0, height * 2 // 3, 8):  # sky
            shade = 160 + y * 80 // height
            draw.rectangle((0, y, width, y + 8), fill=(shade - 60, shade - 10, 235))
        draw.rectangle((0, height * 2 // 3, width, height), fill=(70, 140 + rng.randrange(40), 70))
        draw.ellipse((760, 60, 860, 160), fill=(250, 215, 90))
        wall = rng.choice([(160, 40, 40), (230, 200, 120), (200, 200, 190), (90, 120, 160)])
        left, top = rng.randrange(160, 300), rng.randrange(280, 340)
        right, bottom = left + 420, height * 2 // 3 + 30
        draw.rectangle((left, top, right, bottom), fill=wall)
        draw.polygon(
            [(left - 30, top), ((left + right) // 2, top - 150), (right + 30, top)],
            fill=(60, 50, 50),
        )
        for x in (left + 40, right - 120):
            draw.rectangle(
                (x, top + 50, x + 80, top + 130),
                fill=(240, 240, 220),
                outline=(255, 255, 255),
                width=6,
            )
        draw.rectangle(
            ((left + right) // 2 - 35, bottom - 140, (left + right) // 2 + 35, bottom),
            fill=(90, 60, 40),
        )
        for _ in range(rng.randrange(2, 5)):
            x = rng.choice([rng.randrange(0, left - 60), rng.randrange(right + 40, width - 40)])
            draw.rectangle(
                (x + 25, height * 2 // 3 - 20, x + 35, height * 2 // 3 + 40), fill=(90, 60, 30)
            )
            draw.ellipse(
                (x - 10, height * 2 // 3 - 140, x + 70, height * 2 // 3 - 10),
                fill=(40, 110 + rng.randrange(40), 50),
            )
    else:
        wall = rng.choice([(235, 230, 215), (215, 225, 230), (240, 225, 220)])
        draw.rectangle((0, 0, width, height), fill=wall)
        draw.rectangle((0, height * 3 // 4, width, height), fill=(170, 130, 90))
        draw.rectangle(
            (560, 120, 820, 380), fill=(170, 210, 240), outline=(255, 255, 255), width=12
        )
        colour = rng.choice([(60, 90, 120), (120, 60, 60), (70, 110, 80)])
        if kind == PropertyType.ENTIRE_HOME:
            draw.rounded_rectangle((120, 390, 500, 560), 30, fill=colour)  # sofa
            draw.rectangle((180, 590, 440, 620), fill=(120, 90, 60))  # table
        else:
            draw.rectangle((100, 420, 520, 600), fill=(250, 250, 250))  # bed
            draw.rectangle((100, 470, 520, 600), fill=colour)
    buffer = BytesIO()
    image.save(buffer, format="PNG", compress_level=1)
    return buffer.getvalue()


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


def _demo_stats_release() -> None:
    """The municipality's release of the last full month, made from the demo stays (DESIGN §13).

    Runs last, once the demo bookings exist; with none it still publishes (mostly withheld).
    """
    from rentalcoop.stats.models import StatsRelease
    from rentalcoop.stats.services import previous_month, release_month

    if db.session.scalar(select(StatsRelease.id).limit(1)) is not None:
        return
    release_month(previous_month())
    db.session.commit()


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


# --- Reviews and messages on the demo stays (issue 8) ----------------------------------------

GUEST_REVIEW_TEXTS = {
    "sv": [
        "Precis som på bilderna, rent och fint. Värden svarade snabbt på allt vi undrade.",
        "Lugnt läge och nära till vattnet. Sängarna var sköna och köket välutrustat.",
        "Mysigt boende med personlig prägel. Incheckningen gick smidigt med nyckelskåpet.",
        "Bra värde för pengarna. Lite lyhört mot gatan, men vi sov gott ändå.",
        "Vi kommer gärna tillbaka! Tack för tipsen om bageriet runt hörnet.",
    ],
    "en": [
        "Just like the photos, clean and cosy. The host answered every question quickly.",
        "Quiet spot close to the water. Comfortable beds and a well-equipped kitchen.",
        "Lovely place with a personal touch. Check-in with the key box was easy.",
        "Good value. A little noise from the street, but we slept well.",
        "We would love to come back. Thanks for the tip about the bakery round the corner.",
    ],
}
HOST_REVIEW_TEXTS = {
    "sv": [
        "En omtänksam gäst som lämnade allt i fint skick. Välkommen tillbaka!",
        "Trevlig kommunikation och höll tiderna. Rekommenderas varmt.",
        "Allt fungerade fint, tack för besöket.",
    ],
    "en": [
        "A considerate guest who left everything spotless. Welcome back!",
        "Friendly, clear communication and on time. Warmly recommended.",
        "Everything went well, thank you for staying.",
    ],
}
HOST_ANSWERS = {
    "sv": "Tack för fina ord, varmt välkomna tillbaka!",
    "en": "Thank you for the kind words — you are welcome back any time!",
}
DEMO_CHATS = {
    "sv": [
        ("guest", "Hej! Vi ser fram emot vistelsen. Går det bra att checka in vid 17?"),
        ("host", "Hej och välkomna! 17 går utmärkt. Koden till nyckelskåpet kommer dagen innan."),
        ("guest", "Tack! Finns det parkering nära? Vägbeskrivning: https://www.openstreetmap.org/"),
        ("host", "Ja, gratis parkering på gatan efter kl. 18."),
    ],
    "en": [
        ("guest", "Hi! We are looking forward to our stay. Is check-in at 5 pm all right?"),
        ("host", "Welcome! 5 pm is fine. I will send the key box code the day before."),
        ("guest", "Thanks! Is there parking nearby? Map: https://www.openstreetmap.org/"),
        ("host", "Yes, free street parking after 6 pm."),
    ],
}


def _demo_reviews_and_messages() -> None:
    """Reviews (revealed as the rules would have) and short conversations on the demo stays.

    Written straight to the tables, not through the services, so no mail about the past is
    queued. Idempotent; a no-op when the demo town has no bookings.
    """
    from rentalcoop.bookings.models import Booking, BookingState
    from rentalcoop.bookings.services import check_out_instant
    from rentalcoop.db import utcnow
    from rentalcoop.messaging.models import Message
    from rentalcoop.reviews.models import CATEGORIES, Review, ReviewResponse, ReviewSide
    from rentalcoop.reviews.services import REVIEW_WINDOW

    if db.session.scalar(select(Review.id).limit(1)) is not None:
        return
    if db.session.scalar(select(Message.id).limit(1)) is not None:
        return
    rng = random.Random(8)
    now = utcnow()
    bookings = list(
        db.session.scalars(
            select(Booking)
            .where(
                Booking.state.in_(
                    [
                        BookingState.COMPLETED,
                        BookingState.CONFIRMED,
                        BookingState.REQUESTED,
                    ]
                )
            )
            .order_by(Booking.id)
        )
    )
    for booking in bookings:
        guest, host = booking.guest, booking.host
        lang = guest.locale if guest.locale in DEMO_CHATS else "sv"
        if rng.random() < 0.6 or booking.state == BookingState.REQUESTED:
            start = booking.created_at + timedelta(minutes=10)
            chat = DEMO_CHATS[lang][: rng.choice((2, 3, 4))]
            for n, (who, body) in enumerate(chat):
                at = min(start + timedelta(hours=3 * n), now)
                sender, recipient = (guest, host) if who == "guest" else (host, guest)
                last = n == len(chat) - 1
                upcoming = booking.state != BookingState.COMPLETED
                db.session.add(
                    Message(
                        booking_id=booking.id,
                        sender_id=sender.id,
                        recipient_id=recipient.id,
                        body=body,
                        created_at=at,
                        # The newest line of an upcoming stay is left unread: the badge shows.
                        read_at=None if (last and upcoming) else at + timedelta(hours=1),
                    )
                )
        if booking.state != BookingState.COMPLETED or rng.random() < 0.2:
            continue
        # The demo completes a year of stays at once; reviews follow each stay's check-out.
        opens = check_out_instant(booking)
        closes = opens + REVIEW_WINDOW
        guest_at = opens + timedelta(hours=rng.randint(2, 200))
        host_at = opens + timedelta(hours=rng.randint(2, 300)) if rng.random() < 0.8 else None
        written = [t for t in (guest_at, host_at) if t is not None and t < min(closes, now)]
        if not written:
            continue
        both = guest_at in written and host_at in written
        published = max(written) if both else closes
        stars = {c: rng.choice((3, 4, 4, 5, 5, 5)) for c in CATEGORIES}
        if guest_at in written:
            review = Review(
                booking_id=booking.id,
                side=ReviewSide.GUEST,
                author_id=guest.id,
                subject_id=host.id,
                listing_id=booking.listing_id,
                text=rng.choice(GUEST_REVIEW_TEXTS[lang]),
                created_at=guest_at,
                published_at=published,
                **stars,
            )
            db.session.add(review)
            answered_at = published + timedelta(days=1)
            if published <= now and answered_at < now and rng.random() < 0.3:
                db.session.flush()
                host_lang = host.locale if host.locale in HOST_ANSWERS else "sv"
                db.session.add(
                    ReviewResponse(
                        review_id=review.id,
                        author_id=host.id,
                        text=HOST_ANSWERS[host_lang],
                        created_at=answered_at,
                    )
                )
        if host_at in written:
            host_lang = host.locale if host.locale in HOST_REVIEW_TEXTS else "sv"
            db.session.add(
                Review(
                    booking_id=booking.id,
                    side=ReviewSide.HOST,
                    author_id=host.id,
                    subject_id=guest.id,
                    listing_id=booking.listing_id,
                    rating=rng.choice((4, 5, 5)),
                    text=rng.choice(HOST_REVIEW_TEXTS[host_lang]),
                    created_at=host_at,
                    published_at=published,
                )
            )
    db.session.commit()


# --- Calendar export links (issue 5) ---------------------------------------------------------


def _demo_calendar_feeds() -> None:
    """Imported feeds with nights, a last success and a last error, made offline (issue 13)."""
    from rentalcoop.calendar.demo import load_demo_feeds

    load_demo_feeds()


def _demo_calendar_exports() -> None:
    """Every demo listing gets its export link, so hosts can copy it right away. (No imported
    feeds: a demo feed could point nowhere real.) Skips listings that have one."""
    from rentalcoop.calendar.models import CalendarExport
    from rentalcoop.calendar.services import new_token
    from rentalcoop.listings.models import Listing

    have = set(db.session.scalars(select(CalendarExport.listing_id)))
    for listing_id in db.session.scalars(select(Listing.id).order_by(Listing.id)):
        if listing_id not in have:
            db.session.add(CalendarExport(listing_id=listing_id, token=new_token()))
    db.session.commit()
