"""Calendar feeds for hosts: the export link, adding and removing imported feeds, conflicts.

Services flush; the caller commits. Fetching and replacing a feed's nights is in `sync`.
"""

from __future__ import annotations

import hashlib
import re
import secrets
from collections import defaultdict
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from urllib.parse import urlsplit

from flask import current_app
from flask_babel import LazyString
from sqlalchemy import delete, func, select

from rentalcoop import safe_fetch
from rentalcoop.bookings.models import BookedNight, Booking, BookingEvent
from rentalcoop.bookings.services import listing_today
from rentalcoop.calendar.ical import ExportRange, export_calendar, merge_nights_to_ranges
from rentalcoop.calendar.models import (
    CalendarConflict,
    CalendarExport,
    CalendarFeed,
    ExportBlock,
    ImportedBlock,
)
from rentalcoop.db import begin_write, utcnow
from rentalcoop.errors import DomainError
from rentalcoop.extensions import db
from rentalcoop.i18n import _, _l
from rentalcoop.listings.models import BlockedNight, Listing

MAX_FEEDS_PER_LISTING = 10
PRODID = "-//rentalcoop//Calendar export 1.0//EN"
# Ranges that ended longer ago than this are left out of the export (other platforms drop
# past stays too); ranges are never clipped, so their bytes stay stable.
EXPORT_PAST_DAYS = 30

PLATFORM_LABELS = {
    "airbnb": "Airbnb",
    "booking": "Booking.com",
    "vrbo": "Vrbo",
    "google": "Google",
    "outlook": "Outlook",
    "icloud": "iCloud",
    "other": _l("Other calendar"),
}
_PLATFORM_HOSTS = (
    ("airbnb", "airbnb"),
    ("booking.com", "booking"),
    ("vrbo.", "vrbo"),
    ("homeaway.", "vrbo"),
    ("abritel.", "vrbo"),
    ("google.com", "google"),
    ("outlook.", "outlook"),
    ("office365.", "outlook"),
    ("live.com", "outlook"),
    ("icloud.com", "icloud"),
)


_OWN_EXPORT = re.compile(r"/ical/([A-Za-z0-9_-]{20,64})\.ics\Z")


class CalendarError(DomainError):
    status_code = 422


# --- messages stored for later display ------------------------------------------------------


def message_parts(message, params: dict | None = None) -> dict:
    """A translatable message as JSON ({"msgid", "params"}), translated only when shown, so
    each host reads it in their own language (a job has no reader's locale)."""
    if isinstance(message, LazyString):
        msgid = str(message._args[0]) if message._args else str(message)
        merged = {**message._kwargs, **(params or {})}
    else:
        msgid, merged = str(message), dict(params or {})
    return {"msgid": msgid, "params": {k: str(v) for k, v in merged.items()}}


def error_parts(err: BaseException) -> dict:
    if isinstance(err, DomainError):
        return message_parts(err._message, err.params)
    return message_parts(UNEXPECTED_ERROR)


def show_message(parts: dict) -> str:
    """A stored message in the reader's language."""
    params = parts.get("params") or {}
    return _(parts["msgid"], **params) if params else _(parts["msgid"])


def show_warning(parts: dict) -> str:
    """A stored feed warning in the reader's language, naming the event it is about."""
    message = show_message(parts)
    uid = parts.get("uid")
    if not uid:
        return message
    shown = uid if len(uid) <= 80 else uid[:77] + "…"
    return _("Event %(uid)s: %(reason)s", uid=shown, reason=message)


UNEXPECTED_ERROR = _l(
    "Something unexpected went wrong while reading this calendar. We will try again later."
)


# --- export ---------------------------------------------------------------------------------


def new_token() -> str:
    return secrets.token_urlsafe(32)  # 256 bits


def export_of(listing: Listing) -> CalendarExport | None:
    return db.session.get(CalendarExport, listing.id)


def regenerate_export_token(listing: Listing) -> CalendarExport:
    """Give the listing a new export link; the old one stops working at once."""
    export = export_of(listing)
    if export is None:
        export = CalendarExport(listing_id=listing.id, token=new_token())
        db.session.add(export)
    else:
        export.token = new_token()
        export.created_at = utcnow()
    db.session.flush()
    return export


def listing_for_token(token: str) -> Listing | None:
    if not token or len(token) > 64:
        return None
    return db.session.scalar(
        select(Listing).join(CalendarExport).where(CalendarExport.token == token)
    )


def export_ranges(listing: Listing, today: date) -> list[ExportRange]:
    """Bookings made here (every night a booking holds) and the host's blocks, as ranges.
    Imported nights are left out: platforms would echo each other's blocks forever (DESIGN §8).
    Reconciles the host's block ranges with the ones exported before (see `ExportBlock`)."""
    cutoff = today - timedelta(days=EXPORT_PAST_DAYS)
    ranges: list[ExportRange] = []

    held = db.session.execute(
        select(
            BookedNight.booking_id,
            BookedNight.night,
            func.coalesce(Booking.updated_at, Booking.created_at),
        )
        .join(Booking, Booking.id == BookedNight.booking_id)
        .where(BookedNight.listing_id == listing.id)
    ).all()
    per_booking: dict[int, tuple[set[date], datetime]] = {}
    for booking_id, night, changed in held:
        nights, _changed = per_booking.setdefault(booking_id, (set(), changed))
        nights.add(night)
    # A booking's revisions are its transitions (DESIGN §4): SEQUENCE only ever grows.
    revisions = dict(
        db.session.execute(
            select(BookingEvent.booking_id, func.count())
            .where(BookingEvent.booking_id.in_(list(per_booking)))
            .group_by(BookingEvent.booking_id)
        ).all()
        if per_booking
        else []
    )
    for booking_id, (nights, changed) in per_booking.items():
        spans = merge_nights_to_ranges(nights)
        for part, (start, end) in enumerate(spans):
            if end < cutoff:
                continue
            ref = booking_id if len(spans) == 1 else f"{booking_id}-{part + 1}"
            sequence = revisions.get(booking_id, 0)
            ranges.append(ExportRange("booking", ref, start, end, changed, sequence))

    for block in export_blocks(listing):
        if block.end_night < cutoff:
            continue
        ranges.append(
            ExportRange(
                "block",
                block.id,
                block.first_night,
                block.end_night,
                block.changed_at,
                block.sequence,
            )
        )
    return ranges


def export_blocks(listing: Listing) -> list[ExportBlock]:
    """The host's block ranges, each with the id (so the UID) it had when last exported.

    A range that overlaps ranges exported before keeps the id of the one it shares most nights
    with (a split range: the larger part keeps it, the other gets a new one; merged ranges: the
    largest survives); a changed range gets SEQUENCE + 1 and a new change time. Written only
    when something changed, under a lock on the listing's export row, so two fetches at once
    never give one range two ids. Flushes; the caller commits."""
    blocked = db.session.execute(
        select(BlockedNight.night, BlockedNight.created_at).where(
            BlockedNight.listing_id == listing.id
        )
    ).all()
    created = {night: at for night, at in blocked}
    runs = merge_nights_to_ranges(created)
    stored = _stored_blocks(listing)
    if [(b.first_night, b.end_night) for b in stored] == runs:
        return stored
    begin_write(db.session)
    db.session.get(CalendarExport, listing.id, with_for_update=True, populate_existing=True)
    stored = _stored_blocks(listing)
    now = utcnow()

    def overlap(block: ExportBlock, run: tuple[date, date]) -> int:
        return max(0, (min(block.end_night, run[1]) - max(block.first_night, run[0])).days)

    owner: dict[int, tuple[date, date]] = {}  # stored block id -> the run it belongs to
    for block in stored:
        best = max(runs, key=lambda run: overlap(block, run), default=None)
        if best is not None and overlap(block, best) > 0:
            owner[block.id] = best
    result = []
    for run in runs:
        mine = [b for b in stored if owner.get(b.id) == run]
        keep = max(mine, key=lambda b: (overlap(b, run), -b.id), default=None)
        if keep is None:
            changed = max(
                created[run[0] + timedelta(days=n)] for n in range((run[1] - run[0]).days)
            )
            keep = ExportBlock(
                listing_id=listing.id, first_night=run[0], end_night=run[1], changed_at=changed
            )
            db.session.add(keep)
        elif (keep.first_night, keep.end_night) != run:
            keep.first_night, keep.end_night = run
            keep.sequence += 1
            keep.changed_at = now
        result.append(keep)
    for block in stored:
        if block not in result:
            db.session.delete(block)
    db.session.flush()
    return result


def _stored_blocks(listing: Listing) -> list[ExportBlock]:
    return list(
        db.session.scalars(
            select(ExportBlock)
            .where(ExportBlock.listing_id == listing.id)
            .order_by(ExportBlock.first_night, ExportBlock.id)
        )
    )


def uid_domain(request_host: str) -> str:
    configured = current_app.config.get("CALENDAR_UID_DOMAIN")
    host = (configured or request_host or "").split(":")[0].strip().lower()
    return host or "rentalcoop.invalid"


def export_feed(listing: Listing, *, host: str) -> tuple[bytes, str]:
    """The listing's iCalendar bytes and their strong ETag."""
    ranges = export_ranges(listing, listing_today(listing))
    try:
        body = export_calendar(ranges, host=host, prodid=PRODID)
    except ValueError:  # a host name the export refuses (an odd Host header)
        body = export_calendar(ranges, host="rentalcoop.invalid", prodid=PRODID)
    return body, hashlib.sha256(body).hexdigest()[:40]


# --- feeds ----------------------------------------------------------------------------------


def guess_platform(url: str) -> str:
    host = (urlsplit(url.strip()).hostname or "").lower()
    for needle, platform in _PLATFORM_HOSTS:
        if needle in host:
            return platform
    return "other"


def feeds_of(listing: Listing) -> list[CalendarFeed]:
    return list(
        db.session.scalars(
            select(CalendarFeed)
            .where(CalendarFeed.listing_id == listing.id)
            .order_by(CalendarFeed.id)
        )
    )


def get_feed(listing: Listing, feed_id: int) -> CalendarFeed | None:
    return db.session.scalar(
        select(CalendarFeed).where(
            CalendarFeed.id == feed_id, CalendarFeed.listing_id == listing.id
        )
    )


def add_feed(listing: Listing, name: str, url: str) -> CalendarFeed:
    """Subscribe the listing to another platform's export link, after the SSRF checks."""
    url = url.strip()
    allow_loopback = bool(current_app.config.get("CALENDAR_ALLOW_LOOPBACK"))
    # The check resolves the host name (DNS can take seconds): never hold SQLite's write lock,
    # which every other writer waits for, across it. Nothing is written before this point.
    db.session.commit()
    try:
        safe_fetch.check_url(url, allow_loopback=allow_loopback)
    except (safe_fetch.UnsafeURL, safe_fetch.FetchError) as err:
        raise CalendarError(err._message, **err.params) from err
    begin_write(db.session)
    if url.lower().startswith("webcal://"):
        url = "https://" + url[len("webcal://") :]
    own = _OWN_EXPORT.search(urlsplit(url).path)
    if own and db.session.scalar(
        select(CalendarExport.listing_id).where(CalendarExport.token == own[1])
    ):
        # Importing our own export would turn every booking here into a "conflict" with itself.
        raise CalendarError(
            _l("This is an export link of this site. Add the other platform's export link.")
        )
    feeds = feeds_of(listing)
    if len(feeds) >= MAX_FEEDS_PER_LISTING:
        raise CalendarError(
            _l("A home can follow at most %(count)s calendars."), count=MAX_FEEDS_PER_LISTING
        )
    if any(feed.url == url for feed in feeds):
        raise CalendarError(_l("This calendar is already added."))
    feed = CalendarFeed(
        listing_id=listing.id,
        name=name.strip()[:80],
        url=url,
        platform=guess_platform(url),
        next_run_at=utcnow(),
    )
    db.session.add(feed)
    db.session.flush()
    return feed


def remove_feed(feed: CalendarFeed) -> None:
    """Stop following a feed; its nights open again (bookings here are untouched)."""
    db.session.execute(delete(ImportedBlock).where(ImportedBlock.feed_id == feed.id))
    db.session.execute(delete(CalendarConflict).where(CalendarConflict.feed_id == feed.id))
    db.session.delete(feed)
    db.session.flush()


@dataclass(frozen=True)
class FeedView:
    """What the host sees of one feed."""

    feed: CalendarFeed
    nights: int
    error: str | None
    error_is_current: bool
    warnings: list[str]

    @property
    def platform_label(self) -> str:
        return str(PLATFORM_LABELS.get(self.feed.platform, PLATFORM_LABELS["other"]))


def feed_views(listing: Listing, today: date) -> list[FeedView]:
    feeds = feeds_of(listing)
    counts = dict(
        db.session.execute(
            select(ImportedBlock.feed_id, func.count(func.distinct(ImportedBlock.night)))
            .where(ImportedBlock.listing_id == listing.id, ImportedBlock.night >= today)
            .group_by(ImportedBlock.feed_id)
        ).all()
    )
    views = []
    for feed in feeds:
        error = None
        if feed.last_error:
            error = show_message({"msgid": feed.last_error, "params": feed.last_error_params})
        current = bool(
            feed.last_error_at
            and (feed.last_success_at is None or feed.last_error_at > feed.last_success_at)
        )
        views.append(
            FeedView(
                feed,
                counts.get(feed.id, 0),
                error,
                current,
                [show_warning(w) for w in feed.warnings or []],
            )
        )
    return views


def open_conflicts(listing: Listing) -> list[tuple[CalendarConflict, Booking]]:
    return list(
        db.session.execute(
            select(CalendarConflict, Booking)
            .join(Booking, Booking.id == CalendarConflict.booking_id)
            .join(CalendarFeed, CalendarFeed.id == CalendarConflict.feed_id)
            .where(CalendarFeed.listing_id == listing.id, CalendarConflict.resolved_at.is_(None))
            .order_by(Booking.check_in, CalendarConflict.id)
        )
    )


def record_conflicts(feed: CalendarFeed, now: datetime) -> int:
    """Compare the feed's nights with the nights bookings made here hold; open a conflict (and
    queue one mail to the host) for each newly overlapped booking, close those that cleared.
    Returns how many conflicts were opened."""
    from rentalcoop import outbox

    overlaps: dict[int, set[date]] = defaultdict(set)
    for booking_id, night in db.session.execute(
        select(BookedNight.booking_id, BookedNight.night)
        .join(
            ImportedBlock,
            (ImportedBlock.listing_id == BookedNight.listing_id)
            & (ImportedBlock.night == BookedNight.night),
        )
        .where(ImportedBlock.feed_id == feed.id)
    ):
        overlaps[booking_id].add(night)
    open_rows = list(
        db.session.scalars(
            select(CalendarConflict).where(
                CalendarConflict.feed_id == feed.id, CalendarConflict.resolved_at.is_(None)
            )
        )
    )
    seen = set()
    for conflict in open_rows:
        nights = overlaps.get(conflict.booking_id)
        if not nights or conflict.booking_id in seen:
            conflict.resolved_at = now
            continue
        seen.add(conflict.booking_id)
        as_text = sorted(n.isoformat() for n in nights)
        if conflict.nights != as_text:
            conflict.nights = as_text
    opened = 0
    for booking_id, nights in sorted(overlaps.items()):
        if booking_id in seen:
            continue
        conflict = CalendarConflict(
            feed_id=feed.id,
            booking_id=booking_id,
            nights=sorted(n.isoformat() for n in nights),
            detected_at=now,
        )
        db.session.add(conflict)
        db.session.flush()
        opened += 1
        host = feed.listing.host
        if host.deleted_at is None:
            outbox.enqueue(
                f"calendar-conflict:{conflict.id}",
                host.email,
                host.locale,
                "calendar_conflict_host",
                conflict_id=conflict.id,
            )
    return opened


def load_conflict(conflict_id: int) -> CalendarConflict | None:
    """For mail templates."""
    return db.session.get(CalendarConflict, conflict_id)
