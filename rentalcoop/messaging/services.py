"""Booking threads: who may read and write them, sending, read state, mail, safe rendering.

A thread belongs to one booking (a request too) and has two parties: its guest and its host.
Nobody else reads it — not other hosts, not the municipality, and not the board unless a party
reported a message in it (then the board must see the conversation to decide).
"""

from __future__ import annotations

import re
from datetime import datetime, timedelta

from markupsafe import Markup, escape
from sqlalchemy import case, exists, func, select, update
from sqlalchemy.orm import joinedload

from rentalcoop import outbox
from rentalcoop.accounts.models import Role, User
from rentalcoop.bookings.models import Booking
from rentalcoop.db import utcnow
from rentalcoop.errors import DomainError
from rentalcoop.extensions import db
from rentalcoop.i18n import _l
from rentalcoop.messaging.models import Message

MAX_BODY = 4000
# At most one "new message" mail per recipient per thread in this time, so a lively chat does
# not send a mail per line.
NOTIFY_THROTTLE = timedelta(minutes=15)


class MessageError(DomainError):
    status_code = 422


def _now(at: datetime | None) -> datetime:
    return at or utcnow()


def is_party(booking: Booking, user: User | None) -> bool:
    """The guest or the host of the booking: the only people who write in its thread."""
    return user is not None and user.id in (booking.guest_id, booking.host_id)


def board_may_read(booking: Booking) -> bool:
    """The board reads a thread only once one of its parties reported a message in it."""
    from rentalcoop.moderation.models import ContentReport

    return bool(
        db.session.scalar(
            select(
                exists().where(
                    ContentReport.booking_id == booking.id,
                    ContentReport.message_id.is_not(None),
                )
            )
        )
    )


def may_read(booking: Booking, user: User | None) -> bool:
    """The two parties; the board once a message of the thread was reported."""
    if user is None or not user.is_authenticated:
        return False
    if is_party(booking, user):
        return True
    return user.has_role(Role.BOARD) and board_may_read(booking)


def thread(booking: Booking) -> list[Message]:
    """The whole conversation, oldest first: one query."""
    return list(
        db.session.scalars(
            select(Message)
            .options(joinedload(Message.sender))
            .where(Message.booking_id == booking.id)
            .order_by(Message.created_at, Message.id)
        )
    )


def send_message(
    booking: Booking, sender: User, body: str, at: datetime | None = None, *, notify: bool = True
) -> Message:
    """Add a message to the booking's thread and tell the other party (throttled; not at all
    with `notify=False`, when another mail already says it, such as a request's)."""
    now = _now(at)
    if not is_party(booking, sender):
        raise MessageError(_l("Only the guest and the host of this booking can write here."))
    body = (body or "").strip()
    if not body:
        raise MessageError(_l("Write a message first."))
    if len(body) > MAX_BODY:
        raise MessageError(_l("Please keep it under %(max)s characters.", max=MAX_BODY))
    recipient_id = booking.host_id if sender.id == booking.guest_id else booking.guest_id
    recipient = db.session.get(User, recipient_id)
    if recipient is None or recipient.deleted_at is not None:
        raise MessageError(_l("The other person has deleted their account."))
    message = Message(
        booking_id=booking.id,
        sender_id=sender.id,
        recipient_id=recipient_id,
        body=body,
        created_at=now,
    )
    db.session.add(message)
    # Replying means the other side's messages have been read.
    mark_read(booking, sender, at=now)
    db.session.flush()
    if notify and _should_notify(booking, recipient_id, now):
        message.notified_at = now
        outbox.enqueue(
            f"message:{message.id}",
            recipient.email,
            recipient.locale,
            "message_received",
            booking_id=booking.id,
            sender_name=sender.name,
        )
    return message


def _should_notify(booking: Booking, recipient_id: int, now: datetime) -> bool:
    last = db.session.scalar(
        select(func.max(Message.notified_at)).where(
            Message.booking_id == booking.id, Message.recipient_id == recipient_id
        )
    )
    return last is None or last <= now - NOTIFY_THROTTLE


def mark_read(booking: Booking, reader: User, at: datetime | None = None) -> int:
    """The reader has seen every message sent to them in this thread."""
    return db.session.execute(
        update(Message)
        .where(
            Message.booking_id == booking.id,
            Message.recipient_id == reader.id,
            Message.read_at.is_(None),
        )
        .values(read_at=_now(at))
    ).rowcount


def unread_count(user_id: int) -> int:
    """Unread messages to this person, in all their threads: one indexed count."""
    return (
        db.session.scalar(
            select(func.count())
            .select_from(Message)
            .where(
                Message.recipient_id == user_id,
                Message.read_at.is_(None),
                Message.hidden_at.is_(None),
            )
        )
        or 0
    )


def inbox(user: User) -> list[tuple[Booking, int, datetime]]:
    """The person's threads with messages: (booking, unread, last message time), newest first."""
    mine = (Message.sender_id == user.id) | (Message.recipient_id == user.id)
    to_me_unread = (
        (Message.recipient_id == user.id) & Message.read_at.is_(None) & Message.hidden_at.is_(None)
    )
    stats = (
        select(
            Message.booking_id.label("booking_id"),
            func.count(case((to_me_unread, 1))).label("unread"),
            func.max(Message.created_at).label("last"),
        )
        .where(mine)
        .group_by(Message.booking_id)
        .subquery()
    )
    rows = db.session.execute(
        select(Booking, stats.c.unread, stats.c.last)
        .join(stats, stats.c.booking_id == Booking.id)
        .options(joinedload(Booking.listing), joinedload(Booking.guest), joinedload(Booking.host))
        .where((Booking.guest_id == user.id) | (Booking.host_id == user.id))
        .order_by(stats.c.last.desc(), Booking.id.desc())
    )
    return [(booking, unread, last) for booking, unread, last in rows]


# Links: http(s) only, up to whitespace or a character that cannot be in a bare URL here.
URL_RE = re.compile(r"https?://[^\s<>\"'`]+", re.IGNORECASE)
TRAILING = ".,;:!?)]}"


def linkify(text: str) -> Markup:
    """Plain text made safe for HTML: everything escaped, then http(s) addresses made links
    that pass no ranking and no opener (rel="nofollow noopener ugc")."""
    out = []
    position = 0
    for match in URL_RE.finditer(text or ""):
        stripped = match.group(0).rstrip(TRAILING)
        if not stripped.split("://", 1)[1]:
            continue  # a bare scheme is not a link
        end = match.start() + len(stripped)
        out.append(escape(text[position : match.start()]))
        out.append(
            Markup('<a href="{0}" rel="nofollow noopener ugc" target="_blank">{0}</a>').format(
                stripped
            )
        )
        position = end
    out.append(escape((text or "")[position:]))
    return Markup("").join(out)


def erase_user(user: User) -> None:
    """Account deletion: the words the person sent go; the thread keeps that a message was there."""
    db.session.execute(update(Message).where(Message.sender_id == user.id).values(body=""))
