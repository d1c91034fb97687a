"""The booking lifecycle (DESIGN §4): hold nights, accept or decline, confirm payment, cancel,
expire and complete. Services flush; the caller commits once. Mail goes through the outbox.

Double booking is impossible because the nights a booking holds are rows of `booked_nights`
with the primary key (listing_id, night), written in the booking's own transaction. The
pre-check before them (under `BEGIN IMMEDIATE` on SQLite, `SELECT … FOR UPDATE` on the listing
row on PostgreSQL) only makes the loser's answer clean; the key is what guarantees it.

Every change of an existing booking starts with `lock_booking` (or `begin_change`, which also
tells a repeat from a conflict): the booking's row is locked in the transaction and read
afresh, so two people acting at once take turns; `_transition` refuses a booking not locked.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

from flask import current_app
from sqlalchemy import delete, func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import joinedload, selectinload

from rentalcoop import outbox
from rentalcoop.accounts.models import User
from rentalcoop.bookings.cancellation import CancelledBy, Refund, refund_for
from rentalcoop.bookings.models import (
    HOLDING_STATES,
    BookedNight,
    Booking,
    BookingEvent,
    BookingState,
)
from rentalcoop.db import begin_write, holds_lock, lock_for_change, lock_row, utcnow
from rentalcoop.errors import DomainError
from rentalcoop.extensions import db
from rentalcoop.i18n import _l
from rentalcoop.listings import availability, pricing
from rentalcoop.listings.models import Listing, ListingState

CODE_ALPHABET = "ABCDEFGHJKLMNPQRSTUVWXYZ23456789"  # no 0/O, 1/I: read aloud on the phone


class BookingError(DomainError):
    status_code = 422


class UnavailableError(BookingError):
    """The nights were taken meanwhile (by another guest, the host or another platform)."""

    status_code = 409

    def __init__(self):
        super().__init__(
            _l("Sorry, these dates are no longer available. Please choose other dates.")
        )


class IllegalTransition(BookingError):
    status_code = 409

    def __init__(self):
        super().__init__(_l("This booking can no longer be changed that way."))


# --- helpers ---------------------------------------------------------------------------------


def _now(at: datetime | None) -> datetime:
    return at or utcnow()


def listing_today(listing: Listing, at: datetime | None = None) -> date:
    """Today's date where the home is (stay rules are in the listing's time zone)."""
    return _now(at).astimezone(ZoneInfo(listing.timezone)).date()


def check_in_instant(booking: Booking) -> datetime:
    """The check-in date at the listing's check-in time, in its zone (DESIGN §6)."""
    zone = ZoneInfo(booking.timezone)
    return datetime.combine(booking.check_in, booking.check_in_time, tzinfo=zone)


def _new_code() -> str:
    return "".join(secrets.choice(CODE_ALPHABET) for _ in range(8))


def lock_booking(booking: Booking) -> Booking:
    """Hold the booking's row until the transaction ends and read its state afresh.

    Every change of a booking starts here (DESIGN §4, §15): two people acting at once (the
    guest cancelling while the board marks it paid, the host accepting while the guest
    cancels) take turns, and the second decides on what the first committed."""
    if lock_for_change(db.session, booking) is None:
        raise IllegalTransition()
    return booking


def begin_change(booking: Booking, to: BookingState) -> bool:
    """Lock the booking and decide whether it may move to `to` now: True to go ahead, False
    when it is already there (a second click, a retried signal: a no-op). Anything else
    raises IllegalTransition (409): someone else changed it first."""
    lock_booking(booking)
    if booking.state == to:
        return False
    if not booking.can_become(to):
        raise IllegalTransition()
    return True


def _transition(
    booking: Booking,
    to: BookingState,
    *,
    actor: User | None = None,
    actor_kind: str,
    note: str = "",
) -> None:
    """Move along the transition map, record the event, release nights that are let go.

    Only on a booking locked in this transaction (`lock_booking`): a transition decided on a
    state read without the lock is how two people both changed one booking."""
    if not holds_lock(db.session, booking):
        raise RuntimeError(f"{booking!r} changed without lock_booking()")
    if not booking.can_become(to):
        raise IllegalTransition()
    db.session.add(
        BookingEvent(
            booking=booking,
            from_state=booking.state,
            to_state=to,
            actor_id=actor.id if actor is not None else None,
            actor_kind=actor_kind,
            note=note,
        )
    )
    booking.state = to
    if to not in HOLDING_STATES:
        db.session.execute(delete(BookedNight).where(BookedNight.booking_id == booking.id))


def _mail(booking: Booking, event: str, recipient: User) -> None:
    """Queue `bookings/<event>` to a party of the booking, in their language."""
    if recipient.deleted_at is not None:
        return
    role = "host" if recipient.id == booking.host_id else "guest"
    outbox.enqueue(
        f"booking:{booking.id}:{event}:{role}",
        recipient.email,
        recipient.locale,
        f"booking_{event}_{role}",
        booking_id=booking.id,
    )


def _lock_listing(listing_id: int) -> Listing | None:
    """Serialise bookings of one listing: a write lock on SQLite, a row lock on PostgreSQL."""
    begin_write(db.session)
    return db.session.scalar(select(Listing).where(Listing.id == listing_id).with_for_update())


# --- guest: book -----------------------------------------------------------------------------


def request_booking(
    listing: Listing,
    guest: User,
    check_in: date,
    check_out: date,
    guests: int,
    *,
    accepted_rules: bool,
    message: str = "",
    community_project_id: int | None = None,
    at: datetime | None = None,
) -> Booking:
    """Hold the nights and price the stay; instant book waits for payment, otherwise for the
    host's answer. Raises UnavailableError (409) or BookingError (422) with the reason."""
    now = _now(at)
    listing_id, guest_id = listing.id, guest.id
    listing = _lock_listing(listing_id)
    guest = db.session.get(User, guest_id)
    if listing is None or listing.state != ListingState.PUBLISHED:
        raise BookingError(_l("This home is not taking bookings right now."))
    if listing.host_id == guest.id:
        raise BookingError(_l("You cannot book your own home."))
    if not accepted_rules:
        raise BookingError(_l("Please accept the house rules to book."))
    if community_project_id is not None:
        from rentalcoop.governance.fund import is_offered

        if not is_offered(community_project_id):  # DESIGN §12: approved projects only
            raise BookingError(_l("Choose one of the approved community projects."))
    problem = availability.stay_rule_problem(
        listing, check_in, check_out, listing_today(listing, now)
    )
    if problem is not None:
        raise BookingError(problem)
    quote = pricing.quote(listing, check_in, check_out, guests, at=now)
    if not availability.is_free(listing.id, check_in, check_out):
        raise UnavailableError()

    instant = listing.is_instant_book
    booking = new_booking(
        listing,
        guest,
        quote,
        state=BookingState.PENDING_PAYMENT if instant else BookingState.REQUESTED,
        message=message,
        community_project_id=community_project_id,
        at=now,
    )
    booking.expires_at = now + (payment_window() if instant else request_window())
    db.session.add(booking)
    db.session.flush()
    db.session.add(
        BookingEvent(
            booking=booking,
            from_state=None,
            to_state=booking.state,
            actor_id=guest.id,
            actor_kind="guest",
        )
    )
    hold_nights(booking)
    try:
        db.session.flush()
    except IntegrityError:
        # Another booking holds one of the nights: the database refused the double booking.
        db.session.rollback()
        raise UnavailableError() from None
    if message.strip():
        # The guest's words open the booking's conversation, where the host answers them
        # (the request mail already tells the host, so the thread sends no second one).
        from rentalcoop.messaging import services as messaging

        messaging.send_message(booking, guest, message, at=now, notify=False)
    if not instant:
        _mail(booking, "requested", listing.host)
    return booking


def new_booking(
    listing: Listing,
    guest: User,
    quote: pricing.Quote,
    *,
    state: BookingState,
    message: str = "",
    community_project_id: int | None = None,
    at: datetime | None = None,
) -> Booking:
    """A booking row carrying the quoted price and the listing's rules as they are now
    (DESIGN §5: computed once, stored, never changed by later decisions). Not yet added."""
    return Booking(
        code=_new_code(),
        listing_id=listing.id,
        guest_id=guest.id,
        host_id=listing.host_id,
        check_in=quote.check_in,
        check_out=quote.check_out,
        guests=quote.guests,
        state=state,
        is_instant=listing.is_instant_book,
        message=message.strip(),
        cancellation_policy=listing.cancellation_policy,
        timezone=listing.timezone,
        check_in_time=listing.check_in_time,
        house_rules_accepted=True,
        night_prices=[price for _night, price in quote.night_prices],
        nights_ore=quote.nights_ore,
        cleaning_fee_ore=quote.cleaning_fee_ore,
        accommodation_ore=quote.accommodation_ore,
        service_fee_ore=quote.service_fee_ore,
        fee_vat_ore=quote.fee_vat_ore,
        fee_net_ore=quote.fee_net_ore,
        community_ore=quote.community_ore,
        total_ore=quote.total_ore,
        host_payout_ore=quote.host_payout_ore,
        fee_bps=quote.fee_bps,
        community_bps=quote.community_bps,
        vat_bps=quote.vat_bps,
        fee_schedule_version_id=quote.fee_schedule_version_id,
        community_project_id=community_project_id,
        created_at=_now(at),
    )


def hold_nights(booking: Booking) -> None:
    """Write the booking's nights into `booked_nights` (the key refuses a taken night)."""
    db.session.add_all(
        BookedNight(listing_id=booking.listing_id, night=night, booking_id=booking.id)
        for night in pricing.stay_nights(booking.check_in, booking.check_out)
    )


def payment_window() -> timedelta:
    return timedelta(minutes=current_app.config.get("PAYMENT_HOLD_MINUTES", 30))


def request_window() -> timedelta:
    return timedelta(hours=current_app.config.get("REQUEST_ANSWER_HOURS", 24))


def accepted_payment_window() -> timedelta:
    return timedelta(hours=current_app.config.get("ACCEPTED_REQUEST_PAYMENT_HOURS", 24))


# --- host: answer a request ------------------------------------------------------------------


def accept_request(booking: Booking, host: User, at: datetime | None = None) -> None:
    """The host says yes: the guest may now pay (the nights stay held)."""
    now = _now(at)
    if not begin_change(booking, BookingState.PENDING_PAYMENT):
        return  # a second click
    _transition(booking, BookingState.PENDING_PAYMENT, actor=host, actor_kind="host")
    booking.expires_at = now + accepted_payment_window()
    _mail(booking, "accepted", booking.guest)


def decline_request(booking: Booking, host: User, reason: str = "") -> None:
    """The host says no: the nights are free again."""
    if not begin_change(booking, BookingState.DECLINED):
        return  # a second click
    _transition(booking, BookingState.DECLINED, actor=host, actor_kind="host", note=reason)
    booking.expires_at = None
    _mail(booking, "declined", booking.guest)


# --- payment ---------------------------------------------------------------------------------


def confirm_paid(
    booking: Booking,
    *,
    actor: User | None = None,
    actor_kind: str = "provider",
    at: datetime | None = None,
) -> bool:
    """The guest's payment arrived: confirm the stay, or refund everything when the nights
    cannot be given (a late payment after expiry, or a block another platform imported
    meanwhile — DESIGN §8). Returns whether the stay is confirmed. Repeats are no-ops."""
    from rentalcoop.ledger import services as ledger
    from rentalcoop.payments import services as payments

    now = _now(at)
    lock_booking(booking)
    if booking.paid_at is not None:
        return booking.is_stay
    booking.paid_at = now
    ledger.post_payment_received(booking)

    if booking.state == BookingState.PENDING_PAYMENT and _only_own_nights(booking):
        _transition(booking, BookingState.CONFIRMED, actor=actor, actor_kind=actor_kind)
        booking.expires_at = None
        payments.schedule_payout(booking)
        _mail(booking, "confirmed", booking.guest)
        _mail(booking, "confirmed", booking.host)
        return True

    # The money came but the stay cannot be given: everything goes back.
    refund = refund_for(booking, now, CancelledBy.BOARD)
    note = "payment arrived after the hold ended; refunded in full"
    if booking.state == BookingState.PENDING_PAYMENT:
        _transition(
            booking,
            BookingState.CANCELLED_BY_BOARD,
            actor=actor,
            actor_kind=actor_kind,
            note="dates taken on another platform before the payment arrived; refunded in full",
        )
        booking.cancelled_at = now
        note = ""
    _record_refund(booking, refund)
    if note:
        record_note(booking, note, actor_kind=actor_kind)
    ledger.post_refund(booking, refund)
    payments.start_refund(booking, refund, by=actor)
    _mail(booking, "refunded", booking.guest)
    return False


def _only_own_nights(booking: Booking) -> bool:
    """Re-check at payment time: the booking still holds every night, and no other source (a
    host block, a feed imported meanwhile — DESIGN §8) takes one of them."""
    own = db.session.scalar(
        select(func.count()).select_from(BookedNight).where(BookedNight.booking_id == booking.id)
    )
    if own != booking.nights:
        return False
    return not availability.taken_by_others(
        booking.listing_id, booking.check_in, booking.check_out, besides="booked"
    )


def recorded_refund(booking: Booking) -> Refund:
    """What the booking's cancellation gave back, as stored on it."""
    return Refund(
        booking.refund_nights_ore,
        booking.refund_cleaning_ore,
        booking.refund_service_fee_ore,
        booking.refund_fee_vat_ore,
        booking.refund_community_ore,
    )


def _record_refund(booking: Booking, refund: Refund) -> None:
    booking.refund_nights_ore = refund.nights_ore
    booking.refund_cleaning_ore = refund.cleaning_ore
    booking.refund_service_fee_ore = refund.service_fee_ore
    booking.refund_fee_vat_ore = refund.fee_vat_ore
    booking.refund_community_ore = refund.community_ore
    booking.refund_total_ore = refund.total_ore


# --- cancel ----------------------------------------------------------------------------------

CANCEL_STATE = {
    CancelledBy.GUEST: BookingState.CANCELLED_BY_GUEST,
    CancelledBy.HOST: BookingState.CANCELLED_BY_HOST,
    CancelledBy.BOARD: BookingState.CANCELLED_BY_BOARD,
}


def refund_preview(booking: Booking, by: CancelledBy, at: datetime | None = None) -> Refund:
    """What a cancellation now would give back (shown before the guest confirms)."""
    if booking.paid_at is None:
        return Refund(0, 0, 0, 0, 0)
    return refund_for(booking, _now(at), by)


def cancel_booking(
    booking: Booking,
    by: CancelledBy,
    actor: User | None,
    *,
    reason: str = "",
    at: datetime | None = None,
) -> Refund:
    """Cancel under the listing's policy (the guest) or with everything back (host, board)."""
    from rentalcoop.ledger import services as ledger
    from rentalcoop.payments import services as payments

    by = CancelledBy(by)
    now = _now(at)
    target = CANCEL_STATE[by]
    if by == CancelledBy.HOST and not reason.strip():
        raise BookingError(_l("Please tell the guest why you cancel."))
    if not begin_change(booking, target):
        return recorded_refund(booking)  # a second click
    if booking.state == BookingState.CONFIRMED and now >= check_out_instant(booking):
        raise IllegalTransition()
    refund = refund_preview(booking, by, now)
    _transition(booking, target, actor=actor, actor_kind=str(by), note=reason.strip())
    booking.cancelled_at = now
    booking.cancel_reason = reason.strip()
    booking.expires_at = None
    if booking.paid_at is not None:
        _record_refund(booking, refund)
        ledger.post_refund(booking, refund)
        payments.start_refund(booking, refund, by=actor)
    if by != CancelledBy.GUEST:
        _mail(booking, "cancelled", booking.guest)
    if by != CancelledBy.HOST:
        _mail(booking, "cancelled", booking.host)
    return refund


def check_out_instant(booking: Booking) -> datetime:
    zone = ZoneInfo(booking.timezone)
    return datetime.combine(booking.check_out, booking.listing.check_out_time, tzinfo=zone)


# --- jobs ------------------------------------------------------------------------------------


def _due_ids(state: BookingState, condition) -> list[int]:
    return list(
        db.session.scalars(select(Booking.id).where(Booking.state == state, condition).limit(500))
    )


def expire_due(at: datetime | None = None) -> int:
    """Unanswered requests (24 h) and unpaid holds (30 min) lapse; their nights are freed."""
    now = _now(at)
    done = 0
    for state in (BookingState.REQUESTED, BookingState.PENDING_PAYMENT):
        for booking_id in _due_ids(state, Booking.expires_at <= now):
            booking = lock_row(db.session, Booking, booking_id)
            if booking is None or booking.state != state or booking.expires_at > now:
                db.session.rollback()
                continue
            lock_booking(booking)  # held already (lock_row); recorded for _transition
            _transition(booking, BookingState.EXPIRED, actor_kind="system")
            _mail(booking, "expired", booking.guest)
            db.session.commit()
            done += 1
    return done


def expire_booking(booking: Booking, *, actor_kind: str = "provider") -> bool:
    """A payment provider reports the checkout lapsed: release the hold now (no-op if paid)."""
    lock_booking(booking)
    if booking.state != BookingState.PENDING_PAYMENT or booking.paid_at is not None:
        return False
    _transition(booking, BookingState.EXPIRED, actor_kind=actor_kind)
    _mail(booking, "expired", booking.guest)
    return True


def complete_due(at: datetime | None = None) -> int:
    """Stays whose check-out day has come are completed (reviews and payouts follow).

    Each stay is completed in its own transaction: one that fails is rolled back and logged
    with its id, and the others still complete in the same run."""
    from rentalcoop.ledger import services as ledger

    now = _now(at)
    # The latest check-out day anywhere is today in UTC+14; compare precisely per booking.
    horizon = (now + timedelta(days=1)).date()
    done = 0
    for booking_id in _due_ids(BookingState.CONFIRMED, Booking.check_out <= horizon):
        try:
            booking = lock_row(db.session, Booking, booking_id)
            if booking is None or booking.state != BookingState.CONFIRMED:
                db.session.rollback()
                continue
            lock_booking(booking)  # held already (lock_row); recorded for _transition
            if now < check_out_instant(booking):
                db.session.rollback()
                continue
            _transition(booking, BookingState.COMPLETED, actor_kind="system")
            booking.completed_at = now
            ledger.post_stay_completed(booking)
            db.session.commit()
        except Exception:
            db.session.rollback()
            current_app.logger.exception("complete-stays: booking %s failed", booking_id)
            continue
        done += 1
    return done


def remind_upcoming(at: datetime | None = None) -> int:
    """Mail guests two days before check-in, once (the outbox key makes reruns no-ops)."""
    now = _now(at)
    soon = (now + timedelta(days=2)).date()
    count = 0
    for booking in db.session.scalars(
        select(Booking)
        .options(joinedload(Booking.guest))
        .where(
            Booking.state == BookingState.CONFIRMED,
            Booking.check_in <= soon,
            Booking.check_in >= now.date(),
        )
    ):
        _mail(booking, "reminder", booking.guest)
        count += 1
    db.session.commit()
    return count


def record_note(booking: Booking, note: str, *, actor_kind: str = "provider") -> None:
    """Something happened to a booking that is not a transition (e.g. a payment dispute)."""
    db.session.add(
        BookingEvent(
            booking=booking,
            from_state=booking.state,
            to_state=booking.state,
            actor_kind=actor_kind,
            note=note,
        )
    )


# --- queries ---------------------------------------------------------------------------------


def get_booking(booking_id: int) -> Booking | None:
    """A booking with its listing and both parties, as its pages show it (one query)."""
    return db.session.get(
        Booking,
        booking_id,
        options=[joinedload(Booking.listing), joinedload(Booking.guest), joinedload(Booking.host)],
    )


@dataclass
class Trips:
    """A guest's bookings as "My trips" groups them."""

    current: list[Booking]  # under way: checked in, not yet checked out
    upcoming: list[Booking]  # soonest first
    past: list[Booking]  # latest first
    ended: list[Booking]  # cancelled, declined or expired


def trips_of(guest: User, at: datetime | None = None) -> Trips:
    """A guest's bookings with each home and its photos (three queries), grouped. The stays
    still waiting for the guest's review come from `reviews.services.waiting_for_review`."""
    now = at or utcnow()
    bookings = db.session.scalars(
        select(Booking)
        .options(selectinload(Booking.listing).selectinload(Listing.photos))
        .where(Booking.guest_id == guest.id)
        .order_by(Booking.check_in.desc(), Booking.id.desc())
    ).all()
    today = pricing.coop_date(now)
    trips = Trips([], [], [], [])
    for booking in bookings:
        if booking.is_holding and booking.check_in <= today < booking.check_out:
            trips.current.append(booking)
        elif booking.is_holding and booking.check_out > today:
            trips.upcoming.append(booking)
        elif booking.state == BookingState.COMPLETED or booking.is_holding:
            trips.past.append(booking)
        else:
            trips.ended.append(booking)
    trips.upcoming.reverse()
    return trips


def reservations_of(
    host: User,
) -> tuple[list[Booking], list[Booking], list[Booking], list[Booking]]:
    """A host's bookings as "Reservations" groups them: requests to answer, upcoming stays,
    past stays (latest first), and cancelled, declined or expired — in one query."""
    bookings = db.session.scalars(
        select(Booking)
        .options(joinedload(Booking.listing), joinedload(Booking.guest))
        .where(Booking.host_id == host.id)
        .order_by(Booking.check_in)
    ).all()
    today = pricing.coop_date()
    requests = [b for b in bookings if b.state == BookingState.REQUESTED]
    upcoming = [
        b
        for b in bookings
        if b.state in (BookingState.PENDING_PAYMENT, BookingState.CONFIRMED) and b.check_out > today
    ]
    past = [b for b in bookings if b.state == BookingState.COMPLETED][::-1]
    ended = [
        b
        for b in bookings
        if b.is_cancelled or b.state in (BookingState.DECLINED, BookingState.EXPIRED)
    ]
    return requests, upcoming, past, ended


# How far ahead the host's "Today" page looks for arrivals and departures.
TODAY_DAYS_AHEAD = 7


@dataclass
class HostDay:
    """What a host has to do or know about today (the host's "Today" page)."""

    today: date
    requests: list[Booking]  # waiting for the host's answer, the one lapsing first first
    arrivals: list[Booking]  # stays starting today or in the next days
    departures: list[Booking]  # stays ending today or in the next days
    awaiting_payment: list[Booking]  # accepted or instant holds the guest has not paid yet
    current: list[Booking]  # guests staying now


def host_day(host: User, at: datetime | None = None) -> HostDay:
    """The host's requests, holds waiting for payment, and the stays that start, end or are
    under way from today to `TODAY_DAYS_AHEAD` days on — one query."""
    today = pricing.coop_date(at or utcnow())
    horizon = today + timedelta(days=TODAY_DAYS_AHEAD)
    waiting = (BookingState.REQUESTED, BookingState.PENDING_PAYMENT)
    stays = (BookingState.CONFIRMED, BookingState.COMPLETED)
    bookings = db.session.scalars(
        select(Booking)
        .options(joinedload(Booking.listing), joinedload(Booking.guest))
        .where(
            Booking.host_id == host.id,
            Booking.state.in_(waiting)
            | (
                Booking.state.in_(stays)
                & (Booking.check_out >= today)
                & (Booking.check_in <= horizon)
            ),
        )
        .order_by(Booking.check_in, Booking.id)
    ).all()
    day = HostDay(today, [], [], [], [], [])
    for b in bookings:
        if b.state == BookingState.REQUESTED:
            day.requests.append(b)
        elif b.state == BookingState.PENDING_PAYMENT:
            day.awaiting_payment.append(b)
        else:
            if today <= b.check_in <= horizon:
                day.arrivals.append(b)
            if today <= b.check_out <= horizon:
                day.departures.append(b)
            if b.check_in < today < b.check_out:
                day.current.append(b)
    far = datetime.max.replace(tzinfo=UTC)
    day.requests.sort(key=lambda b: (b.expires_at or far, b.id))
    day.departures.sort(key=lambda b: (b.check_out, b.id))
    return day


def open_request_count(host_id: int) -> int:
    """How many requests to book wait for the host's answer (the header's badge)."""
    return db.session.scalar(
        select(func.count())
        .select_from(Booking)
        .where(Booking.host_id == host_id, Booking.state == BookingState.REQUESTED)
    )
