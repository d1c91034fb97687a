"""Everything the cooperative holds about one person, as a ZIP of JSON and CSV (GDPR art. 15 and
20: access and portability).

The rule for what goes in: the person's own records whole; of the other party of a booking, a
message or a review only what the person already sees on the site — a name, never an email
address; of board members who handled something, nothing. Reviews about the person are included
only once published, so an export cannot get round the simultaneous reveal.
"""

from __future__ import annotations

import csv
import enum
import io
import json
import zipfile
from datetime import date, datetime, time
from pathlib import Path

from flask import current_app
from sqlalchemy import inspect, or_, select
from sqlalchemy.orm import joinedload

from rentalcoop.accounts.models import MembershipApplication, User
from rentalcoop.bookings.models import Booking, BookingEvent
from rentalcoop.calendar.models import CalendarFeed, ImportedBlock
from rentalcoop.db import utcnow
from rentalcoop.extensions import db
from rentalcoop.governance.models import CloseState, PatronageShare, YearClose
from rentalcoop.i18n import _
from rentalcoop.ledger.models import USER_PARTY_ACCOUNTS, LedgerEntry, LedgerTransaction
from rentalcoop.listings.models import BlockedNight, Listing, NightPrice
from rentalcoop.messaging.models import Message
from rentalcoop.moderation.models import ContentReport
from rentalcoop.payments.models import HostPaymentAccount, Payment, Payout, Refund
from rentalcoop.reviews.models import Review
from rentalcoop.spreadsheet import safe_cell

# Columns that name someone else (a board member who marked, approved or decided something).
OTHERS = {"marked_by_id", "approved_by_id", "decided_by_id", "posted_by_id", "actor_id"}
# Credentials are not exported: a leaked ZIP must not let anyone into the account or a feed.
SECRETS = {"password_hash", "session_version", "token", "lease_until", "checkout_url"}


def _plain(value):
    if isinstance(value, datetime | date | time):
        return value.isoformat()
    if isinstance(value, enum.Enum):
        return value.value
    return value


def columns(obj, *, exclude: set[str] = frozenset()) -> dict:
    """The row's own columns as JSON values, without other people's ids and credentials."""
    skip = OTHERS | SECRETS | set(exclude)
    return {
        attr.key: _plain(getattr(obj, attr.key))
        for attr in inspect(obj).mapper.column_attrs
        if attr.key not in skip
    }


def _csv_cell(value):
    if isinstance(value, list | dict):
        value = json.dumps(value, ensure_ascii=False, default=_plain)
    return safe_cell(value)


def to_csv(rows: list[dict]) -> str:
    out = io.StringIO()
    fields: list[str] = []
    for row in rows:
        fields.extend(k for k in row if k not in fields)
    writer = csv.DictWriter(out, fieldnames=fields, extrasaction="ignore", lineterminator="\r\n")
    writer.writeheader()
    for row in rows:
        writer.writerow({k: _csv_cell(_plain(v)) for k, v in row.items()})
    return out.getvalue()


class Archive:
    def __init__(self, fileobj):
        self.zip = zipfile.ZipFile(fileobj, "w", compression=zipfile.ZIP_DEFLATED)
        self.files: list[str] = []

    def json(self, name: str, data) -> None:
        self.zip.writestr(name, json.dumps(data, ensure_ascii=False, indent=2, default=_plain))
        self.files.append(name)

    def table(self, name: str, rows: list[dict]) -> None:
        """The same rows as `name.json` and `name.csv` (UTF-8 with BOM, so Excel reads å/ä/ö)."""
        self.json(f"{name}.json", rows)
        self.zip.writestr(f"{name}.csv", "\ufeff" + to_csv(rows))
        self.files.append(f"{name}.csv")

    def file(self, name: str, path: Path) -> None:
        self.zip.write(path, name, compress_type=zipfile.ZIP_STORED)  # JPEG is compressed
        self.files.append(name)


def build_export(user: User, fileobj) -> None:
    """Write the person's export ZIP into `fileobj`."""
    archive = Archive(fileobj)
    archive.json("profile.json", _profile(user, archive))
    listings = _listings(user, archive)
    _calendar(user, listings, archive)
    as_guest = _bookings(user, archive, as_guest=True)
    as_host = _bookings(user, archive, as_guest=False)
    _messages(user, archive)
    _reviews(user, archive)
    _reports(user, archive)
    _money(user, as_guest, as_host, archive)
    _saved_homes(user, archive)
    archive.zip.writestr("README.txt", _readme(user, archive))
    archive.zip.close()


def export_file(user: User) -> io.BytesIO:
    """The export in memory, positioned at its start. Its size is bounded by the photo cap
    (DESIGN §2: one home per host, 20 photos) and the person's own rows."""
    buffer = io.BytesIO()
    build_export(user, buffer)
    buffer.seek(0)
    return buffer


# --- parts -----------------------------------------------------------------------------------


def _profile(user: User, archive: Archive) -> dict:
    profile = columns(user)
    profile["roles"] = sorted(str(r) for r in user.roles)
    profile["membership"] = (
        columns(user.membership, exclude={"user_id"}) if user.membership else None
    )
    profile["membership_applications"] = [
        columns(a, exclude={"user_id"})
        for a in db.session.scalars(
            select(MembershipApplication).where(MembershipApplication.user_id == user.id)
        )
    ]
    account = db.session.get(HostPaymentAccount, user.id)
    profile["payment_account"] = columns(account, exclude={"user_id"}) if account else None
    return profile


def _listings(user: User, archive: Archive) -> list[Listing]:
    listings = list(
        db.session.scalars(
            select(Listing)
            .options(joinedload(Listing.area), joinedload(Listing.photos))
            .where(Listing.host_id == user.id)
            .order_by(Listing.id)
        ).unique()
    )
    upload_dir = Path(current_app.config["UPLOAD_DIR"]) / "listings"
    rows = []
    for listing in listings:
        row = columns(listing)
        row["area_code"] = listing.area.code
        row["area_name"] = listing.area.name
        row["photos"] = []
        for photo in listing.photos:
            entry = columns(photo, exclude={"listing_id"})
            # The largest stored size: uploads are re-encoded, the original is not kept.
            source = upload_dir / f"{photo.token}-l.jpg"
            if source.is_file():
                name = f"photos/listing-{listing.id}/{photo.position:02d}-{photo.token}.jpg"
                archive.file(name, source)
                entry["file"] = name
            else:
                entry["file"] = None
            row["photos"].append(entry)
        rows.append(row)
    archive.table("listings", rows)
    return listings


def _calendar(user: User, listings: list[Listing], archive: Archive) -> None:
    ids = [listing.id for listing in listings]
    blocked = db.session.scalars(
        select(BlockedNight)
        .where(BlockedNight.listing_id.in_(ids))
        .order_by(BlockedNight.listing_id, BlockedNight.night)
    )
    archive.table("calendar/blocked_nights", [columns(b) for b in blocked])
    prices = db.session.scalars(
        select(NightPrice)
        .where(NightPrice.listing_id.in_(ids))
        .order_by(NightPrice.listing_id, NightPrice.night)
    )
    archive.table("calendar/night_prices", [columns(p) for p in prices])
    feeds = db.session.scalars(
        select(CalendarFeed).where(CalendarFeed.listing_id.in_(ids)).order_by(CalendarFeed.id)
    )
    archive.table("calendar/imported_feeds", [columns(f) for f in feeds])
    imported = db.session.scalars(
        select(ImportedBlock)
        .where(ImportedBlock.listing_id.in_(ids))
        .order_by(ImportedBlock.listing_id, ImportedBlock.night)
    )
    archive.table("calendar/imported_nights", [columns(b) for b in imported])


def _bookings(user: User, archive: Archive, *, as_guest: bool) -> list[Booking]:
    mine = Booking.guest_id == user.id if as_guest else Booking.host_id == user.id
    bookings = list(
        db.session.scalars(
            select(Booking)
            .options(
                joinedload(Booking.listing), joinedload(Booking.guest), joinedload(Booking.host)
            )
            .where(mine)
            .order_by(Booking.check_in, Booking.id)
        )
    )
    events: dict[int, list[dict]] = {b.id: [] for b in bookings}
    for event in db.session.scalars(
        select(BookingEvent)
        .where(BookingEvent.booking_id.in_(list(events)))
        .order_by(BookingEvent.id)
    ):
        events[event.booking_id].append(
            {
                "at": _plain(event.created_at),
                "from": event.from_state,
                "to": event.to_state,
                "by": event.actor_kind,
            }
        )
    rows = []
    for booking in bookings:
        # Of the other party, only the name the booking page shows.
        row = columns(booking, exclude={"guest_id", "host_id"})
        row["listing_title"] = booking.listing.title
        if as_guest:
            row["host_name"] = booking.host.name
            if booking.is_stay:
                row["street_address"] = booking.listing.street_address
        else:
            row["guest_name"] = booking.guest.name
        row["history"] = events[booking.id]
        rows.append(row)
    archive.table("bookings_as_guest" if as_guest else "bookings_as_host", rows)
    return bookings


def _messages(user: User, archive: Archive) -> None:
    messages = db.session.scalars(
        select(Message)
        .options(joinedload(Message.sender), joinedload(Message.recipient))
        .where(or_(Message.sender_id == user.id, Message.recipient_id == user.id))
        .order_by(Message.booking_id, Message.created_at, Message.id)
    )
    rows = []
    for m in messages:
        sent = m.sender_id == user.id
        other = m.recipient if sent else m.sender
        hidden_from_me = m.is_hidden and not sent
        rows.append(
            {
                "booking_id": m.booking_id,
                "direction": "sent" if sent else "received",
                "other_party": other.name,
                "created_at": m.created_at,
                "read_at": m.read_at,
                "hidden_by_the_cooperative": m.is_hidden,
                # What the board hid is not shown to its recipient on the site either.
                "body": None if hidden_from_me else m.body,
            }
        )
    archive.table("messages", rows)


def _review_row(review: Review, user: User) -> dict:
    row = columns(review, exclude={"author_id", "subject_id"})
    row["overall"] = review.overall
    row["written_by"] = "me" if review.author_id == user.id else review.author.name
    row["about"] = "me" if review.subject_id == user.id else review.subject.name
    row["published"] = review.is_published()
    response = review.response
    row["answer"] = (
        {
            "by": "me" if response.author_id == user.id else response.author.name,
            "text": None if response.is_hidden and response.author_id != user.id else response.text,
            "created_at": response.created_at,
            "hidden_by_the_cooperative": response.is_hidden,
        }
        if response
        else None
    )
    if review.is_hidden and review.author_id != user.id:
        row["text"] = None
    return row


def _reviews(user: User, archive: Archive) -> None:
    options = (
        joinedload(Review.author),
        joinedload(Review.subject),
        joinedload(Review.response),
    )
    written = db.session.scalars(
        select(Review).options(*options).where(Review.author_id == user.id).order_by(Review.id)
    ).unique()
    archive.table("reviews_written", [_review_row(r, user) for r in written])
    about = db.session.scalars(
        select(Review)
        .options(*options)
        .where(Review.subject_id == user.id, Review.published_at <= utcnow())
        .order_by(Review.id)
    ).unique()
    archive.table("reviews_about_me", [_review_row(r, user) for r in about])


def _reports(user: User, archive: Archive) -> None:
    reports = db.session.scalars(
        select(ContentReport).where(ContentReport.reporter_id == user.id).order_by(ContentReport.id)
    )
    archive.table(
        "reports_filed",
        [columns(r, exclude={"reporter_id", "decision_note"}) for r in reports],
    )


def _money(user: User, as_guest: list[Booking], as_host: list[Booking], archive: Archive) -> None:
    guest_ids = [b.id for b in as_guest]
    for name, model in (("payments", Payment), ("refunds", Refund)):
        rows = db.session.scalars(
            select(model).where(model.booking_id.in_(guest_ids)).order_by(model.id)
        )
        archive.table(f"money/{name}_as_guest", [columns(r) for r in rows])

    payouts = db.session.scalars(
        select(Payout).where(Payout.host_id == user.id).order_by(Payout.id)
    )
    archive.table("money/payouts", [columns(r, exclude={"host_id"}) for r in payouts])

    entries = db.session.execute(
        select(LedgerEntry, LedgerTransaction)
        .join(LedgerTransaction, LedgerEntry.transaction_id == LedgerTransaction.id)
        .where(
            LedgerEntry.party_id == user.id,
            LedgerEntry.account.in_([str(a) for a in USER_PARTY_ACCOUNTS]),
        )
        .order_by(LedgerTransaction.booked_on, LedgerEntry.id)
    )
    archive.table(
        "money/ledger_entries",
        [
            {
                "booked_on": t.booked_on,
                "fiscal_year": t.fiscal_year,
                "kind": t.kind,
                "booking_id": t.booking_id,
                "account": e.account,
                "amount_ore": e.amount_ore,
                "memo": t.memo,
                "transaction_id": t.id,
                "reverses_transaction_id": t.reverses_id,
            }
            for e, t in entries
        ],
    )
    # The member's share of each posted close (a draft is the board's proposal, not theirs yet).
    shares = db.session.scalars(
        select(PatronageShare)
        .join(YearClose, YearClose.year == PatronageShare.year)
        .where(PatronageShare.member_id == user.id, YearClose.state == CloseState.POSTED)
        .order_by(PatronageShare.year)
    )
    archive.table("money/patronage_statements", [columns(s, exclude={"member_id"}) for s in shares])


def _saved_homes(user: User, archive: Archive) -> None:
    """The homes on the person's list (the listing's id and title as it was when exported)."""
    from rentalcoop.wishlists.models import SavedHome

    rows = db.session.execute(
        select(SavedHome.listing_id, Listing.title, SavedHome.created_at)
        .join(Listing, Listing.id == SavedHome.listing_id)
        .where(SavedHome.user_id == user.id)
        .order_by(SavedHome.created_at)
    )
    archive.table(
        "saved_homes",
        [{"listing_id": i, "title": title, "saved_at": at} for i, title, at in rows],
    )


def _readme(user: User, archive: Archive) -> str:
    lines = [
        _("rentalcoop — your data"),
        _(
            "Exported %(time)s for account %(id)s.",
            time=utcnow().isoformat(timespec="seconds"),
            id=user.id,
        ),
        "",
        _(
            "Each table is given twice: as JSON and as CSV (UTF-8). Amounts are in öre "
            "(1 kr = 100 öre); times are UTC (ISO 8601); dates are local dates of the home."
        ),
        _(
            "Of the people you booked with, wrote to or reviewed, only the name you see on the "
            "site is included. Reviews about you are included once they are published."
        ),
        _(
            "Not included: your password and sign-in secrets, calendar export links (create a "
            "new one on the site), and anything about other people."
        ),
        "",
        _("Files:"),
        *(f"  {name}" for name in sorted(set(archive.files))),
    ]
    return "\r\n".join(lines) + "\r\n"
