"""Calendar feeds: our export link per listing, the feeds a host imports, the nights they block
and the conflicts between those nights and bookings made here (DESIGN §3, §8)."""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import JSON, Date, ForeignKey, Index, String, Text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from rentalcoop.db import UTCDateTime, utcnow
from rentalcoop.extensions import db
from rentalcoop.listings.models import Listing


class CalendarExport(db.Model):
    """The secret of a listing's export link `/ical/<token>.ics`. Regenerating replaces the
    token, so the old link answers 404 (DESIGN §8: long, random, revocable)."""

    __tablename__ = "calendar_exports"

    listing_id: Mapped[int] = mapped_column(
        ForeignKey("listings.id", ondelete="CASCADE"), primary_key=True
    )
    token: Mapped[str] = mapped_column(String(64), unique=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class CalendarFeed(db.Model):
    """Another platform's export of the same home, fetched on a schedule."""

    __tablename__ = "calendar_feeds"
    __table_args__ = (Index("ix_calendar_feeds_next_run_at", "next_run_at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    listing_id: Mapped[int] = mapped_column(
        ForeignKey("listings.id", ondelete="CASCADE"), index=True
    )
    name: Mapped[str] = mapped_column(String(80))
    # May carry the other platform's secret token: shown to the host only, never logged.
    url: Mapped[str] = mapped_column(String(2000))
    platform: Mapped[str] = mapped_column(String(20), default="other")
    etag: Mapped[str | None] = mapped_column(String(200))
    last_success_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # The last failure in plain words: a message id (English source text) and its parameters,
    # translated when shown, so each host reads it in their own language.
    last_error: Mapped[str] = mapped_column(Text, default="")
    last_error_params: Mapped[dict] = mapped_column(JSON, default=dict)
    last_error_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # Warnings of the last successful run, [{"msgid": …, "params": {…}}, …].
    warnings: Mapped[list] = mapped_column(JSON, default=list)
    consecutive_failures: Mapped[int] = mapped_column(default=0)
    next_run_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    # A runner that claimed the feed owns it until then (two runners never sync it at once).
    lease_until: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # The feed came back empty once and its blocks were kept for one run (DESIGN §8).
    empty_held: Mapped[bool] = mapped_column(default=False)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    listing: Mapped[Listing] = relationship()


class ImportedBlock(db.Model):
    """One night one event (UID) of a feed blocks. `listing_id` is copied from the feed so that
    availability's `NOT EXISTS` is one index probe on (listing_id, night)."""

    __tablename__ = "imported_blocks"
    __table_args__ = (Index("ix_imported_blocks_listing_night", "listing_id", "night"),)

    feed_id: Mapped[int] = mapped_column(
        ForeignKey("calendar_feeds.id", ondelete="CASCADE"), primary_key=True
    )
    # The event's UID (hashed when longer than the column).
    uid: Mapped[str] = mapped_column(String(255), primary_key=True)
    night: Mapped[date] = mapped_column(Date, primary_key=True)
    listing_id: Mapped[int] = mapped_column(ForeignKey("listings.id", ondelete="CASCADE"))


class CalendarConflict(db.Model):
    """Imported nights over a booking made here. Nothing is cancelled automatically; the host
    is told once and decides (DESIGN §8)."""

    __tablename__ = "calendar_conflicts"
    __table_args__ = (Index("ix_calendar_conflicts_feed_booking", "feed_id", "booking_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    feed_id: Mapped[int] = mapped_column(ForeignKey("calendar_feeds.id", ondelete="CASCADE"))
    booking_id: Mapped[int] = mapped_column(
        ForeignKey("bookings.id", ondelete="CASCADE"), index=True
    )
    nights: Mapped[list[str]] = mapped_column(JSON)  # ISO dates, sorted
    detected_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    resolved_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    feed: Mapped[CalendarFeed] = relationship()

    @property
    def night_dates(self) -> list[date]:
        return [date.fromisoformat(n) for n in self.nights]


class ExportBlock(db.Model):
    """A range of the host's own blocked nights as our export last showed it. Its id names the
    exported event (`block-<id>@<host>`) for as long as the range stands, however its nights
    grow, shrink or move, so other calendars update the event they imported instead of adding
    a new one; `sequence` counts its revisions (RFC 5545 §3.8.7.4)."""

    __tablename__ = "calendar_export_blocks"

    id: Mapped[int] = mapped_column(primary_key=True)
    listing_id: Mapped[int] = mapped_column(
        ForeignKey("listings.id", ondelete="CASCADE"), index=True
    )
    first_night: Mapped[date] = mapped_column(Date)
    end_night: Mapped[date] = mapped_column(Date)  # exclusive: the day after the last night
    sequence: Mapped[int] = mapped_column(default=0)
    changed_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


def _register_imported_nights() -> None:
    # Imported nights make a listing unavailable in search, calendars and booking checks.
    from rentalcoop.listings import availability

    availability.register_night_source("imported", ImportedBlock.listing_id, ImportedBlock.night)


_register_imported_nights()
